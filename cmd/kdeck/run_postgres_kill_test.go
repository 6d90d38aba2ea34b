package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/pgtest"
)

// startWorker starts 'kdeck run' on a config file.
func startWorker(t *testing.T, bin, cfgPath string) *exec.Cmd {
	t.Helper()
	return startRun(t, bin, cfgPath, "--log-format", "json").cmd
}

func sigkill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func sigterm(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, cmd.Stderr)
	}
}

// TestRunPostgresCDCSurvivesSIGKILL kills 'kdeck run' hosting postgres-cdc
// with SIGKILL at random points, during the snapshot of 50000 rows and
// while a writer commits inserts, restarts it each time, and checks that
// every committed row arrived (0 lost); duplicates (changes re-sent from the
// last saved LSN, rows both snapshotted and streamed after a snapshot was
// cut short) are counted.
func TestRunPostgresCDCSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	const snapRows = 50000
	pg.Exec(t, dsn, fmt.Sprintf("CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT i, md5(i::text) FROM generate_series(1, %d) i", snapRows))
	c := kafkatest.New(t)
	c.CreateTopic(t, "shop.public.items", 3)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kdeck.toml")
	cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "items-cdc"
class = "postgres-cdc"
dsn = %q
tables = ["public.items"]
topic_prefix = "shop"
slot = "items"
offset_flush_interval = "100ms"
heartbeat_interval = "200ms"
max_batch = 500
`, filepath.Join(dir, "data"), dsn)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The writer commits batches of 20 inserts until stopped.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	committed := snapRows
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		for ctx.Err() == nil {
			mu.Lock()
			next := committed
			mu.Unlock()
			_, err := conn.Exec(ctx, "INSERT INTO items SELECT i, 'w' FROM generate_series($1::int, $2::int) i", next+1, next+20)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("writer: %v", err)
				}
				return
			}
			mu.Lock()
			committed = next + 20
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	store := connect.NewKafkaOffsetStore("", kgo.SeedBrokers(c.Addrs()...))
	defer store.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const kills = 5
	phases := make([]string, 0, kills)
	for i := range kills {
		cmd := startWorker(t, bin, cfgPath)
		d := time.Duration(300+rng.IntN(1200)) * time.Millisecond
		switch {
		case i == 0:
			d = time.Duration(200+rng.IntN(300)) * time.Millisecond // within the snapshot
		case i >= 2:
			d = time.Duration(3000+rng.IntN(2000)) * time.Millisecond // streaming
		}
		time.Sleep(d)
		sigkill(t, cmd)
		phase := "before any saved offset"
		if offs, err := store.Load(context.Background(), "items-cdc"); err == nil && len(offs) > 0 {
			phase = fmt.Sprintf("snapshot=%v lsn=%v", offs[0].Offset["snapshot"], offs[0].Offset["lsn"])
		}
		phases = append(phases, phase)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	total := committed
	mu.Unlock()
	cmd := startWorker(t, bin, cfgPath)
	seen := map[string]int{}
	events := 0
	cl := c.Client(t, kgo.ConsumeTopics("shop.public.items"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	rctx, rcancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer rcancel()
	for len(seen) < total {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			missing := 0
			for id := 1; id <= total; id++ {
				if seen[fmt.Sprint(id)] == 0 {
					missing++
				}
			}
			t.Fatalf("%d of %d committed rows never arrived (kills at: %v)", missing, total, phases)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				return
			}
			var k struct{ ID json.Number }
			if err := json.Unmarshal(r.Key, &k); err != nil {
				t.Fatalf("key %q: %v", r.Key, err)
			}
			seen[k.ID.String()]++
			events++
		})
	}
	sigterm(t, cmd)
	t.Logf("%d kills (%s); %d rows committed (%d snapshotted, %d inserted while killing), %d events: %d duplicates, 0 lost",
		kills, strings.Join(phases, "; "), total, snapRows, total-snapRows, events, events-total)
}

// TestRunPostgresSinkSurvivesSIGKILL kills 'kdeck run' hosting two
// postgres-sinks (upsert, and insert with exactly_once) mid-batch several
// times; after a last run the tables hold exactly the expected rows.
func TestRunPostgresSinkSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shop")
	c := kafkatest.New(t)
	c.CreateTopic(t, "events", 3)
	const n = 150000
	var recs []*kgo.Record
	for i := range n {
		// Keys 0..n/2-1 are written twice; the second value wins. Every
		// tenth key of the first half is deleted at the end.
		id := i % (n / 2)
		recs = append(recs, &kgo.Record{Topic: "events", Key: fmt.Appendf(nil, `{"id":%d}`, id), Value: fmt.Appendf(nil, `{"id":%d,"v":%d}`, id, i)})
	}
	for id := 0; id < n/2; id += 10 {
		recs = append(recs, &kgo.Record{Topic: "events", Key: fmt.Appendf(nil, `{"id":%d}`, id)})
	}
	c.Produce(t, recs...)
	pg.Exec(t, dsn, "CREATE TABLE log (id bigint, v bigint, PRIMARY KEY (id, v))")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kdeck.toml")
	cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "upsert-sink"
class = "postgres-sink"
dsn = %q
topics = ["events"]
table = "latest"
auto_create = true
batch_size = 2000

[[connectors]]
name = "log-sink"
class = "postgres-sink"
dsn = %q
topics = ["events"]
table = "log"
insert_mode = "insert"
pk_mode = "record_value"
pk_fields = ["id", "v"]
exactly_once = true
delete_enabled = false
batch_size = 1500
`, filepath.Join(dir, "data"), dsn, dsn)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	const kills = 5
	var progress []string
	for range kills {
		cmd := startWorker(t, bin, cfgPath)
		time.Sleep(time.Duration(1000+rng.IntN(2000)) * time.Millisecond)
		sigkill(t, cmd)
		// The broker would expire the dead worker's members after the
		// session timeout (45s); remove them now, so the next run gets
		// the partitions at once.
		evictMembers(t, c, "connect-upsert-sink", "connect-log-sink")
		rows := pg.Query(t, dsn, "SELECT (SELECT count(*) FROM log)::text")
		progress = append(progress, rows[0][0])
	}
	cmd := startWorker(t, bin, cfgPath)
	wantLatest := fmt.Sprint(n/2 - n/20)
	var latest, logged string
	deadline := time.Now().Add(90 * time.Second)
	for {
		latest, logged = "", pg.Query(t, dsn, "SELECT count(*)::text FROM log")[0][0]
		if len(pg.Query(t, dsn, "SELECT 1 FROM pg_tables WHERE tablename = 'latest'")) == 1 {
			latest = pg.Query(t, dsn, "SELECT count(*)::text FROM latest")[0][0]
		}
		if latest == wantLatest && logged == fmt.Sprint(n) {
			break
		}
		if time.Now().After(deadline) {
			sigkill(t, cmd)
			t.Fatalf("after 90s latest has %s rows (want %s), log %s (want %d); worker log:\n%s", latest, wantLatest, logged, n, tailString(cmd.Stderr.(*strings.Builder).String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	sigterm(t, cmd)
	// latest: the second value of each surviving key; log: every record once.
	if got := pg.Query(t, dsn, fmt.Sprintf("SELECT count(*)::text FROM latest WHERE v <> id + %d OR id %% 10 = 0", n/2))[0][0]; got != "0" {
		t.Errorf("%s rows of latest hold a stale value or a deleted key", got)
	}
	if got := pg.Query(t, dsn, "SELECT count(DISTINCT v)::text FROM log")[0][0]; got != fmt.Sprint(n) {
		t.Errorf("log holds %s distinct records, want %d", got, n)
	}
	t.Logf("%d kills; log rows after each kill: %s; final: latest %s rows, log %d rows (insert mode, exactly_once: nothing applied twice)", kills, strings.Join(progress, ", "), wantLatest, n)
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// evictMembers removes every member of the groups (their process is dead),
// as the coordinator does when their session times out.
func evictMembers(t *testing.T, c *kafkatest.Cluster, groups ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := c.Admin(t)
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Client(t)
	for _, g := range described {
		if len(g.Members) == 0 {
			continue
		}
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group = g.Group
		for _, m := range g.Members {
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = m.MemberID
			req.Members = append(req.Members, lm)
		}
		if _, err := req.RequestWith(ctx, cl); err != nil {
			t.Fatalf("evicting the members of %s: %v", g.Group, err)
		}
	}
}
