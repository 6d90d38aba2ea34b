package remote_test

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/ops/remote"
	"github.com/kdeck/kdeck/spec"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// serve serves l on a Unix socket in a temp dir and returns a client of it.
func serve(t *testing.T, l ops.Service, opts ...remote.Opt) *remote.Client {
	t.Helper()
	srv, err := api.New(l, api.WithWorkerID("w1"))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), api.SocketName)
	ln, _, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := remote.New("unix://"+sock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func seed(t *testing.T) (*kafkatest.Cluster, *ops.Local) {
	t.Helper()
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 300)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10, 1: 50, 2: 90}})
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return c, l
}

// TestRemoteMatchesLocal: the client answers as the Local it serves, and
// errors cross the wire with their kind (the sentinels the CLI maps to exit
// codes).
func TestRemoteMatchesLocal(t *testing.T) {
	c, l := seed(t)
	r := serve(t, l)
	if r.Worker().WorkerID != "w1" || r.Info().DefaultCluster != l.Info().DefaultCluster || r.Info().DataDir != l.Info().DataDir {
		t.Fatalf("info: %+v worker %+v", r.Info(), r.Worker())
	}
	topics, err := r.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
	if err != nil || len(topics) != 1 || topics[0].Name != "orders" || topics[0].Records != 300 {
		t.Fatalf("topics: %v %+v", err, topics)
	}
	g, err := r.DescribeGroup(ctx(t), "", "billing")
	if err != nil || g.Lag != 300-10-50-90 {
		t.Fatalf("group: %v %+v", err, g)
	}
	// Errors keep their kind.
	if _, err := r.DescribeGroup(ctx(t), "", "nope"); !errors.Is(err, ops.ErrGroupNotFound) || !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := r.DescribeTopic(ctx(t), "", "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("unknown topic: %v", err)
	}
	if _, err := r.Job(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
	if _, err := r.ListTopics(ctx(t), "nope", ops.ListTopicsOptions{}); !errors.Is(err, ops.ErrInvalid) {
		t.Fatalf("unknown cluster: %v", err)
	}
	// Plan, moved group, execute, undo: through the wire.
	p, err := r.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true, Command: "test"})
	if err != nil || p.Totals.Changed != 3 {
		t.Fatalf("plan: %v %+v", err, p)
	}
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {1: 51}})
	if _, err := r.ExecutePlan(ctx(t), p); !errors.Is(err, ops.ErrGroupMoved) || !strings.Contains(err.Error(), "orders/1 was 50, is now 51") {
		t.Fatalf("moved group: %v", err)
	}
	p, _ = r.PlanReset(ctx(t), ops.ResetRequest{Group: "billing", Mode: ops.ResetToEarliest, AllTopics: true})
	stop := c.ActiveMember(t, "billing", false, "orders")
	if _, err := r.ExecutePlan(ctx(t), p); !errors.Is(err, ops.ErrGroupActive) || !errors.Is(err, ops.ErrRefused) {
		t.Fatalf("active group: %v", err)
	}
	stop()
	var e ops.AuditEntry
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, err = r.ExecutePlan(ctx(t), p)
		if !errors.Is(err, ops.ErrGroupActive) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || e.ID == "" {
		t.Fatalf("execute: %v", err)
	}
	if got := c.Committed(t, "billing")["orders"]; got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("offsets after a remote execute: %v", got)
	}
	got, err := r.AuditEntry(ctx(t), e.ID)
	if err != nil || got.User != "uid:"+itoa(uidOf()) || got.Host != "unix" {
		t.Fatalf("audit entry of a remote execute: %v %+v", err, got)
	}
	u, err := r.PlanUndo(ctx(t), e.ID)
	if err != nil || u.UndoOf != e.ID {
		t.Fatalf("undo plan: %v %+v", err, u)
	}
	if _, err := r.AuditEntry(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("unknown audit entry: %v", err)
	}
	// Records both ways.
	var recs iter.Seq2[ops.ProduceRecord, error] = func(yield func(ops.ProduceRecord, error) bool) {
		for _, v := range []string{"a", "b", "c"} {
			if !yield(ops.ProduceRecord{Value: []byte(v), Partition: 0}, nil) {
				return
			}
		}
	}
	res, err := r.Produce(ctx(t), "", "orders", recs)
	if err != nil || res.Records != 3 {
		t.Fatalf("produce: %v %+v", err, res)
	}
	var read []string
	err = r.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "orders", Partitions: []int32{0}, From: ops.FromTail, Offset: 3}, func(rec ops.Record) error {
		read = append(read, string(rec.Value))
		return nil
	})
	if err != nil || strings.Join(read, ",") != "a,b,c" {
		t.Fatalf("read: %v %v", err, read)
	}
	if err := r.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "nope"}, func(ops.Record) error { return nil }); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("read of an unknown topic: %v", err)
	}
	// A store query of an unknown stream job is ErrNotFound.
	if _, err := r.QueryStream(ctx(t), ops.StreamQuery{Job: "nope", Op: "get"}); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("query of an unknown stream job: %v", err)
	}
}

// TestRemoteReadOnly: a read-only worker refuses through the wire with
// ErrReadOnly, and a read-only client refuses before sending anything.
func TestRemoteReadOnly(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir(), ReadOnly: true}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := serve(t, l)
	if err := r.DeleteTopic(ctx(t), "", "orders"); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("delete on a read-only worker: %v", err)
	}
	_, l2 := seed(t)
	r2 := serve(t, l2, remote.WithReadOnly(true))
	if !r2.Info().ReadOnly {
		t.Fatal("a read-only client reports a writable service")
	}
	if err := r2.DeleteTopic(ctx(t), "", "orders"); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("delete through a read-only client: %v", err)
	}
	if _, err := l2.DescribeTopic(ctx(t), "", "orders"); err != nil {
		t.Fatalf("the topic went away: %v", err)
	}
}

// TestRemoteBadTargets: bad URLs are usage errors; nothing listening is a
// WorkerError, quickly.
func TestRemoteBadTargets(t *testing.T) {
	for _, u := range []string{"ftp://x", "unix://", "http://", "::"} {
		if _, err := remote.New(u); !errors.Is(err, ops.ErrInvalid) {
			t.Errorf("New(%q): %v, want ErrInvalid", u, err)
		}
	}
	var we *remote.WorkerError
	if _, err := remote.New("unix://" + filepath.Join(t.TempDir(), "none.sock")); !errors.As(err, &we) {
		t.Fatalf("nothing listening: %v", err)
	}
}

// TestRemoteEveryMethod calls the methods TestRemoteMatchesLocal does not,
// against the Local it serves, comparing answers or error kinds.
func TestRemoteEveryMethod(t *testing.T) {
	c, l := seed(t)
	r := serve(t, l)
	cls, err := r.Clusters(ctx(t))
	if err != nil || len(cls) != 1 || !cls[0].Reachable {
		t.Fatalf("clusters: %v %+v", err, cls)
	}
	if cl, err := r.Cluster(ctx(t), c.Name()); err != nil || cl.Name != c.Name() || len(cl.Brokers) == 0 {
		t.Fatalf("cluster: %v %+v", err, cl)
	}
	if err := r.CreateTopic(ctx(t), "", ops.CreateTopicRequest{Name: "made-remotely", Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	if d, err := l.DescribeTopic(ctx(t), "", "made-remotely"); err != nil || len(d.Partitions) != 2 {
		t.Fatalf("the topic made through the client: %v %+v", err, d)
	}
	if err := r.DeleteTopic(ctx(t), "", "made-remotely"); err != nil {
		t.Fatal(err)
	}
	gs, err := r.ListGroups(ctx(t), "")
	if err != nil || len(gs) != 1 || gs[0].Group != "billing" {
		t.Fatalf("groups: %v %+v", err, gs)
	}
	p, err := r.PlanDeleteOffsets(ctx(t), "", "billing", []ops.TopicScope{{Topic: "orders", Partitions: []int32{1}}})
	if err != nil || p.Kind != ops.PlanDeleteOffsets || len(p.Rows) != 1 || p.Rows[0].New != -1 {
		t.Fatalf("delete-offsets plan: %v %+v", err, p)
	}
	if entries, err := r.Audit(ctx(t), ops.AuditFilter{Group: "billing"}); err != nil || len(entries) != 0 {
		t.Fatalf("audit before any change: %v %+v", err, entries)
	}
	want, _ := l.Health(ctx(t))
	if h, err := r.Health(ctx(t)); err != nil || h.OK != want.OK || strings.Join(h.Problems, ";") != strings.Join(want.Problems, ";") {
		t.Fatalf("health: %v %+v, want %+v", err, h, want)
	}
	ps, err := r.ConnectorPlugins(ctx(t))
	if err != nil || len(ps) == 0 {
		t.Fatalf("plugins: %v", err)
	}
	probs, err := r.ValidateConnector(ctx(t), map[string]any{"name": "x", "class": "file-source"})
	if err != nil || len(probs) == 0 {
		t.Fatalf("validate a file-source without path: %v %+v", err, probs)
	}
	if _, err := r.JobConfig(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("config of an unknown job: %v", err)
	}
	if _, err := r.JobOffsets(ctx(t), "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("offsets of an unknown job: %v", err)
	}
	if _, err := r.JobAction(ctx(t), "nope", ops.ActionPause, ops.JobActionOptions{}); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("pause of an unknown job: %v", err)
	}
	if _, err := r.PlanStreamReset(ctx(t), ops.StreamResetRequest{Job: "nope"}); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("stream reset of an unknown job: %v", err)
	}
	if _, err := r.PlanMirrorFailover(ctx(t), "nope", "billing"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("failover of an unknown flow: %v", err)
	}
	// A job created through the client is validated, listed and deleted.
	if _, _, err := r.PutJob(ctx(t), ops.PutJobRequest{Table: map[string]any{"name": "g", "class": "datagen"}}); !errors.Is(err, ops.ErrInvalid) {
		t.Fatalf("an invalid job: %v", err)
	}
	// A bad field reaches the client by path, as on the worker.
	_, _, err = r.PutJob(ctx(t), ops.PutJobRequest{Kind: ops.KindStream, Table: map[string]any{"name": "s", "inputs": []any{"a"}, "output": "b", "window": map[string]any{"type": "tumbling", "size": "soon"}, "aggregate": map[string]any{"op": "count"}}})
	var se *spec.Error
	if !errors.Is(err, ops.ErrInvalid) || !errors.As(err, &se) || len(se.Fields) == 0 || se.Fields[0].Path != "window.size" ||
		!strings.Contains(err.Error(), `stream job "s"`) {
		t.Fatalf("an invalid stream job: %v (fields %+v)", err, se)
	}
	jc, created, err := r.PutJob(ctx(t), ops.PutJobRequest{Table: map[string]any{"name": "g", "class": "datagen", "topic": "orders", "rate": 1}})
	if err != nil || !created || jc.Source != ops.JobSourceAPI {
		t.Fatalf("create a job: %v %v %+v", err, created, jc)
	}
	if got, err := r.JobConfig(ctx(t), "g"); err != nil || got.Table["topic"] != "orders" {
		t.Fatalf("config of the new job: %v %+v", err, got)
	}
	if _, err := r.DeleteJob(ctx(t), "g", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Job(ctx(t), "g"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("the deleted job: %v", err)
	}
}
