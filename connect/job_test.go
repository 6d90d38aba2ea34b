package connect_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// runJob builds and runs a job in the background; stop cancels it and
// returns Run's error.
func runJob(t *testing.T, c *kafkatest.Cluster, table map[string]any, store connect.OffsetStore) (*connect.Job, func() error) {
	t.Helper()
	j, err := connect.NewJob(connect.Builtins(), table, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)), connect.WithOffsetStore(store))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	var stopped bool
	var runErr error
	stop := func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("job did not stop within 20s")
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return j, stop
}

// readAll reads every record of a topic until n records were read.
func readAll(t *testing.T, c *kafkatest.Cluster, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func writeLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	kafkatest.WaitFor(t, 20*time.Second, what, cond)
}

func savedPosition(t *testing.T, store connect.OffsetStore, name string) int64 {
	t.Helper()
	offs, err := store.Load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var pos int64
	for _, o := range offs {
		switch v := o.Offset["position"].(type) {
		case float64:
			pos = int64(v)
		case int64:
			pos = v
		}
	}
	return pos
}

func TestFileSourceResumesAfterRestart(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeLines(t, path, 0, 100)
	store := connect.NewFileOffsetStore(filepath.Join(dir, "offsets"))
	table := map[string]any{"name": "app-log", "class": "file-source", "path": path, "topic": "app.log", "offset_flush_interval": "50ms"}
	_, stop := runJob(t, c, table, store)
	readAll(t, c, "app.log", 100)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if got := savedPosition(t, store, "app-log"); got != fi.Size() {
		t.Fatalf("saved position %d after a graceful stop, want %d (file size)", got, fi.Size())
	}
	writeLines(t, path, 100, 150)
	_, stop2 := runJob(t, c, table, store)
	defer stop2()
	recs := readAll(t, c, "app.log", 150)
	for i, r := range recs {
		if want := fmt.Sprintf("line %d", i); string(r.Value) != want {
			t.Fatalf("record %d = %q, want %q (restart must resume, not repeat)", i, r.Value, want)
		}
	}
}

func TestFileSourceFollowsRotation(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeLines(t, path, 0, 10)
	store := connect.NewFileOffsetStore(filepath.Join(dir, "offsets"))
	_, stop := runJob(t, c, map[string]any{"name": "rot", "class": "file-source", "path": path, "topic": "rot", "poll_interval": "20ms"}, store)
	defer stop()
	readAll(t, c, "rot", 10)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeLines(t, path, 10, 20)
	recs := readAll(t, c, "rot", 20)
	for i, r := range recs {
		if want := fmt.Sprintf("line %d", i); string(r.Value) != want {
			t.Fatalf("record %d = %q, want %q", i, r.Value, want)
		}
	}
}

func TestDatagenDeterministicAndCounted(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "gen", 1)
	store := connect.NewFileOffsetStore(t.TempDir())
	table := map[string]any{"name": "gen", "class": "datagen", "topic": "gen", "count": int64(500), "tasks_max": int64(2), "seed": int64(7),
		"shape": map[string]any{"id": "seq", "n": "int:1:1000", "who": "key", "c": "choice:a,b"}}
	j, stop := runJob(t, c, table, store)
	recs := readAll(t, c, "gen", 500)
	waitFor(t, "datagen tasks to finish", func() bool {
		st := j.Status()
		return len(st.Tasks) == 2 && st.Tasks[0].State == jobstate.Stopped && st.Tasks[1].State == jobstate.Stopped
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		seen[string(r.Value)] = true
	}
	if len(seen) != 500 {
		t.Fatalf("%d distinct values, want 500", len(seen))
	}
	// Same seed, new topic: the same values.
	table2 := map[string]any{}
	for k, v := range table {
		table2[k] = v
	}
	table2["name"], table2["topic"] = "gen2", "gen2"
	c.CreateTopic(t, "gen2", 1)
	_, stop2 := runJob(t, c, table2, connect.NewFileOffsetStore(t.TempDir()))
	defer stop2()
	for _, r := range readAll(t, c, "gen2", 500) {
		if !seen[string(r.Value)] {
			t.Fatalf("value %s not generated with the same seed before", r.Value)
		}
	}
}

func TestTaskSplitting(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeLines(t, filepath.Join(dir, fmt.Sprintf("f%d.log", i)), 0, 1)
	}
	for _, tc := range []struct {
		class    string
		extra    map[string]any
		max      int64
		want     int
		wantFile int
	}{
		{"file-source", map[string]any{"path": filepath.Join(dir, "*.log"), "topic": "t"}, 3, 3, 5},
		{"file-source", map[string]any{"path": filepath.Join(dir, "*.log"), "topic": "t"}, 10, 5, 5},
		{"file-source", map[string]any{"path": filepath.Join(dir, "f0.log"), "topic": "t"}, 4, 1, 1},
		{"datagen", map[string]any{"topic": "t"}, 4, 4, 0},
		{"file-sink", map[string]any{"path": filepath.Join(dir, "out"), "topics": []any{"t"}}, 4, 1, 0},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.class, tc.max), func(t *testing.T) {
			table := map[string]any{"name": "x", "class": tc.class, "tasks_max": tc.max}
			for k, v := range tc.extra {
				table[k] = v
			}
			confs, err := connect.SplitTasks(connect.Builtins(), table)
			if err != nil {
				t.Fatal(err)
			}
			if len(confs) != tc.want {
				t.Fatalf("%d task configs, want %d", len(confs), tc.want)
			}
			files := map[string]int{}
			for _, c := range confs {
				if fs, ok := c["_files"].([]string); ok {
					for _, f := range fs {
						files[f]++
					}
				}
			}
			if len(files) != tc.wantFile {
				t.Fatalf("files assigned: %v, want %d distinct", files, tc.wantFile)
			}
			for f, n := range files {
				if n != 1 {
					t.Errorf("file %s assigned to %d tasks", f, n)
				}
			}
		})
	}
}

func TestFileSinkWithPoisonRecordsToDLQ(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 2)
	var recs []*kgo.Record
	for i := range 40 {
		v := fmt.Sprintf(`{"n":%d}`, i)
		if i%10 == 3 {
			v = fmt.Sprintf("not json %d", i)
		}
		recs = append(recs, &kgo.Record{Topic: "in", Partition: int32(i % 2), Value: []byte(v)})
	}
	c.Produce(t, recs...)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	table := map[string]any{"name": "sink", "class": "file-sink", "path": out, "topics": []any{"in"},
		"value_converter": "json", "errors_tolerance": "all", "dlq_topic": "in.dlq"}
	j, stop := runJob(t, c, table, connect.NewFileOffsetStore(t.TempDir()))
	dlq := readAll(t, c, "in.dlq", 4)
	waitFor(t, "36 good lines in the file", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") == 36
	})
	waitFor(t, "offsets committed", func() bool {
		offs, err := j.Offsets(context.Background())
		if err != nil || len(offs) != 2 {
			return false
		}
		for _, o := range offs {
			if o.Offset["kafka_offset"] != int64(20) {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dlq {
		h := map[string]string{}
		for _, x := range d.Headers {
			h[x.Key] = string(x.Value)
		}
		if !strings.HasPrefix(string(d.Value), "not json") {
			t.Errorf("DLQ value %q is not the original", d.Value)
		}
		for k, want := range map[string]string{
			connect.HeaderErrTopic: "in", connect.HeaderErrConnector: "sink", connect.HeaderErrTaskID: "0",
			connect.HeaderErrStage: connect.StageValueConverter, connect.HeaderErrClass: "json",
		} {
			if h[k] != want {
				t.Errorf("header %s = %q, want %q", k, h[k], want)
			}
		}
		for _, k := range []string{connect.HeaderErrPartition, connect.HeaderErrOffset, connect.HeaderErrExceptionClass, connect.HeaderErrMessage} {
			if h[k] == "" {
				t.Errorf("header %s missing", k)
			}
		}
	}
	st := j.Status()
	if st.Tasks[0].Metrics.DLQ != 4 || st.Tasks[0].Metrics.Errors != 4 {
		t.Errorf("metrics: %+v", st.Tasks[0].Metrics)
	}
}

func TestBadInputFailsTaskNotWorker(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	c.CreateTopic(t, "raw", 1)
	c.Produce(t, &kgo.Record{Topic: "raw", Value: []byte("plain text")})
	unreadable := filepath.Join(dir, "secret.log")
	writeLines(t, unreadable, 0, 1)
	os.Chmod(unreadable, 0)
	for _, tc := range []struct {
		name  string
		table map[string]any
		want  string
	}{
		{"missing file", map[string]any{"class": "file-source", "path": filepath.Join(dir, "nope.log"), "topic": "t"}, "does not exist"},
		{"non-JSON for json converter", map[string]any{"class": "file-sink", "path": filepath.Join(dir, "o"), "topics": []any{"raw"}, "value_converter": "json"}, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.table["name"] = strings.ReplaceAll(tc.name, " ", "-")
			j, stop := runJob(t, c, tc.table, connect.NewFileOffsetStore(t.TempDir()))
			waitFor(t, "the task to fail", func() bool {
				st := j.Status()
				return len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed
			})
			if tr := j.Status().Tasks[0].Trace; !strings.Contains(tr, tc.want) {
				t.Errorf("trace %q does not say %q", tr, tc.want)
			}
			if err := stop(); !errors.Is(err, connect.ErrAllTasksFailed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want ErrAllTasksFailed with %q", err, tc.want)
			}
		})
	}
	if os.Getuid() != 0 {
		t.Run("unreadable file", func(t *testing.T) {
			j, stop := runJob(t, c, map[string]any{"name": "unreadable", "class": "file-source", "path": unreadable, "topic": "t"}, connect.NewFileOffsetStore(t.TempDir()))
			defer stop()
			waitFor(t, "the task to fail", func() bool {
				st := j.Status()
				return len(st.Tasks) > 0 && st.Tasks[0].State == jobstate.Failed && strings.Contains(st.Tasks[0].Trace, "not readable")
			})
		})
	}
}

func TestConfigErrorsListEveryField(t *testing.T) {
	reg := connect.Builtins()
	for _, tc := range []struct {
		name  string
		table map[string]any
		want  []string
	}{
		{"unknown class", map[string]any{"name": "x", "class": "file-sourc"}, []string{`unknown connector class "file-sourc"; did you mean "file-source"?`}},
		{"missing and mistyped", map[string]any{"name": "x", "class": "file-source", "tasks_max": "two", "topik": "t"},
			[]string{"path: missing", "topic: missing", "tasks_max: must be an integer", `topik: unknown key; did you mean "topic"?`}},
		{"bad transform expression", map[string]any{"name": "x", "class": "datagen", "topic": "t", "transforms": []any{map[string]any{"type": "filter", "expr": "value.amount >"}}},
			[]string{"transforms[0]", "does not compile"}},
		{"unknown transform", map[string]any{"name": "x", "class": "datagen", "topic": "t", "transforms": []any{map[string]any{"type": "insert_feld"}}},
			[]string{`did you mean "insert_field"?`}},
		{"dlq without tolerance", map[string]any{"name": "x", "class": "datagen", "topic": "t", "dlq_topic": "d"}, []string{`dlq_topic: needs errors_tolerance = "all"`}},
		{"bad converter", map[string]any{"name": "x", "class": "datagen", "topic": "t", "value_converter": "xml"}, []string{`value_converter: "xml" is not one of json, string, bytes`}},
		{"avro converter without its schema", map[string]any{"name": "x", "class": "datagen", "topic": "t", "value_converter": "avro", "auto_register_schemas": true}, []string{`value_converter: auto_register_schemas needs value_schema`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := connect.Validate(reg, tc.table)
			var ce *connect.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v, want *ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// TestSourceTransformRejectsToDLQ: unlike Kafka Connect, the DLQ serves
// source connectors too: a line a transform rejects goes there with the
// error headers and its source position, and the offsets move on.
func TestSourceTransformRejectsToDLQ(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lines.log")
	writeLines(t, path, 0, 3)
	store := connect.NewFileOffsetStore(dir)
	// Lines are strings, and insert_field needs a JSON object: every line
	// is rejected by the transform.
	table := map[string]any{"name": "rejects", "class": "file-source", "path": path, "topic": "lines",
		"errors_tolerance": "all", "dlq_topic": "lines.dlq", "offset_flush_interval": "20ms",
		"transforms": []any{map[string]any{"type": "insert_field", "static_field": "src", "static_value": "x"}}}
	j, stop := runJob(t, c, table, store)
	defer stop()
	dlq := readAll(t, c, "lines.dlq", 3)
	for i, d := range dlq {
		h := map[string]string{}
		for _, x := range d.Headers {
			h[x.Key] = string(x.Value)
		}
		if string(d.Value) != fmt.Sprintf("line %d", i) || h[connect.HeaderErrStage] != connect.StageTransformation ||
			h[connect.HeaderErrClass] != "insert_field" || h[connect.HeaderErrTopic] != "lines" || h[connect.HeaderErrOffset] != "-1" {
			t.Errorf("DLQ record %q with headers %v", d.Value, h)
		}
		if !strings.Contains(h[connect.HeaderErrSourcePartition], "lines.log") || !strings.Contains(h[connect.HeaderErrMessage], "not a JSON object") {
			t.Errorf("headers %v", h)
		}
	}
	fi, _ := os.Stat(path)
	waitFor(t, "the offset past every line saved", func() bool { return savedPosition(t, store, "rejects") == fi.Size() })
	if m := j.Status().Tasks[0].Metrics; m.DLQ != 3 || m.RecordsOut != 0 {
		t.Errorf("metrics %+v", m)
	}
}

// TestRestartFailedTaskResumes: one task fails (its path is a directory),
// the other runs; after the cause is fixed, RestartFailedTasks runs it
// again without touching the healthy task.
func TestRestartFailedTaskResumes(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "a.log"), 0, 5)
	bad := filepath.Join(dir, "b.log")
	os.Mkdir(bad, 0o755)
	j, stop := runJob(t, c, map[string]any{"name": "two", "class": "file-source", "path": filepath.Join(dir, "*.log"), "topic": "two", "tasks_max": int64(2)}, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	waitFor(t, "task 1 to fail and task 0 to run", func() bool {
		st := j.Status()
		return len(st.Tasks) == 2 && st.Tasks[0].State == jobstate.Running && st.Tasks[1].State == jobstate.Failed
	})
	if tr := j.Status().Tasks[1].Trace; !strings.Contains(tr, "is a directory") {
		t.Errorf("trace %q", tr)
	}
	os.Remove(bad)
	writeLines(t, bad, 100, 105)
	if ids := j.RestartFailedTasks(); len(ids) != 1 || ids[0] != 1 {
		t.Fatalf("restarted %v", ids)
	}
	readAll(t, c, "two", 10)
	if st := j.Status().Tasks[1]; st.State != jobstate.Running || st.Trace != "" {
		t.Fatalf("task after restart: %+v", st)
	}
}

// TestFileSourceRestartsReplacedFile: a saved offset for another file (a
// different inode) under the same path is not applied: the new file is
// read from its start.
func TestFileSourceRestartsReplacedFile(t *testing.T) {
	c := kafkatest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	writeLines(t, path, 0, 20)
	store := connect.NewFileOffsetStore(filepath.Join(dir, "offsets"))
	table := map[string]any{"name": "repl", "class": "file-source", "path": path, "topic": "repl", "offset_flush_interval": "20ms"}
	_, stop := runJob(t, c, table, store)
	readAll(t, c, "repl", 20)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	os.Rename(path, path+".old")
	writeLines(t, path, 100, 130) // longer than the saved position
	_, stop2 := runJob(t, c, table, store)
	defer stop2()
	recs := readAll(t, c, "repl", 50)
	if string(recs[20].Value) != "line 100" {
		t.Fatalf("after replacing the file, record 20 = %q, want %q", recs[20].Value, "line 100")
	}
}

// TestFileSourceVanishedFileFails: a single file that disappears and is not
// re-created within vanish_timeout fails the task with that reason, after
// every line it had was produced.
func TestFileSourceVanishedFileFails(t *testing.T) {
	c := kafkatest.New(t)
	path := filepath.Join(t.TempDir(), "gone.log")
	writeLines(t, path, 0, 5)
	j, stop := runJob(t, c, map[string]any{"name": "gone", "class": "file-source", "path": path, "topic": "gone",
		"vanish_timeout": "100ms", "poll_interval": "20ms"}, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	readAll(t, c, "gone", 5)
	os.Remove(path)
	waitFor(t, "the task to fail", func() bool {
		st := j.Status()
		return st.Tasks[0].State == jobstate.Failed && strings.Contains(st.Tasks[0].Trace, "vanished and was not re-created within 100ms")
	})
}
