package streams

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestSIGKILL kills a worker process (internal/sigkillworker: tumbling 1s
// windowed sums, emitted final) repeatedly while input arrives, then lets a
// last incarnation finish. Exactly once: every window's sum is exact and
// emitted once. At least once: no window is missing and no emitted sum is
// lower than the true one (repeats may make it higher).
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := filepath.Join(t.TempDir(), "sigkillworker")
	build := exec.Command("go", "build", "-o", bin, "./internal/sigkillworker")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, g := range []Guarantee{ExactlyOnce, AtLeastOnce} {
		t.Run(string(g), func(t *testing.T) { sigkillRun(t, bin, g) })
	}
}

func sigkillRun(t *testing.T, bin string, g Guarantee) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "amounts", 2)
	c.CreateTopic(t, "sums", 1)
	dir := t.TempDir()
	base := time.UnixMilli(1_700_000_000_000)
	const keys, total = 6, 3000
	type win struct {
		key   string
		start int64
	}
	want := map[win]float64{}
	for i := 0; i < total; i++ {
		ts := base.Add(time.Duration(i) * 20 * time.Millisecond)
		k := fmt.Sprintf("acct-%d", i%keys)
		want[win{k, ts.UnixMilli() / 1000 * 1000}] += float64(i%7 + 1)
	}

	// Input arrives over ~3s while the worker is killed.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for i := 0; i < total; i += 50 {
			var recs []*kgo.Record
			for n := i; n < i+50; n++ {
				recs = append(recs, &kgo.Record{Topic: "amounts", Key: []byte(fmt.Sprintf("acct-%d", n%keys)),
					Value: []byte(strconv.Itoa(n%7 + 1)), Timestamp: base.Add(time.Duration(n) * 20 * time.Millisecond)})
			}
			ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
			err := cl.ProduceSync(ctx, recs...).FirstErr()
			cancel()
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Millisecond) // pacing the input, not waiting for a condition
		}
		// Close every window: an hour later on every key.
		var recs []*kgo.Record
		for k := 0; k < keys; k++ {
			recs = append(recs, &kgo.Record{Topic: "amounts", Key: []byte(fmt.Sprintf("acct-%d", k)), Value: []byte("0"), Timestamp: base.Add(time.Hour)})
		}
		ctx, cancel := context.WithTimeout(context.Background(), kafkatest.Timeout)
		defer cancel()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Error(err)
		}
	}()

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-brokers", c.Addr(), "-dir", dir, "-guarantee", string(g))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for i := 0; i < 6; i++ {
		cmd := start()
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond) // a random moment to kill at
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	<-produced
	// The killed incarnations made progress (their commits count), so the
	// kills landed mid-stream rather than before the first record.
	var before int64
	for _, ps := range c.Committed(t, "sigkill") {
		for _, o := range ps {
			before += o
		}
	}
	t.Logf("%s: %d of %d input records committed before the last restart", g, before, total+keys)
	if before == 0 {
		t.Errorf("the killed workers committed nothing: the test did not exercise kills mid-stream")
	}
	cmd := start()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	adm := c.Admin(t)
	emitted := map[win][]float64{}
	out := c.Client(t, kgo.ConsumeTopics("sums"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	kafkatest.WaitFor(t, 90*time.Second, "every window emitted and the input committed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := out.PollFetches(ctx)
		cancel()
		for _, r := range fs.Records() {
			start := r.Timestamp.Add(time.Millisecond).Add(-time.Second).UnixMilli()
			emitted[win{string(r.Key), start}] = append(emitted[win{string(r.Key), start}], num(r.Value))
		}
		if len(emitted) < len(want) {
			return false
		}
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err1 := adm.ListEndOffsets(ctx, "amounts")
		lag, err2 := adm.FetchOffsets(ctx, "sigkill")
		if err1 != nil || err2 != nil {
			return false
		}
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := lag.Lookup("amounts", o.Partition); !ok || c.At < o.Offset {
				done = false
			}
		})
		return done
	})
	// Read what the last commit released.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	for _, r := range out.PollFetches(ctx).Records() {
		start := r.Timestamp.Add(time.Millisecond).Add(-time.Second).UnixMilli()
		emitted[win{string(r.Key), start}] = append(emitted[win{string(r.Key), start}], num(r.Value))
	}
	cancel()
	repeats := 0
	for w, sum := range want {
		got := emitted[w]
		switch {
		case len(got) == 0:
			t.Errorf("window %s@%d was never emitted (want %g)", w.key, w.start, sum)
		case g == ExactlyOnce && (len(got) != 1 || got[0] != sum):
			t.Errorf("window %s@%d emitted %v, want exactly [%g]", w.key, w.start, got, sum)
		case g == AtLeastOnce:
			for _, v := range got {
				if v < sum {
					t.Errorf("window %s@%d emitted %g, lower than the true sum %g", w.key, w.start, v, sum)
				}
			}
			repeats += len(got) - 1
		}
	}
	if len(emitted) != len(want) {
		t.Errorf("%d windows emitted, want %d", len(emitted), len(want))
	}
	t.Logf("%s: %d windows, %d repeated emissions", g, len(want), repeats)
}
