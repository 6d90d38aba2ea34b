package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// 'kdeck run' in read-only mode refuses to start (exit 3) with a sentence,
// from the flag and from [ops] read_only, and touches nothing.
func TestRunRefusesReadOnly(t *testing.T) {
	dir := isolate(t)
	c := kafkatest.New(t)
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	jobs := fmt.Sprintf(`
[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
`, in)
	p := writeConfig(t, dir, c.TOML()+jobs)
	r := kdeck(t, "", "--config", p, "--read-only", "run")
	if r.code != exitRefused || !strings.Contains(r.err, "refuses to start in read-only mode") {
		t.Fatalf("--read-only run: %+v, want exit 3 and the sentence", r)
	}
	p = writeConfig(t, dir, c.TOML()+"\n[ops]\nread_only = true\n"+jobs)
	r = kdeck(t, "", "--config", p, "run")
	if r.code != exitRefused || !strings.Contains(r.err, "read-only") || strings.Count(strings.TrimSpace(r.err), "\n") != 0 {
		t.Fatalf("run with [ops] read_only: %+v, want exit 3 and one sentence", r)
	}
	td, err := c.Admin(t).ListTopics(t.Context())
	if err != nil || len(td.Names()) != 0 {
		t.Fatalf("topics after refused runs: %v, %v", td.Names(), err)
	}
}

// A second 'kdeck run' on the same data dir refuses to start, naming the
// running one; once that one is killed (SIGKILL: no clean-up), a new one
// starts, because the kernel released the lock.
func TestRunSecondWorkerRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "kdeck.toml")
	if err := os.WriteFile(cfgPath, []byte(c.TOML()+fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
`, data, in)), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() (*exec.Cmd, *syncBuffer) {
		p := startRun(t, bin, cfgPath)
		return p.cmd, p.stderr
	}
	holds := func(pid int) func() bool {
		return func() bool {
			h, ok, err := ops.WorkerLockHolder(data)
			return err == nil && ok && h.PID == pid
		}
	}
	first, _ := start()
	kafkatest.WaitFor(t, 20*time.Second, "the first worker holds the lock", holds(first.Process.Pid))

	second, stderr := start()
	err := second.Wait()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != exitRefused {
		t.Fatalf("second worker: %v (%s), want exit 3", err, stderr)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "pid "+strconv.Itoa(first.Process.Pid)) || !strings.Contains(msg, "kdeck run (pid") || !strings.Contains(msg, "running since") || !strings.Contains(msg, data) {
		t.Fatalf("second worker's refusal does not name the first: %q", msg)
	}

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	third, thirdErr := start()
	kafkatest.WaitFor(t, 20*time.Second, "a new worker starts after a crash", holds(third.Process.Pid))
	if err := third.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := third.Wait(); err != nil {
		t.Fatalf("third worker stopped with %v: %s", err, thirdErr)
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// Every name argument is validated: a blank --as, group or topic is a usage
// error and nothing changes.
func TestBlankNamesRefused(t *testing.T) {
	c := groupAt15(t)
	for _, args := range [][]string{
		{"replay", "g", "--from", "1h", "--as", "", "--execute"},
		{"replay", "g", "--from", "1h", "--as", "  ", "--execute"},
		{"offsets", "reset", "", "--topic", "orders", "--to-earliest", "--execute"},
		{"offsets", "reset", "g", "--topic", "orders", "--to-group", " ", "--execute"},
	} {
		r := kdeck(t, "", append([]string{"-b", c.Addr()}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.err, "empty") {
			t.Errorf("%q: %+v, want exit 2 naming the empty name", args, r)
		}
	}
	if got := c.Committed(t, "g")["orders"][0]; got != 15 {
		t.Fatalf("group g moved to %d", got)
	}
}

// --shift-by says when it clamps, at both ends, and saturates instead of
// wrapping around.
func TestShiftByClampsAndSays(t *testing.T) {
	c := groupAt15(t)
	r := kdeck(t, "", "-b", c.Addr(), "offsets", "reset", "g", "--topic", "orders", "--shift-by", "-100000")
	if r.code != 0 || !strings.Contains(r.out, "clamped to log start 0") {
		t.Fatalf("shift-by -100000: %+v, want the plan with 'clamped to log start 0'", r)
	}
	r = kdeck(t, "", "-b", c.Addr(), "offsets", "reset", "g", "--topic", "orders", "--shift-by", "9223372036854775807", "--execute")
	if r.code != 0 || !strings.Contains(r.out, "clamped to log end 20") {
		t.Fatalf("shift-by max: %+v, want 'clamped to log end 20'", r)
	}
	if got := c.Committed(t, "g")["orders"][0]; got != 20 {
		t.Fatalf("after shift-by max the group is at %d, want the log end 20 (no wrap-around)", got)
	}
}

// groupAt15 isolates the test and gives it a cluster whose topic orders
// holds 20 records and whose group g committed 15.
func groupAt15(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 1)
	c.ProduceN(t, "orders", 20)
	c.Commit(t, "g", map[string]map[int32]int64{"orders": {0: 15}})
	return c
}

// 'connect offsets --undo ID' writes back what an audited --set replaced;
// 'offsets undo ID' of such an entry points there.
func TestConnectOffsetsUndo(t *testing.T) {
	dir := isolate(t)
	c := kafkatest.New(t)
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := writeConfig(t, dir, c.TOML()+fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
offsets_topic = "connect-offsets"
`, filepath.Join(dir, "data"), in))
	set := func(pos int) string {
		f := filepath.Join(dir, "offs.json")
		if err := os.WriteFile(f, []byte(fmt.Sprintf(`{"offsets":[{"partition":{"path":%q},"offset":{"position":%d}}]}`, in, pos)), 0o600); err != nil {
			t.Fatal(err)
		}
		r := kdeck(t, "", "--config", p, "-o", "json", "connect", "offsets", "tail", "--set", f)
		var e ops.AuditEntry
		if r.code != 0 || json.Unmarshal([]byte(r.out), &e) != nil || e.ID == "" {
			t.Fatalf("--set %d: %+v", pos, r)
		}
		return e.ID
	}
	set(7)
	id := set(9)
	r := kdeck(t, "", "--config", p, "offsets", "undo", id)
	if r.code != exitRefused || !strings.Contains(r.err, "connect offsets tail --undo "+id) {
		t.Fatalf("offsets undo of a connector entry: %+v, want a refusal pointing at connect offsets --undo", r)
	}
	r = kdeck(t, "", "--config", p, "connect", "offsets", "tail", "--undo", id)
	if r.code != 0 || !strings.Contains(r.out, "restored as before audit entry "+id) {
		t.Fatalf("--undo: %+v", r)
	}
	r = kdeck(t, "", "--config", p, "-o", "json", "connect", "offsets", "tail")
	if r.code != 0 || !strings.Contains(r.out, `"position": 7`) {
		t.Fatalf("offsets after undo: %+v, want position 7", r)
	}
	r = kdeck(t, "", "--config", p, "connect", "offsets", "tail", "--undo", id)
	if r.code != exitRefused || !strings.Contains(r.err, "changed since audit entry") {
		t.Fatalf("second --undo: %+v, want refused: the offsets changed since", r)
	}
}

// The console hosts a data dir's jobs only when no other process does: with
// a worker holding the lock it leaves them (and says so in its header);
// hosting them itself, it holds the lock, so 'kdeck run' refuses naming it.
func TestConsoleAndWorkerShareOneLock(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	c := kafkatest.New(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "kdeck.toml")
	if err := os.WriteFile(cfgPath, []byte(c.TOML()+fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
`, data, in)), 0o600); err != nil {
		t.Fatal(err)
	}
	lock, err := ops.LockWorker(data, "kdeck run")
	if err != nil {
		t.Fatal(err)
	}
	p := startTUI(t, 160, 40, "--config", cfgPath)
	p.waitFor(t, regexp.MustCompile(`jobs hosted by kdeck run, pid `+strconv.Itoa(os.Getpid())), 30*time.Second, nil)
	p.keys(t, "q")
	<-p.done
	if td, err := c.Admin(t).ListTopics(t.Context()); err != nil || td.Has("lines") {
		t.Fatalf("the console ran the job although a worker held the lock (topics %v, %v)", td.Names(), err)
	}
	lock.Close()

	p = startTUI(t, 160, 40, "--config", cfgPath)
	kafkatest.WaitFor(t, 30*time.Second, "the console holds the lock", func() bool {
		h, ok, err := ops.WorkerLockHolder(data)
		return err == nil && ok && h.PID == p.cmd.Process.Pid && h.Face == "the kdeck console"
	})
	r := kdeck(t, "", "--config", cfgPath, "run")
	if r.code != exitRefused || !strings.Contains(r.err, "the kdeck console (pid "+strconv.Itoa(p.cmd.Process.Pid)) {
		t.Fatalf("run next to a console hosting the jobs: %+v, want exit 3 naming the console", r)
	}
	p.keys(t, "q")
	<-p.done
}

// The console on the embedded default and the CLI share one audit log: a
// reset made in the console is found by the CLI's 'audit show' and
// 'offsets undo' (before, the console wrote DATA_DIR/embedded/audit.jsonl
// and the CLI answered "not found").
func TestConsoleResetFoundByTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	p := startTUI(t, 120, 40)
	p.waitFor(t, clusterUp, 30*time.Second, nil)
	p.keys(t, "3")
	p.waitFor(t, billingLag, 30*time.Second, func(m []string) bool { return m[1] == "Empty" })
	p.keys(t, ":group demo-billing\r")
	p.waitFor(t, regexp.MustCompile(`demo-billing\s+state Empty`), 10*time.Second, nil)
	p.keys(t, "r")
	p.waitFor(t, regexp.MustCompile(`Reset offsets of demo-billing`), 10*time.Second, nil)
	p.keys(t, "\r")
	p.waitFor(t, regexp.MustCompile(`Type demo-billing to execute`), 10*time.Second, nil)
	p.keys(t, "demo-billing\r")
	id := p.waitFor(t, regexp.MustCompile(`Done\. audit id (\d{8}-\d{6}-[0-9a-f]+)`), 15*time.Second, nil)[1]
	p.keys(t, "\x03")
	<-p.done

	// The CLI, with the console's environment (same data dir).
	t.Setenv("XDG_DATA_HOME", filepath.Join(p.cmd.Dir, "data"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(p.cmd.Dir, "config"))
	t.Setenv("KDECK_CONFIG", "")
	t.Chdir(p.cmd.Dir)
	r := kdeck(t, "", "-o", "json", "audit", "show", id)
	if r.code != 0 || !strings.Contains(r.out, `"action": "offsets.reset"`) || !strings.Contains(r.out, `"outcome": "ok"`) {
		t.Fatalf("the CLI's audit show of the console's reset %s: %+v", id, r)
	}
	if _, err := os.Stat(filepath.Join(p.cmd.Dir, "data", "kdeck", ops.AuditFileName)); err != nil {
		t.Fatalf("the console's audit log is not DATA_DIR/%s: %v", ops.AuditFileName, err)
	}
}

// 'kdeck --read-only dev' on a data dir the demo already filled runs no
// demo and no demo job: demo.orders does not grow and no group commits.
func TestDevReadOnlyWritesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for seconds; runs without -short")
	}
	dir := isolate(t)
	data := filepath.Join(dir, "embedded")
	dev := func(readOnly bool) (addr string, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		pr, pw := io.Pipe()
		args := []string{"-o", "json", "dev", "--port", "0", "--data-dir", data}
		if readOnly {
			args = append([]string{"--read-only"}, args...)
		}
		var errb bytes.Buffer
		go func() {
			defer close(done)
			run(ctx, args, strings.NewReader(""), pw, &errb)
			pw.Close()
		}()
		var started struct {
			Bootstrap string `json:"bootstrap"`
		}
		if err := json.NewDecoder(pr).Decode(&started); err != nil {
			t.Fatalf("kdeck dev: %v (%s)", err, errb.String())
		}
		go io.Copy(io.Discard, pr)
		return started.Bootstrap, func() { cancel(); <-done }
	}
	addr, stop := dev(false)
	kafkatest.WaitFor(t, 30*time.Second, "the demo to produce and the demo stream job to start", func() bool {
		r := kdeck(t, "", "-b", addr, "-o", "json", "topics")
		return r.code == 0 && strings.Contains(r.out, ops.DemoOrdersTopic) && strings.Contains(r.out, ops.DemoStreamOutput)
	})
	stop()

	addr, stop = dev(true)
	defer stop()
	snapshot := func() string {
		r := kdeck(t, "", "-b", addr, "-o", "json", "topics", "describe", ops.DemoOrdersTopic)
		g := kdeck(t, "", "-b", addr, "-o", "json", "groups")
		return r.out + g.out
	}
	before := snapshot()
	time.Sleep(2 * time.Second) // the demo produces every 100 ms; nothing may move
	if after := snapshot(); after != before {
		t.Fatalf("a read-only kdeck dev changed the cluster:\nbefore %s\nafter  %s", before, after)
	}
}
