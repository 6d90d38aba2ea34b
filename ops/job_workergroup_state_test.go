package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/ops/workergroup"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// groupWorkers starts Locals w1..wN in worker group g with no configured
// job, each on its own data dir under dir; mod, if not nil, changes their
// configuration.
func groupWorkers(t *testing.T, c *kafkatest.Cluster, dir string, mod func(*config.Config), names ...string) []*ops.Local {
	t.Helper()
	var out []*ops.Local
	for _, n := range names {
		cfg := &config.Config{
			DefaultCluster: "a",
			Clusters:       map[string]*config.Cluster{"a": c.Config()},
			Ops:            config.Ops{DataDir: filepath.Join(dir, n)},
			Worker:         config.Worker{ID: n, Group: "g", SessionTimeout: config.Duration{Duration: 6 * time.Second}},
		}
		if mod != nil {
			mod(cfg)
		}
		out = append(out, hostJobs(t, cfg, ops.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("w", n))))
	}
	return out
}

// taskWorkers returns the worker of each RUNNING task of js, by task id
// ("" for a task not running), and the states.
func taskWorkers(js ops.JobStatus) (workers []string, states []ops.State) {
	for _, ts := range js.Tasks {
		w := ""
		if ts.State == ops.StateRunning {
			w = ts.Worker
		}
		workers = append(workers, w)
		states = append(states, ts.State)
	}
	return workers, states
}

// sameView reports whether every worker shows job with the same state and
// the same worker for each task, all matching ok.
func sameView(ctx context.Context, ws []*ops.Local, job string, ok func(ops.JobStatus) bool) (bool, string) {
	var first []string
	var desc []string
	good := true
	for i, w := range ws {
		js, err := w.Job(ctx, job)
		if err != nil {
			return false, err.Error()
		}
		tw, st := taskWorkers(js)
		desc = append(desc, fmt.Sprintf("w%d: %s %v %v", i+1, js.State, tw, st))
		if i == 0 {
			first = tw
		} else if !slices.Equal(first, tw) {
			good = false
		}
		if !ok(js) {
			good = false
		}
	}
	return good, strings.Join(desc, "; ")
}

// TestWorkerGroupAPIJobThroughTopics: a connector created through worker
// w1 of a three-worker group lands in the group's configs topic; every
// worker runs its share and every worker answers its status for the whole
// group, each task on the worker that runs it. Pause through w2 pauses it
// everywhere; stop through w3 stops it everywhere, after which its offsets
// can be reset on w1; resume starts it again; restarting a task through w3
// restarts it where it runs; delete through w2 removes it everywhere. A
// read-only caller is refused every change on every worker, and the
// creating worker's audit records the creator.
func TestWorkerGroupAPIJobThroughTopics(t *testing.T) {
	c := kafkatest.New(t, kafkatest.Name("a"))
	dir := t.TempDir()
	ws := groupWorkers(t, c, dir, nil, "w1", "w2", "w3")
	ctx := ops.WithActor(context.Background(), ops.Actor{User: "token:ci", Host: "127.0.0.1", Via: "api"})
	ro := ops.WithActor(context.Background(), ops.Actor{User: "token:viewer", Host: "127.0.0.1", Via: "api", ReadOnly: true})
	table := map[string]any{"name": "gen", "class": "datagen", "topic": "gen", "rate": 50.0, "tasks_max": int64(3), "offsets_topic": "gen-offsets"}

	for i, w := range ws {
		if _, _, err := w.PutJob(ro, ops.PutJobRequest{Kind: ops.KindConnector, Table: table}); !errors.Is(err, ops.ErrReadOnly) {
			t.Fatalf("w%d: read-only create = %v, want ErrReadOnly", i+1, err)
		}
	}
	if _, created, err := ws[0].PutJob(ctx, ops.PutJobRequest{Kind: ops.KindConnector, Table: table, Command: "POST /connectors"}); err != nil || !created {
		t.Fatalf("create through w1 = %v (created %v)", err, created)
	}
	allRunning := func(js ops.JobStatus) bool {
		tw, _ := taskWorkers(js)
		return js.State == ops.StateRunning && len(tw) == 3 && !slices.Contains(tw, "")
	}
	var desc string
	kafkatest.WaitFor(t, 45*time.Second, "every worker to show gen's three tasks RUNNING on the same workers", func() bool {
		ok, d := sameView(context.Background(), ws, "gen", allRunning)
		desc = d
		return ok
	})
	js, _ := ws[2].Job(context.Background(), "gen")
	tw, _ := taskWorkers(js)
	slices.Sort(tw)
	if !slices.Equal(slices.Compact(slices.Clone(tw)), []string{"w1", "w2", "w3"}) {
		t.Fatalf("gen's tasks run on %v, want one per worker (%s)", tw, desc)
	}
	cfg, err := ws[1].JobConfig(context.Background(), "gen")
	if err != nil || cfg.Source != ops.JobSourceAPI {
		t.Fatalf("w2: JobConfig(gen) = %+v, %v; want source api", cfg, err)
	}
	entries, err := ws[0].Audit(context.Background(), ops.AuditFilter{Job: "gen"})
	if err != nil || len(entries) == 0 || entries[0].Action != "jobs.create" || entries[0].User != "token:ci" || entries[0].Details["worker_group"] != "g" {
		t.Fatalf("w1's audit of gen = %+v, %v; want a jobs.create by token:ci in group g", entries, err)
	}

	// Read-only callers are refused everything, everywhere.
	for i, w := range ws {
		if _, err := w.JobAction(ro, "gen", ops.ActionPause, ops.JobActionOptions{}); !errors.Is(err, ops.ErrReadOnly) {
			t.Fatalf("w%d: read-only pause = %v, want ErrReadOnly", i+1, err)
		}
		if _, err := w.DeleteJob(ro, "gen", "DELETE /connectors/gen"); !errors.Is(err, ops.ErrReadOnly) {
			t.Fatalf("w%d: read-only delete = %v, want ErrReadOnly", i+1, err)
		}
	}

	// Pause through w2: paused everywhere.
	if _, err := ws[1].JobAction(ctx, "gen", ops.ActionPause, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 30*time.Second, "gen PAUSED on every worker", func() bool {
		ok, d := sameView(context.Background(), ws, "gen", func(js ops.JobStatus) bool {
			_, st := taskWorkers(js)
			return js.State == ops.StatePaused && len(st) == 3 && !slices.ContainsFunc(st, func(s ops.State) bool { return s != ops.StatePaused })
		})
		desc = d
		return ok
	})

	// Stop through w3: STOPPED everywhere, then offsets reset on w1.
	if _, err := ws[2].JobAction(ctx, "gen", ops.ActionStop, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Log(desc)
		}
	}()
	kafkatest.WaitFor(t, 30*time.Second, "gen STOPPED on every worker and its offsets reset through w1", func() bool {
		for _, w := range ws {
			if js, _ := w.Job(context.Background(), "gen"); js.State != ops.StateStopped || len(js.Tasks) != 0 {
				desc = fmt.Sprintf("%s %+v", js.State, js.Tasks)
				return false
			}
		}
		_, err := ws[0].AlterJobOffsets(ctx, "gen", ops.AlterOffsetsRequest{Reset: true})
		if err != nil {
			desc = err.Error()
		}
		return err == nil
	})
	// Resume (start) through w1: running again everywhere.
	if _, err := ws[0].JobAction(ctx, "gen", ops.ActionStart, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 45*time.Second, "gen RUNNING again on every worker", func() bool {
		ok, d := sameView(context.Background(), ws, "gen", allRunning)
		desc = d
		return ok
	})

	// Restart task 1 through w3, wherever it runs.
	task := 1
	entry, err := ws[2].JobAction(ctx, "gen", ops.ActionRestart, ops.JobActionOptions{Task: &task})
	if err != nil || entry.Details["request"] == "" {
		t.Fatalf("restart of task 1 through w3 = %+v, %v", entry, err)
	}
	bad := 7
	if _, err := ws[2].JobAction(ctx, "gen", ops.ActionRestart, ops.JobActionOptions{Task: &bad}); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("restart of task 7 = %v, want ErrNotFound", err)
	}

	// Delete through w2: gone everywhere.
	if _, err := ws[1].DeleteJob(ctx, "gen", "DELETE /connectors/gen"); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 30*time.Second, "gen gone from every worker", func() bool {
		for _, w := range ws {
			if _, err := w.Job(context.Background(), "gen"); !errors.Is(err, ops.ErrNotFound) {
				return false
			}
		}
		return true
	})
	for i, w := range ws {
		rep, err := w.Workers(context.Background())
		if err != nil || rep.Group != "g" || len(rep.Workers) != 3 {
			t.Fatalf("w%d: Workers = %+v, %v; want the three workers of g", i+1, rep, err)
		}
		for _, wk := range rep.Workers {
			if wk.TaskCount != 0 || !wk.Live {
				t.Fatalf("w%d: worker %+v still runs tasks after the delete", i+1, wk)
			}
		}
	}
}

// TestWorkerGroupConfigsSurviveARestartOfTheGroup: a connector created
// through the API of a group's worker comes back, with its target state,
// when the whole group is stopped and started again: the configs topic
// holds it, not a worker's data dir.
func TestWorkerGroupConfigsSurviveARestartOfTheGroup(t *testing.T) {
	c := kafkatest.New(t, kafkatest.Name("a"))
	dir := t.TempDir()
	ctx := context.Background()
	ws := groupWorkers(t, c, dir, nil, "w1", "w2")
	for _, name := range []string{"gen", "idle"} {
		table := map[string]any{"name": name, "class": "datagen", "topic": name, "rate": 20.0, "tasks_max": int64(2), "offsets_topic": name + "-offsets"}
		if _, _, err := ws[1].PutJob(ctx, ops.PutJobRequest{Kind: ops.KindConnector, Table: table}); err != nil {
			t.Fatal(err)
		}
	}
	// w1 learns of idle from the configs topic (eventually, as in Connect).
	kafkatest.WaitFor(t, 30*time.Second, "w1 to read idle from the configs topic", func() bool {
		_, err := ws[0].Job(ctx, "idle")
		return err == nil
	})
	if _, err := ws[0].JobAction(ctx, "idle", ops.ActionStop, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 45*time.Second, "gen running on both workers", func() bool {
		ok, _ := sameView(ctx, ws, "gen", func(js ops.JobStatus) bool {
			tw, _ := taskWorkers(js)
			return js.State == ops.StateRunning && len(tw) == 2 && !slices.Contains(tw, "")
		})
		return ok
	})
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"w1", "w2"} {
		if _, err := os.Stat(filepath.Join(dir, n, ops.APIJobsFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s keeps the group's API jobs in its data dir (%v): the configs topic holds them", n, err)
		}
	}
	// As if w1 had been killed while it ran idle's task 0 (a SIGKILL writes
	// no last status): its next incarnation must not be taken to run it.
	stale, _ := json.Marshal(workergroup.TaskStatus{Job: "idle", Task: 0, State: "RUNNING", Worker: "w1", At: time.Now()})
	if err := c.Client(t).ProduceSync(ctx, &kgo.Record{Topic: workergroup.StatusTopic("g"), Key: []byte(workergroup.TaskKey("idle", 0)), Value: stale}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ws = groupWorkers(t, c, dir, nil, "w1", "w2")
	kafkatest.WaitFor(t, 30*time.Second, "idle's offsets reset through w2 (no worker runs it)", func() bool {
		_, err := ws[1].AlterJobOffsets(ctx, "idle", ops.AlterOffsetsRequest{Reset: true})
		return err == nil
	})
	kafkatest.WaitFor(t, 45*time.Second, "gen running again after the group restarted, idle still STOPPED", func() bool {
		ok, _ := sameView(ctx, ws, "gen", func(js ops.JobStatus) bool {
			tw, _ := taskWorkers(js)
			return js.State == ops.StateRunning && len(tw) == 2 && !slices.Contains(tw, "")
		})
		for _, w := range ws {
			js, err := w.Job(ctx, "idle")
			ok = ok && err == nil && js.State == ops.StateStopped
		}
		return ok
	})
}

// TestWorkerGroupLeftWorkersTasksUnassignedUntilReassigned: when a worker
// leaves the group, its tasks are shown UNASSIGNED by the workers that stay
// (with no worker) until the group gives them to one of them. The embedded
// cluster holds the survivors' JoinGroup (answering "coordinator loading",
// which clients retry) so the reassignment waits while the test looks.
func TestWorkerGroupLeftWorkersTasksUnassignedUntilReassigned(t *testing.T) {
	c := kafkatest.New(t, kafkatest.Name("a"))
	c.NeedsFake(t)
	dir := t.TempDir()
	// Named topics, as Connect's config.storage.topic and status.storage.topic.
	ws := groupWorkers(t, c, dir, func(cfg *config.Config) { cfg.Worker.ConfigsTopic, cfg.Worker.StatusTopic = "g.configs", "g.status" }, "w1", "w2", "w3")
	ctx := context.Background()
	table := map[string]any{"name": "gen", "class": "datagen", "topic": "gen", "rate": 20.0, "tasks_max": int64(3), "offsets_topic": "gen-offsets"}
	if _, _, err := ws[0].PutJob(ctx, ops.PutJobRequest{Kind: ops.KindConnector, Table: table}); err != nil {
		t.Fatal(err)
	}
	kafkatest.WaitFor(t, 45*time.Second, "gen's three tasks one per worker", func() bool {
		ok, _ := sameView(ctx, ws, "gen", func(js ops.JobStatus) bool {
			tw, _ := taskWorkers(js)
			s := slices.Sorted(slices.Values(tw))
			return slices.Equal(s, []string{"w1", "w2", "w3"})
		})
		return ok
	})
	topics, err := c.Admin(t).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has("g.configs") || !topics.Has("g.status") || topics.Has(workergroup.ConfigsTopic("g")) || topics.Has(workergroup.StatusTopic("g")) {
		t.Fatalf("topics %v: want g.configs and g.status, not the default names", topics.Names())
	}
	js, _ := ws[0].Job(ctx, "gen")
	w3task := slices.IndexFunc(js.Tasks, func(ts ops.TaskStatus) bool { return ts.Worker == "w3" })

	var hold atomic.Bool
	hold.Store(true)
	c.Fake.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Fake.KeepControl()
		if r := req.(*kmsg.JoinGroupRequest); !hold.Load() || r.Group != "_kdeck-worker-g" {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		return resp, nil, true
	})
	if err := ws[2].Close(); err != nil {
		t.Fatal(err)
	}
	survivors := ws[:2]
	var desc string
	kafkatest.WaitFor(t, 30*time.Second, "w3's task UNASSIGNED on both survivors while the group cannot rebalance", func() bool {
		ok, d := sameView(ctx, survivors, "gen", func(js ops.JobStatus) bool {
			if len(js.Tasks) != 3 {
				return false
			}
			for i, ts := range js.Tasks {
				if i == w3task && (ts.State != ops.StateUnassigned || ts.Worker != "") {
					return false
				}
				if i != w3task && ts.State != ops.StateRunning {
					return false
				}
			}
			return js.State == ops.StateRunning
		})
		desc = d
		return ok
	})
	rep, err := survivors[1].Workers(ctx)
	if err != nil || len(rep.Workers) != 2 || rep.Unassigned != 1 {
		t.Fatalf("Workers while w3's task waits = %+v, %v; want two workers and one task unassigned (%s)", rep, err, desc)
	}
	hold.Store(false)
	kafkatest.WaitFor(t, 45*time.Second, "w3's task RUNNING on a survivor once the group rebalanced", func() bool {
		ok, d := sameView(ctx, survivors, "gen", func(js ops.JobStatus) bool {
			tw, _ := taskWorkers(js)
			return len(tw) == 3 && !slices.Contains(tw, "") && !slices.Contains(tw, "w3")
		})
		desc = d
		return ok
	})
}

// instanceView describes a stream job's tasks as a worker shows them: the
// worker of each RUNNING instance, and the partitions over all of them.
func instanceView(js ops.JobStatus) (workers []string, parts []int) {
	for _, ts := range js.Tasks {
		if ts.State != ops.StateRunning || ts.Worker == "" {
			continue
		}
		workers = append(workers, ts.Worker)
		for p := range strings.SplitSeq(ts.Detail["partitions"], ",") {
			if n, err := strconv.Atoi(p); err == nil {
				parts = append(parts, n)
			}
		}
	}
	slices.Sort(parts)
	return workers, parts
}

// TestWorkerGroupStreamInstancesThroughTopics: a stream job declared
// identically on the three workers of a group runs an instance on each;
// every worker shows it as three tasks, one per worker's instance, with the
// partitions each processes (together every input partition once), and
// Workers counts each worker's instance in its load. When one worker stops
// gracefully, it writes its instance UNASSIGNED and the two survivors show
// the two live instances, which take over every partition.
func TestWorkerGroupStreamInstancesThroughTopics(t *testing.T) {
	c := kafkatest.New(t, kafkatest.Name("a"))
	c.CreateTopic(t, "in", 6)
	c.CreateTopic(t, "out", 1)
	dir := t.TempDir()
	ctx := context.Background()
	ws := groupWorkers(t, c, dir, func(cfg *config.Config) {
		cfg.Streams = []config.Job{{Table: map[string]any{"name": "copy", "cluster": "a", "inputs": []any{"in"}, "value": "value.n", "output": "out"}}}
	}, "w1", "w2", "w3")
	allParts := []int{0, 1, 2, 3, 4, 5}
	var desc string
	defer func() {
		if t.Failed() {
			t.Log(desc)
		}
	}()
	shows := func(ws []*ops.Local, want []string) bool {
		var d []string
		good := true
		for i, w := range ws {
			js, err := w.Job(ctx, "copy")
			if err != nil {
				desc = err.Error()
				return false
			}
			tw, parts := instanceView(js)
			d = append(d, fmt.Sprintf("w%d: %s %v %v (%d tasks)", i+1, js.State, tw, parts, len(js.Tasks)))
			good = good && js.State == ops.StateRunning && len(js.Tasks) == len(want) && slices.Equal(tw, want) && slices.Equal(parts, allParts)
		}
		desc = strings.Join(d, "; ")
		return good
	}
	kafkatest.WaitFor(t, 60*time.Second, "every worker to show copy's three instances, one per worker, over every partition", func() bool {
		return shows(ws, []string{"w1", "w2", "w3"})
	})
	js, _ := ws[1].Job(ctx, "copy")
	for i, ts := range js.Tasks {
		if ts.ID != i || ts.Detail["worker_group"] != "g" || (ts.Detail["worker"] != "") != (ts.Worker == "w2") {
			t.Fatalf("w2: copy's task %d = %+v; want id %d, group g in Detail, and Detail's worker on its own instance only (as /metrics reads it)", i, ts, i)
		}
	}
	for i, w := range ws {
		rep, err := w.Workers(ctx)
		if err != nil || len(rep.Workers) != 3 {
			t.Fatalf("w%d: Workers = %+v, %v; want three workers", i+1, rep, err)
		}
		for k, wk := range rep.Workers {
			if wk.TaskCount != 1 || !slices.Equal(wk.Instances, []string{"copy"}) || !slices.Equal(wk.Tasks["copy"], []int{k}) {
				t.Fatalf("w%d: Workers shows %+v; want copy's instance %d counted in its load", i+1, wk, k)
			}
		}
	}

	if err := ws[2].Close(); err != nil {
		t.Fatal(err)
	}
	var last workergroup.InstanceStatus
	for _, r := range c.ReadToEnd(t, workergroup.StatusTopic("g")) {
		if string(r.Key) == workergroup.InstanceKey("copy", "w3") {
			if err := json.Unmarshal(r.Value, &last); err != nil {
				t.Fatal(err)
			}
		}
	}
	if last.Worker != "w3" || last.State != string(ops.StateUnassigned) {
		t.Fatalf("w3's last word on its instance of copy = %+v; want UNASSIGNED, written as it stopped", last)
	}
	survivors := ws[:2]
	kafkatest.WaitFor(t, 60*time.Second, "both survivors to show copy's two live instances over every partition", func() bool {
		return shows(survivors, []string{"w1", "w2"})
	})
	for i, w := range survivors {
		rep, err := w.Workers(ctx)
		if err != nil || len(rep.Workers) != 2 {
			t.Fatalf("w%d: Workers after w3 left = %+v, %v; want two workers", i+1, rep, err)
		}
		for _, wk := range rep.Workers {
			if wk.TaskCount != 1 || !slices.Equal(wk.Instances, []string{"copy"}) {
				t.Fatalf("w%d: Workers after w3 left shows %+v; want copy's instance counted", i+1, wk)
			}
		}
	}
}
