package ops_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

// readmeExample returns the TOML block of README.md marked
// <!-- example: run-by NAME -->.
func readmeExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- example: run-by " + name + " -->\\s*```toml\n(.*?)```")
	m := re.FindSubmatch(b)
	if m == nil {
		t.Fatalf("README.md has no toml block marked run-by %s", name)
	}
	return string(m[1])
}

// startConfig parses a configuration, starts its jobs in a Local with a
// temporary data dir and closes it at the end of the test.
func startConfig(t *testing.T, name, text string) *ops.Local {
	t.Helper()
	cfg, err := config.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Ops.DataDir = t.TempDir()
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.StartJobs(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestPostgresSeedChannel runs the README's channel end to end on a real
// PostgreSQL: customers → postgres-cdc → a stream job joining orders with
// the customers table → postgres-sink into orders_enriched. A customer
// changed mid-stream shows in every order after the first that carries the
// change, and never the old value again.
func TestPostgresSeedChannel(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	t.Setenv("SHOP_DSN", dsn)
	pg.Exec(t, dsn, "CREATE TABLE customers (id text PRIMARY KEY, name text, tier text); INSERT INTO customers VALUES ('c1', 'Ada', 'gold'), ('c2', 'Bob', 'silver')")
	c := kafkatest.New(t)
	for _, tp := range []string{"orders", "orders.enriched", "shop.public.customers"} {
		c.CreateTopic(t, tp, 1)
	}
	text := readmeExample(t, "TestPostgresSeedChannel")
	text = c.TOML() + text // the block's jobs use cluster "local"
	l := startConfig(t, "README.md", text)
	next := 0
	order := func(customer string) {
		next++
		b, _ := json.Marshal(map[string]any{"order_id": next, "customer": customer, "amount": next * 10})
		c.Produce(t, &kgo.Record{Topic: "orders", Key: []byte(fmt.Sprint(next)), Value: b})
	}
	tierOf := func(id int) string {
		rows := pg.Query(t, dsn, "SELECT coalesce(tier, '<none>') FROM orders_enriched WHERE order_id = $1", id)
		if len(rows) == 0 {
			return ""
		}
		return rows[0][0]
	}
	tableExists := func() bool {
		return len(pg.Query(t, dsn, "SELECT 1 FROM pg_tables WHERE tablename = 'orders_enriched'")) == 1
	}
	failed := func() {
		for _, name := range []string{"customers-cdc", "orders-enriched", "enriched-sink"} {
			if js, err := l.Job(ctx(t), name); err == nil && js.State == ops.StateFailed {
				t.Fatalf("job %s failed: %+v", name, js)
			}
		}
	}
	// Orders until one is enriched with c1's tier: the table has caught up.
	kafkatest.WaitFor(t, 60*time.Second, "an order enriched with gold", func() bool {
		failed()
		order("c1")
		time.Sleep(100 * time.Millisecond)
		return tableExists() && tierOf(next-1) == "gold"
	})
	pg.Exec(t, dsn, "UPDATE customers SET tier = 'platinum' WHERE id = 'c1'")
	firstNew := 0
	kafkatest.WaitFor(t, 60*time.Second, "an order enriched with platinum", func() bool {
		failed()
		order("c1")
		time.Sleep(100 * time.Millisecond)
		for id := 1; id < next; id++ {
			if tierOf(id) == "platinum" {
				firstNew = id
				return true
			}
		}
		return false
	})
	for range 5 {
		order("c1")
	}
	order("c2")
	last := next
	kafkatest.WaitFor(t, 30*time.Second, "every order in orders_enriched", func() bool {
		return pg.Query(t, dsn, "SELECT count(*)::text FROM orders_enriched")[0][0] == fmt.Sprint(last)
	})
	var tiers []string
	for id := 1; id <= last; id++ {
		tiers = append(tiers, tierOf(id))
	}
	t.Logf("tiers by order: %s (first platinum: order %d)", strings.Join(tiers, ","), firstNew)
	for id := firstNew; id < last; id++ {
		if tiers[id-1] != "platinum" {
			t.Errorf("order %d after the change carries %q, want platinum (tiers by order: %s)", id, tiers[id-1], strings.Join(tiers, ","))
		}
	}
	if tiers[last-1] != "silver" {
		t.Errorf("c2's order carries %q, want silver", tiers[last-1])
	}
	js, err := l.Job(ctx(t), "customers-cdc")
	if err != nil || len(js.Tasks) != 1 || js.Tasks[0].Detail["slot"] != "kdeck_customers" || js.Tasks[0].Detail["wal_retained_bytes"] == "" {
		t.Errorf("customers-cdc status shows no slot: %+v, %v", js, err)
	}
	if got := pg.Query(t, dsn, "SELECT amount::text FROM orders_enriched WHERE order_id = $1", last)[0][0]; got != fmt.Sprint(last*10) {
		t.Errorf("amount %s", got)
	}
}

// TestPostgresSlotDropPreviewedAndAudited: the slot of a postgres-cdc
// connector is shown (confirmed LSN, WAL retained), dropping it is refused
// while the connector runs, and once it is stopped the drop happens with an
// audit entry; the plan then says there is nothing to drop.
func TestPostgresSlotDropPreviewedAndAudited(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE customers (id int PRIMARY KEY)")
	c := kafkatest.New(t)
	l := startConfig(t, "kdeck.toml", c.TOML()+fmt.Sprintf(`
[[connectors]]
name = "cdc"
class = "postgres-cdc"
cluster = %q
dsn = %q
tables = ["public.customers"]
topic_prefix = "shop"
slot = "kdeck_cdc"
`, c.Name(), dsn))
	var plan ops.SlotDropPlan
	var err error
	kafkatest.WaitFor(t, 30*time.Second, "the slot streaming", func() bool {
		plan, err = l.PlanDropSlot(ctx(t), "cdc")
		return err == nil && plan.Exists && plan.Active
	})
	if plan.Slot != "kdeck_cdc" || plan.Database != "shop" || plan.ConfirmedLSN == "" || !strings.Contains(plan.Consequence, "Not undoable") {
		t.Fatalf("plan %+v", plan)
	}
	if _, err := l.DropSlot(ctx(t), plan, "test"); !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("drop while running: %v, want ErrRefused", err)
	}
	if _, err := l.JobAction(ctx(t), "cdc", ops.ActionStop, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 20*time.Second, "the slot released", func() bool {
		plan, err = l.PlanDropSlot(ctx(t), "cdc")
		return err == nil && plan.Exists && !plan.Active
	})
	e, err := l.DropSlot(ctx(t), plan, "kdeck connect drop-slot cdc --execute")
	if err != nil || e.Action != "connect.slot.drop" || e.Outcome != "ok" || e.Details["slot"] != "kdeck_cdc" {
		t.Fatalf("drop: %+v, %v", e, err)
	}
	if rows := pg.Query(t, dsn, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'kdeck_cdc'"); len(rows) != 0 {
		t.Fatal("the slot still exists")
	}
	if plan, err = l.PlanDropSlot(ctx(t), "cdc"); err != nil || plan.Exists || !strings.Contains(plan.Consequence, "nothing to drop") {
		t.Fatalf("plan after the drop: %+v, %v", plan, err)
	}
	if _, err := l.PlanDropSlot(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}
