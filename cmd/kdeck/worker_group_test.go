package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// syncBuf is a goroutine-safe stderr buffer for a worker subprocess.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// groupWorker is one 'kdeck run --worker-group' subprocess.
type groupWorker struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuf
	done chan struct{}
}

// share returns the tasks of job the worker's last applied assignment gave
// it, from its JSON log.
func (w *groupWorker) share(job string) ([]int, bool) {
	var last []int
	found := false
	sc := bufio.NewScanner(strings.NewReader(w.log.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg   string           `json:"msg"`
			Tasks map[string][]int `json:"tasks"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "worker group assignment applied" {
			last, found = l.Tasks[job], true
		}
	}
	return last, found
}

// startGroupWorker starts 'kdeck run' with cfgPath; the test's cleanup
// kills it if it still runs.
func startGroupWorker(t testing.TB, bin, name, cfgPath string) *groupWorker {
	t.Helper()
	w := &groupWorker{name: name, log: &syncBuf{}, done: make(chan struct{})}
	w.cmd = exec.Command(bin, "--config", cfgPath, "run", "--log-format", "json")
	w.cmd.Stderr = w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
	})
	return w
}

// TestWorkerGroupFailover runs three 'kdeck run' workers in one worker
// group on a kfake cluster, with a file-source connector of three tasks
// (one file each) while the files keep growing. The group spreads the
// tasks one per worker; a worker stopped with SIGTERM hands its task over
// at once (before the session timeout could have expired it); a worker
// killed with SIGKILL loses its task to the survivor after the session
// timeout. An independent client (independentReader: Apache Kafka's
// console consumer on the real tier, kcat on the embedded one) then reads
// the topic: every line of every file is there (0 lost) and duplicates are
// counted and reported.
func TestWorkerGroupFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	read := independentReader(t, c)
	c.CreateTopic(t, "lines", 1)
	dir := t.TempDir()
	files := []string{"a", "b", "c"}
	var mu sync.Mutex
	lines := map[string]int{}
	for _, f := range files {
		appendLines(t, filepath.Join(dir, f+".log"), f, 0, 1000)
		lines[f] = 1000
	}
	const session = 15 * time.Second
	start := func(name string) *groupWorker {
		cfgPath := filepath.Join(dir, name+".toml")
		cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[worker]
group = "g1"
session_timeout = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
tasks_max = 3
offset_flush_interval = "100ms"
poll_interval = "20ms"
batch_lines = 200
`, filepath.Join(dir, "data-"+name), session.String(), filepath.Join(dir, "*.log"))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return startGroupWorker(t, bin, name, cfgPath)
	}
	workers := []*groupWorker{start("w1"), start("w2"), start("w3")}

	// The files grow every 10ms until the end of the test.
	gctx, gcancel := context.WithCancel(context.Background())
	growDone := make(chan struct{})
	go func() {
		defer close(growDone)
		for gctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			for _, f := range files {
				appendLines(t, filepath.Join(dir, f+".log"), f, lines[f], lines[f]+20)
				lines[f] += 20
			}
			mu.Unlock()
		}
	}()
	stopGrowing := func() {
		gcancel()
		<-growDone
	}
	defer stopGrowing()

	owner := func(task int, among []*groupWorker) *groupWorker {
		for _, w := range among {
			if s, _ := w.share("tail"); slices.Contains(s, task) {
				return w
			}
		}
		return nil
	}
	kafkatest.WaitFor(t, 60*time.Second, "the group to spread the three tasks one per worker", func() bool {
		for _, w := range workers {
			if s, ok := w.share("tail"); !ok || len(s) != 1 {
				return false
			}
		}
		return true
	})

	// An independent consumer tells when a file's lines flow again.
	cl := c.Client(t, kgo.ConsumeTopics("lines"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	seen := map[string]int{}
	// awaitLine returns when line f-atLeast (or a later one) has arrived.
	awaitLine := func(f string, atLeast int, what string) time.Time {
		if seen[f] >= atLeast {
			return time.Now()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: no line %s-%d arrived (last seen %d)", what, f, atLeast, seen[f])
			}
			at := time.Now()
			hit := false
			fs.EachRecord(func(r *kgo.Record) {
				g, n, _ := strings.Cut(string(r.Value), "-")
				i, _ := strconv.Atoi(n)
				seen[g] = max(seen[g], i)
				if g == f && i >= atLeast {
					hit = true
				}
			})
			if hit {
				return at
			}
		}
	}
	linesNow := func(f string) int {
		mu.Lock()
		defer mu.Unlock()
		return lines[f]
	}
	for _, f := range files {
		awaitLine(f, 1000, "first run")
	}

	// Graceful stop: the worker of task 1 (file b) hands it over.
	w := owner(1, workers)
	if w == nil {
		t.Fatal("no worker runs task 1")
	}
	from := linesNow("b")
	stoppedAt := time.Now()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	<-w.done
	if !w.cmd.ProcessState.Success() {
		t.Fatalf("worker %s exit after SIGTERM: %v\n%s", w.name, w.cmd.ProcessState, w.log)
	}
	handover := awaitLine("b", from, "after a graceful stop").Sub(stoppedAt)
	t.Logf("graceful stop of %s: file b flowing again after %v (session timeout %v)", w.name, handover.Round(time.Millisecond), session)
	if handover >= session {
		t.Fatalf("a graceful stop waited %v, the session timeout (%v): the worker did not leave the group", handover, session)
	}
	var alive []*groupWorker
	for _, x := range workers {
		if x != w {
			alive = append(alive, x)
		}
	}

	// SIGKILL: the worker of task 0 (file a) loses it to the survivor.
	kafkatest.WaitFor(t, 60*time.Second, "task 1 to run on a survivor", func() bool { return owner(1, alive) != nil })
	victim := owner(0, alive)
	if victim == nil {
		t.Fatal("no worker runs task 0")
	}
	from = linesNow("a")
	killedAt := time.Now()
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	failover := awaitLine("a", from, "after SIGKILL").Sub(killedAt)
	t.Logf("SIGKILL of %s: file a flowing again after %v (session timeout %v)", victim.name, failover.Round(time.Millisecond), session)

	// Every line, counted by an independent client.
	stopGrowing()
	for _, f := range files {
		awaitLine(f, linesNow(f)-1, "the end")
	}
	var last *groupWorker
	for _, x := range alive {
		if x != victim {
			last = x
		}
	}
	_ = last.cmd.Process.Signal(syscall.SIGTERM)
	<-last.done
	values, tool := read("lines", false)
	count := map[string]map[int]int{"a": {}, "b": {}, "c": {}}
	total := 0
	for _, v := range values {
		f, n, _ := strings.Cut(v, "-")
		i, err := strconv.Atoi(n)
		if count[f] == nil || err != nil {
			t.Fatalf("%s read %q, which no file holds", tool, v)
		}
		count[f][i]++
		total++
	}
	dups, want := 0, 0
	perFile := map[string]int{}
	for _, f := range files {
		want += lines[f]
		for i := range lines[f] {
			switch n := count[f][i]; {
			case n == 0:
				t.Fatalf("line %s-%d is missing: lost in a handover", f, i)
			case n > 1:
				dups += n - 1
				perFile[f] += n - 1

			}
		}
		if len(count[f]) != lines[f] {
			t.Fatalf("file %s: %d distinct lines in the topic, the file has %d", f, len(count[f]), lines[f])
		}
	}
	t.Logf("%d lines in 3 files, %d records read by %s: 0 lost, %d duplicates by file %v (lines the SIGKILLed worker had produced but whose offsets it had not saved yet)", want, total, tool, dups, perFile)
}

// TestRunWorkerGroupFlagRefusesBadName: a bad --worker-group is a usage
// error naming the flag, and nothing starts.
func TestRunWorkerGroupFlagRefusesBadName(t *testing.T) {
	code, _, errOut := kdeckRun(t, "-b", "127.0.0.1:1", "run", "--worker-group", "etl group")
	if code != exitUsage || !strings.Contains(errOut, `--worker-group "etl group" is not a valid name`) {
		t.Fatalf("exit %d, stderr %q: want a usage error naming --worker-group", code, errOut)
	}
}

// TestWorkerGroupMirrorKillLoop runs a mirror flow split into four shards
// on three workers of a group while records keep arriving at the source,
// SIGKILLs a random worker at a random moment and restarts it in place,
// three times, then kills one for good. An independent client
// (independentReader) reads the remote topic: every source record is there
// (0 lost); duplicates (the unsaved window of the killed workers) are
// counted and reported.
func TestWorkerGroupMirrorKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	readB := independentReader(t, b)
	a.CreateTopic(t, "orders", 4)
	dir := t.TempDir()
	cfgFor := func(name string) string {
		path := filepath.Join(dir, name+".toml")
		cfg := fmt.Sprintf(`default_cluster = "a"

[clusters.a]
brokers = [%q]

[clusters.b]
brokers = [%q]

[ops]
data_dir = %q

[worker]
group = "mm"
session_timeout = "6s"

[[mirrors]]
name = "ab"
source = "a"
target = "b"
topics = ["orders"]
tasks_max = 4
commit_interval = "100ms"
`, a.Addr(), b.Addr(), filepath.Join(dir, "data-"+name))
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	names := []string{"w1", "w2", "w3"}
	workers := map[string]*groupWorker{}
	for _, n := range names {
		workers[n] = startGroupWorker(t, bin, n, cfgFor(n))
	}

	// The source gets records "0", "1", ... until the kills are over.
	prod := a.Client(t)
	var produced atomic.Int64
	pctx, pcancel := context.WithCancel(context.Background())
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for n := int64(0); pctx.Err() == nil; n++ {
			if err := prod.ProduceSync(pctx, &kgo.Record{Topic: "orders", Value: []byte(strconv.FormatInt(n, 10))}).FirstErr(); err != nil {
				return
			}
			produced.Store(n + 1)
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { pcancel(); <-prodDone }()

	gone := killLoop(t, bin, names, workers, cfgFor, 300*time.Millisecond, 1200*time.Millisecond)
	t.Logf("%s SIGKILLed for good: its shards move after the session timeout", gone)
	time.Sleep(500 * time.Millisecond)
	pcancel()
	<-prodDone
	total := produced.Load()

	adm := b.Admin(t)
	kafkatest.WaitFor(t, 60*time.Second, fmt.Sprintf("the %d source records in a.orders", total), func() bool {
		ends, err := adm.ListEndOffsets(context.Background(), "a.orders")
		if err != nil {
			return false
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n >= total
	})
	values, tool := readB("a.orders", false)
	count := make([]int, total)
	read := 0
	for _, v := range values {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n >= total {
			t.Fatalf("%s read %q, which the source never had", tool, v)
		}
		count[n]++
		read++
	}
	dups := 0
	for n, c := range count {
		if c == 0 {
			t.Fatalf("record %d is missing from a.orders: lost in a failover", n)
		}
		dups += c - 1
	}
	t.Logf("%d source records, %d read by %s from a.orders: 0 lost, %d duplicates (mirrored again after a kill, from the last committed progress)", total, read, tool, dups)
}

// TestWorkerGroupExactlyOnceStreamKillLoop runs an exactly-once stream job on
// three workers of a group (an instance on each; the job's own group splits
// the partitions; 'kdeck streams status' attached to any worker lists the
// three instances, each with its worker and partitions) while input keeps
// arriving, SIGKILLs a random worker at a random moment and restarts it in
// place, three times, then kills one for good. An independent client (independentReader) reads the output
// read_committed: every input appears exactly once.
func TestWorkerGroupExactlyOnceStreamKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	read := independentReader(t, c)
	c.CreateTopic(t, "in", 4)
	c.CreateTopic(t, "out", 4)
	dir := t.TempDir()
	cfgFor := func(name string) string {
		path := filepath.Join(dir, name+".toml")
		cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[worker]
group = "eos"
session_timeout = "6s"

[[streams]]
name = "copy"
inputs = ["in"]
value = "value.n"
output = "out"
guarantee = "exactly_once"
`, filepath.Join(dir, "data-"+name))
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	names := []string{"w1", "w2", "w3"}
	workers := map[string]*groupWorker{}
	for _, n := range names {
		workers[n] = startGroupWorker(t, bin, n, cfgFor(n))
	}
	// Any worker answers for the group: the CLI attached to w2 lists the
	// job's three instances, one per worker, over the four partitions.
	var last, first string
	defer func() {
		if t.Failed() {
			t.Log("last kdeck streams status:", last)
		}
	}()
	kafkatest.WaitFor(t, 60*time.Second, "kdeck streams status copy on w2 to list an instance on each worker", func() bool {
		out, errOut, code := kdeckProc(t, bin, "--config", cfgFor("w2"), "streams", "status", "copy", "-o", "json")
		last = fmt.Sprintf("exit %d: %s %s", code, out, errOut)
		var js ops.JobStatus
		if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Tasks) != 3 {
			return false
		}
		var on, parts []string
		for _, ts := range js.Tasks {
			on = append(on, ts.Worker)
			if ts.Detail["partitions"] != "" {
				parts = append(parts, strings.Split(ts.Detail["partitions"], ",")...)
			}
		}
		slices.Sort(parts)
		first = on[0]
		return len(slices.Compact(slices.Sorted(slices.Values(on)))) == 3 && !slices.Contains(on, "") && slices.Equal(parts, []string{"0", "1", "2", "3"})
	})
	if out, errOut, code := kdeckProc(t, bin, "--config", cfgFor("w3"), "streams", "status", "copy"); code != 0 || !strings.Contains(out, "INSTANCE") || !strings.Contains(out, first) {
		t.Fatalf("kdeck streams status copy on w3: exit %d\n%s\n%s", code, out, errOut)
	}
	prod := c.Client(t)
	var produced atomic.Int64
	pctx, pcancel := context.WithCancel(context.Background())
	prodDone := make(chan struct{})
	go func() {
		defer close(prodDone)
		for n := int64(0); pctx.Err() == nil; n++ {
			r := &kgo.Record{Topic: "in", Key: []byte(strconv.FormatInt(n%13, 10)), Value: fmt.Appendf(nil, `{"n":%d}`, n)}
			if err := prod.ProduceSync(pctx, r).FirstErr(); err != nil {
				return
			}
			produced.Store(n + 1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer func() { pcancel(); <-prodDone }()

	gone := killLoop(t, bin, names, workers, cfgFor, 500*time.Millisecond, 1500*time.Millisecond)
	t.Logf("%s SIGKILLed for good", gone)
	time.Sleep(500 * time.Millisecond)
	pcancel()
	<-prodDone
	total := produced.Load()

	// Wait for every input in the output (read_committed), then count with
	// an independent client.
	cl := c.Client(t, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[int64]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for int64(len(seen)) < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d inputs reached the output", len(seen), total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if n, err := strconv.ParseInt(string(r.Value), 10, 64); err == nil {
				seen[n] = true
			}
		})
	}
	values, tool := read("out", true)
	count := make([]int, total)
	for _, v := range values {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n >= total {
			t.Fatalf("%s read %q, which no input had", tool, v)
		}
		count[n]++
	}
	for n, k := range count {
		if k != 1 {
			t.Fatalf("input %d appears %d times in the committed output, want exactly once", n, k)
		}
	}
	t.Logf("%d inputs, each exactly once in the committed output (%s, read_committed), after 3 kills with restart in place and 1 for good", total, tool)
}

// killLoop SIGKILLs a random worker of names three times at random moments
// (pause plus up to spread apart), restarting it in place each time from
// cfgFor, then kills one for good and returns its name; workers holds the
// live processes by name.
func killLoop(t *testing.T, bin string, names []string, workers map[string]*groupWorker, cfgFor func(string) string, pause, spread time.Duration) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(len(names))))
	wait := func() { time.Sleep(pause + time.Duration(rng.Int64N(int64(spread)))) }
	for i := range 3 {
		wait()
		n := names[rng.IntN(len(names))]
		_ = workers[n].cmd.Process.Signal(syscall.SIGKILL)
		<-workers[n].done
		workers[n] = startGroupWorker(t, bin, n, cfgFor(n))
		t.Logf("kill %d: %s SIGKILLed and restarted in place", i+1, n)
	}
	wait()
	gone := names[rng.IntN(len(names))]
	_ = workers[gone].cmd.Process.Signal(syscall.SIGKILL)
	<-workers[gone].done
	return gone
}
