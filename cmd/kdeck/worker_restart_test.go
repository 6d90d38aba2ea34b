package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestStreamRestartInPlace SIGKILLs a 'kdeck run' hosting a stream job and
// restarts it at once with the same data dir: the job is a static member of
// its group (instance id from the job name and the persisted worker id), so
// it takes its partitions back without waiting for the dead member's session
// to expire. It asserts the job processes again before the session timeout
// and logs the time (BENCHMARKS.md records it).
func TestStreamRestartInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 2)
	c.CreateTopic(t, "out", 2)
	dir := t.TempDir()
	const session = 10 * time.Second
	cfgPath := filepath.Join(dir, "kdeck.toml")
	cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[worker]
session_timeout = %q

[[streams]]
name = "copy"
inputs = ["in"]
value = "value.n"
output = "out"
`, filepath.Join(dir, "data"), session.String())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfgPath, "run", "--log-format", "json")
		cmd.Stderr = &strings.Builder{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// A producer writes n = 0, 1, 2, ... every 10ms until the test ends.
	prod := c.Client(t)
	var produced atomic.Int64
	prodDone := make(chan struct{})
	pctx, pcancel := context.WithCancel(ctx)
	go func() {
		defer close(prodDone)
		for n := int64(0); pctx.Err() == nil; n++ {
			r := &kgo.Record{Topic: "in", Key: []byte(strconv.FormatInt(n%7, 10)), Value: fmt.Appendf(nil, `{"n":%d}`, n)}
			if err := prod.ProduceSync(pctx, r).FirstErr(); err != nil {
				return
			}
			produced.Store(n)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	defer func() { pcancel(); <-prodDone }()

	out := c.Client(t, kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	// awaitBeyond polls out until a record carries an n above floor and
	// returns when it arrived.
	maxOut := int64(-1)
	awaitBeyond := func(floor int64, what string) time.Time {
		for {
			fs := out.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: no output beyond n=%d", what, floor)
			}
			at := time.Now()
			beyond := false
			fs.EachRecord(func(r *kgo.Record) {
				n, err := strconv.ParseInt(strings.TrimSpace(string(r.Value)), 10, 64)
				if err != nil {
					t.Fatalf("output %q is not a number", r.Value)
				}
				maxOut = max(maxOut, n)
				if n > floor {
					beyond = true
				}
			})
			if beyond {
				return at
			}
		}
	}

	cmd := start()
	awaitBeyond(-1, "first start")
	// Let it run a moment, then kill it mid-stream and restart at once.
	time.Sleep(time.Second)
	awaitBeyond(maxOut, "before the kill")
	floor := produced.Load() // everything up to here may have been processed before the kill
	killedAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cmd = start()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("worker exit after SIGTERM: %v\n%s", err, cmd.Stderr)
		}
	}()
	// Processing again: an output for an input produced after the kill.
	back := awaitBeyond(max(floor, maxOut), "after restart").Sub(killedAt)
	t.Logf("stream job processing again %v after SIGKILL and an immediate restart (session timeout %v)", back.Round(time.Millisecond), session)
	if back >= session {
		t.Fatalf("the restarted job waited %v, not less than the session timeout %v: it did not rejoin as the same static member\n%s", back, session, cmd.Stderr)
	}
}
