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

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestRestartInPlace SIGKILLs a 'kdeck run' hosting one job and restarts it
// at once with the same data dir, for every runtime, stand-alone and in a
// worker group: a stream job (group APP), a sink connector (group
// connect-NAME), a source connector and a mirror flow (no consumer group of
// their own), and in a worker group the membership of _kdeck-worker-GROUP
// besides. Each member is static (instance id from the job and the
// persisted worker id), so the restarted worker takes its work back without
// waiting for the dead member's session to expire. The test asserts the job
// processes again before the session timeout and logs the time
// (BENCHMARKS.md records it). Without static membership the stream job
// waited the whole session timeout (10.07s here).
func TestRestartInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	const session = 10 * time.Second
	type runtime struct {
		name string
		// job returns the job's TOML; dir is the test's directory. A
		// mirror flows from the default cluster to cluster "b".
		job    func(dir string) string
		mirror bool
		// feed writes input number n; seen returns the highest number
		// the job has output so far (-1 for none); b is nil but for a
		// mirror.
		feed func(t *testing.T, c *kafkatest.Cluster, dir string) func(n int64) error
		seen func(t *testing.T, c, b *kafkatest.Cluster, dir string) func() int64
	}
	fileFeed := func(t *testing.T, _ *kafkatest.Cluster, dir string) func(int64) error {
		return func(n int64) error {
			f, err := os.OpenFile(filepath.Join(dir, "in.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = fmt.Fprintf(f, "%d\n", n)
			return err
		}
	}
	var runtimes []runtime
	for _, rt := range []runtime{
		{
			name: "stream",
			job: func(string) string {
				return "[[streams]]\nname = \"copy\"\ninputs = [\"in\"]\nvalue = \"value.n\"\noutput = \"out\"\n"
			},
			feed: produceN,
			seen: func(t *testing.T, c, _ *kafkatest.Cluster, _ string) func() int64 { return consumeN(t, c, "out") },
		},
		{
			name: "sink connector",
			job: func(dir string) string {
				return fmt.Sprintf("[[connectors]]\nname = \"sink\"\nclass = \"file-sink\"\ntopics = [\"in\"]\npath = %q\n", filepath.Join(dir, "sink.out"))
			},
			feed: produceN,
			seen: func(_ *testing.T, _, _ *kafkatest.Cluster, dir string) func() int64 {
				return func() int64 { return lastN(filepath.Join(dir, "sink.out")) }
			},
		},
		{
			name: "source connector",
			job: func(dir string) string {
				return fmt.Sprintf("[[connectors]]\nname = \"tail\"\nclass = \"file-source\"\npath = %q\ntopic = \"out\"\npoll_interval = \"20ms\"\noffset_flush_interval = \"100ms\"\n",
					filepath.Join(dir, "in.log"))
			},
			feed: fileFeed,
			seen: func(t *testing.T, c, _ *kafkatest.Cluster, _ string) func() int64 { return consumeN(t, c, "out") },
		},
		{
			name:   "mirror",
			mirror: true,
			job: func(string) string {
				return fmt.Sprintf("[[mirrors]]\nname = \"ab\"\nsource = %q\ntarget = \"b\"\ntopics = [\"in\"]\ncommit_interval = \"100ms\"\n", config.DefaultClusterName)
			},
			feed: produceN,
			seen: func(t *testing.T, _, b *kafkatest.Cluster, _ string) func() int64 {
				return consumeN(t, b, config.DefaultClusterName+".in")
			},
		},
	} {
		grouped := rt
		grouped.name += " in a worker group"
		job := rt.job
		grouped.job = func(dir string) string {
			return fmt.Sprintf("[worker]\ngroup = \"g\"\nsession_timeout = %q\n\n", session.String()) + job(dir)
		}
		runtimes = append(runtimes, rt, grouped)
	}
	for _, rt := range runtimes {
		t.Run(rt.name, func(t *testing.T) {
			c := kafkatest.New(t)
			var b *kafkatest.Cluster
			if rt.mirror {
				b = kafkatest.New(t, kafkatest.Name("b"))
			}
			c.CreateTopic(t, "in", 2)
			c.CreateTopic(t, "out", 2)
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "kdeck.toml")
			cfg := fmt.Sprintf("default_cluster = %q\n\n", config.DefaultClusterName) + c.TOML()
			if b != nil {
				cfg += "\n" + b.TOML()
			}
			cfg += fmt.Sprintf("\n[ops]\ndata_dir = %q\n\n", filepath.Join(dir, "data"))
			job := rt.job(dir)
			if !strings.Contains(job, "[worker]") {
				cfg += fmt.Sprintf("[worker]\nsession_timeout = %q\n\n", session.String())
			}
			if err := os.WriteFile(cfgPath, []byte(cfg+job), 0o644); err != nil {
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

			// The input gets n = 0, 1, 2, ... every 10ms until the end.
			feed := rt.feed(t, c, dir)
			var fed atomic.Int64
			fed.Store(-1)
			feedDone := make(chan struct{})
			fctx, fcancel := context.WithCancel(ctx)
			go func() {
				defer close(feedDone)
				for n := int64(0); fctx.Err() == nil; n++ {
					if feed(n) != nil {
						return
					}
					fed.Store(n)
					time.Sleep(10 * time.Millisecond)
				}
			}()
			defer func() { fcancel(); <-feedDone }()
			seen := rt.seen(t, c, b, dir)
			// awaitBeyond returns when the job has output a number above floor.
			awaitBeyond := func(floor int64, what string) time.Time {
				for seen() <= floor {
					if ctx.Err() != nil {
						t.Fatalf("%s: no output beyond n=%d", what, floor)
					}
					time.Sleep(5 * time.Millisecond)
				}
				return time.Now()
			}

			cmd := start()
			awaitBeyond(-1, "first start")
			time.Sleep(time.Second)
			awaitBeyond(fed.Load(), "before the kill")
			killedAt := time.Now()
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			// Numbers fed from here on reach only the new process: output
			// beyond floor means it processes.
			floor := fed.Load()
			cmd = start()
			defer func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				if err := cmd.Wait(); err != nil {
					t.Errorf("worker exit after SIGTERM: %v\n%s", err, cmd.Stderr)
				}
			}()
			back := awaitBeyond(floor, "after restart").Sub(killedAt)
			t.Logf("%s processing again %v after SIGKILL and an immediate restart (session timeout %v)", rt.name, back.Round(time.Millisecond), session)
			if back >= session {
				t.Fatalf("the restarted %s waited %v, not less than the session timeout %v: it did not rejoin as the same static member\n%s", rt.name, back, session, cmd.Stderr)
			}
		})
	}
}

// produceN feeds {"n":N} records to topic in.
func produceN(t *testing.T, c *kafkatest.Cluster, _ string) func(int64) error {
	cl := c.Client(t)
	return func(n int64) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := &kgo.Record{Topic: "in", Key: []byte(strconv.FormatInt(n%7, 10)), Value: fmt.Appendf(nil, `{"n":%d}`, n)}
		return cl.ProduceSync(ctx, r).FirstErr()
	}
}

// consumeN follows topic on c, whose values are numbers or {"n":N}, and
// returns the highest seen.
func consumeN(t *testing.T, c *kafkatest.Cluster, topic string) func() int64 {
	cl := c.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	var top atomic.Int64
	top.Store(-1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				v := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(string(r.Value)), `{"n":`), "}")
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > top.Load() {
					top.Store(n)
				}
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return top.Load
}

// lastN returns the highest n of the {"n":N} lines in path (-1 for none).
func lastN(path string) int64 {
	b, _ := os.ReadFile(path)
	top := int64(-1)
	for _, l := range strings.Split(string(b), "\n") {
		var n int64
		if _, err := fmt.Sscanf(strings.TrimSpace(l), `{"n":%d}`, &n); err == nil && n > top {
			top = n
		}
	}
	return top
}
