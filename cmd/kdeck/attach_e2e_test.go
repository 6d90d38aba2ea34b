package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// startAPIWorker starts 'kdeck run' on cfgPath and waits until its socket
// answers.
func startAPIWorker(t *testing.T, bin, cfgPath, sock string, args ...string) *kdeckProcess {
	t.Helper()
	w := startRun(t, bin, cfgPath, args...)
	deadline := time.Now().Add(30 * time.Second)
	for !api.Alive(sock) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker's socket %s did not answer within 30s:\n%s", sock, w.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w
}

// kdeckProc runs the binary with args and returns stdout, stderr and the exit
// code; it fails the test when the command takes more than 20s (a hang).
func kdeckProc(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kdeck %s hung (killed after 20s)\nstderr: %s", strings.Join(args, " "), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestAttachWholeProcess runs 'kdeck run' as a subprocess and drives its
// connector from a second process through the data dir's socket: list,
// status, pause, resume, stop, restart, offsets and the audit log (with the
// caller's uid); then SIGKILLs the worker under a followed tail (clear
// error, exit 1, no hang), restarts it (stale socket said and removed) and
// attaches again.
func TestAttachWholeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	c.CreateTopic(t, "orders", 2)
	c.CreateTopic(t, "counts", 2)
	c.Produce(t, &kgo.Record{Topic: "orders", Value: []byte(`{"customer":"ann"}`)},
		&kgo.Record{Topic: "orders", Value: []byte(`{"customer":"ann"}`)},
		&kgo.Record{Topic: "orders", Value: []byte(`{"customer":"bob"}`)})
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "a.log"), "a", 0, 100)
	data := filepath.Join(dir, "data")
	sock := filepath.Join(data, api.SocketName)
	cfgPath := filepath.Join(dir, "kdeck.toml")
	cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
offset_flush_interval = "100ms"
poll_interval = "20ms"

[[streams]]
name = "per-customer"
inputs = ["orders"]
key = "value.customer"
aggregate = { op = "count" }
output = "counts"
`, data, filepath.Join(dir, "a.log"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startAPIWorker(t, bin, cfgPath, sock)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	k := func(args ...string) (string, string, int) {
		return kdeckProc(t, bin, append([]string{"--config", cfgPath}, args...)...)
	}
	status := func() ops.JobStatus {
		t.Helper()
		out, errOut, code := k("connect", "status", "tail", "-o", "json")
		if code != 0 {
			t.Fatalf("connect status: exit %d: %s", code, errOut)
		}
		var j ops.JobStatus
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatalf("connect status -o json: %v\n%s", err, out)
		}
		return j
	}
	waitState := func(want ops.State) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			j := status()
			if j.State == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("connector state %s, want %s", j.State, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	out, errOut, code := k("connect", "list")
	if code != 0 || !strings.Contains(out, "tail") || strings.Contains(out, "UNASSIGNED") {
		t.Fatalf("connect list attached: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "attached to the worker") || !strings.Contains(errOut, sock) {
		t.Fatalf("auto-attach not said on stderr: %q", errOut)
	}
	waitState(ops.StateRunning)
	for _, step := range []struct {
		verb string
		want ops.State
	}{{"pause", ops.StatePaused}, {"resume", ops.StateRunning}, {"stop", ops.StateStopped}, {"start", ops.StateRunning}, {"restart", ops.StateRunning}} {
		if _, errOut, code := k("connect", step.verb, "tail"); code != 0 {
			t.Fatalf("connect %s attached: exit %d: %s", step.verb, code, errOut)
		}
		waitState(step.want)
	}
	// Every line reached the topic through the worker.
	cl := c.Client(t, kgo.ConsumeTopics("lines"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	for n < 100 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("only %d of 100 lines arrived", n)
		}
		n += fs.NumRecords()
	}
	// The stream job's store, read in the worker from this process.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, errOut, code := k("streams", "query", "per-customer", "--key", "ann", "-o", "json")
		var res ops.StreamQueryResult
		if code == 0 && json.Unmarshal([]byte(out), &res) == nil && len(res.Rows) == 1 && res.Rows[0].Value == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streams query attached: exit %d\n%s\n%s", code, out, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stopped through the worker, the stream job leaves its group cleanly
	// (so the SIGKILL below leaves no member behind on Apache Kafka).
	if _, errOut, code := k("streams", "stop", "per-customer"); code != 0 {
		t.Fatalf("streams stop attached: exit %d: %s", code, errOut)
	}
	// An unknown connector is exit 2 (as every not-found) with the worker's
	// sentence; a refusal keeps exit 3 across the wire (read-only client).
	if _, errOut, code := k("connect", "status", "nope"); code != 2 || !strings.Contains(errOut, "nope") {
		t.Fatalf("status of an unknown connector: exit %d: %s", code, errOut)
	}
	if _, errOut, code := k("--read-only", "connect", "pause", "tail"); code != 3 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("pause with --read-only: exit %d: %s", code, errOut)
	}
	// The audit log holds the attached verbs with the caller's uid.
	out, errOut, code = k("audit", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("audit list: exit %d: %s", code, errOut)
	}
	var entries []ops.AuditEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("audit list -o json: %v\n%s", err, out)
	}
	uid := fmt.Sprintf("uid:%d", os.Getuid())
	pauses := 0
	for _, e := range entries {
		if e.Action == "jobs.pause" && e.Job == "tail" {
			pauses++
			if e.User != uid || e.Host != "unix" {
				t.Fatalf("audit entry of an attached pause: user %q host %q, want %q from unix", e.User, e.Host, uid)
			}
		}
	}
	if pauses != 1 {
		t.Fatalf("%d audited pauses, want 1: %+v", pauses, entries)
	}

	// SIGKILL under a followed tail: the tail ends with a clear error and
	// exit 1, without hanging.
	tail := exec.Command(bin, "--config", cfgPath, "tail", "lines", "-f", "--format", "value")
	var tailOut, tailErr syncBuffer
	tail.Stdout, tail.Stderr = &tailOut, &tailErr
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for strings.Count(tailOut.String(), "\n") < 100 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.cmd.Wait()
	done := make(chan error, 1)
	go func() { done <- tail.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(tailErr.String(), "did not answer") || strings.Contains(tailErr.String(), "goroutine") {
			t.Fatalf("tail after SIGKILL of the worker: %v\nstderr: %s", err, tailErr.String())
		}
	case <-time.After(15 * time.Second):
		tail.Process.Kill()
		t.Fatalf("tail hung after SIGKILL of the worker; stderr: %s", tailErr.String())
	}
	// An explicit --server to the dead worker: exit 1, one sentence.
	if _, errOut, code := k("--server", "unix://"+sock, "connect", "list"); code != 1 || !strings.Contains(errOut, "did not answer") {
		t.Fatalf("connect list --server to a dead worker: exit %d: %s", code, errOut)
	}
	// Without a live worker the CLI runs in-process, as before.
	if out, _, code := k("connect", "list"); code != 0 || !strings.Contains(out, "UNASSIGNED") {
		t.Fatalf("connect list without a worker: exit %d\n%s", code, out)
	}
	// Restart: the stale socket is said and removed; the CLI attaches again.
	w2 := startAPIWorker(t, bin, cfgPath, sock)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(w2.stderr.String(), "stale socket") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(w2.stderr.String(), "stale socket") {
		t.Fatalf("the restarted worker did not say it removed the stale socket:\n%s", w2.stderr)
	}
	waitState(ops.StateRunning)
	// A second worker on the same data dir is refused (exit 3).
	if _, errOut, code := k("run"); code != 3 || !strings.Contains(errOut, "already") {
		t.Fatalf("a second worker on the data dir: exit %d: %s", code, errOut)
	}
	if err := w2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := w2.cmd.Wait(); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, w2.stderr)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived a clean stop: %v", err)
	}
}

// TestTUIAttached runs the console in a pty next to a 'kdeck run' on the
// same data dir: it attaches (worker id and uptime in the header), shows
// the worker's job live with its FAILED task, and enter on that task shows
// the whole error; SIGKILL of the worker is said in the status line, and
// the console still quits on q.
func TestTUIAttached(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "kdeck.toml")
	missing := filepath.Join(dir, "no-such-dir", "app.log")
	cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
`, data, missing)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startAPIWorker(t, bin, cfgPath, filepath.Join(data, api.SocketName))
	p := startTUI(t, 160, 40, "--config", cfgPath)
	p.waitFor(t, regexp.MustCompile(`worker \S+ up \d+s`), 30*time.Second, nil)
	p.waitFor(t, regexp.MustCompile(`job "tail" is FAILED`), 30*time.Second, nil)
	p.keys(t, "4")
	p.waitFor(t, regexp.MustCompile(`tail\s+connector`), 10*time.Second, nil)
	p.keys(t, ":job tail\r")
	p.waitFor(t, regexp.MustCompile(`0\s+FAILED`), 30*time.Second, nil)
	p.keys(t, "\r")
	p.waitFor(t, regexp.MustCompile(`task 0\s+state FAILED`), 10*time.Second, nil)
	p.waitFor(t, regexp.MustCompile(regexp.QuoteMeta(filepath.Base(filepath.Dir(missing)))), 10*time.Second, nil)
	p.keys(t, "\r") // enter closes the trace too (a bare esc followed by q would read as alt+q)
	// The worker dies under the console: the next refresh says so in the
	// status line, and the console still answers.
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.cmd.Wait()
	p.waitFor(t, regexp.MustCompile(`did not answer`), 20*time.Second, nil)
	p.keys(t, "q")
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the attached console did not exit within 15s of q")
	}
}
