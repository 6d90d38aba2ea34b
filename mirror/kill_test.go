package mirror

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestSIGKILLWorker kills a mirror worker subprocess with SIGKILL at random
// points, several times, while the source keeps growing, then lets a last
// worker catch up and compares source and target record by record: nothing
// may be missing; duplicates are counted and reported (at least once) or
// must be zero (exactly once, read_committed).
func TestSIGKILLWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := filepath.Join(t.TempDir(), "mirrorworker")
	build := exec.Command("go", "build", "-o", bin, "./internal/mirrorworker")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build worker: %v", err)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 6))
	for _, tc := range []struct {
		name string
		eos  bool
	}{{"at-least-once", false}, {"exactly-once", true}} {
		t.Run(tc.name, func(t *testing.T) {
			a := kafkatest.New(t, kafkatest.Name("a"))
			b := kafkatest.New(t, kafkatest.Name("b"))
			const parts = 4
			a.CreateTopic(t, "t", parts)
			args := []string{"-source", a.Addr(), "-target", b.Addr(), "-name", "ab"}
			if tc.eos {
				args = append(args, "-eos")
			}
			worker := func() *exec.Cmd {
				cmd := exec.Command(bin, args...)
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatalf("start worker: %v", err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				return cmd
			}
			total := 0
			for round := range 5 {
				produceSeq(t, a, "t", parts, total, 3000)
				total += 3000
				before := endSum(t, b, "a.t")
				cmd := worker()
				// Kill once the worker has made some progress, plus a
				// random moment: mid-batch, mid-commit or mid-transaction.
				kafkatest.WaitFor(t, 30*time.Second, "worker progress", func() bool { return endSum(t, b, "a.t") > before })
				time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Logf("round %d: killed with %d records in the target", round, endSum(t, b, "a.t"))
			}
			cmd := worker()
			kafkatest.WaitFor(t, 60*time.Second, "last worker caught up", func() bool {
				c := committed(t, a, "kdeck-mirror-ab")["t"]
				for p := range int32(parts) {
					if c[p] < int64(total) {
						return false
					}
				}
				return true
			})
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			src, dst := a.ReadToEnd(t, "t"), b.ReadToEnd(t, "a.t")
			if len(src) != total*parts {
				t.Fatalf("source has %d records, want %d", len(src), total*parts)
			}
			dups := checkSameRecords(t, src, dst)
			t.Logf("%s: %d source records, %d in the target, %d duplicates after 5 SIGKILLs", tc.name, len(src), len(dst), dups)
			if tc.eos && dups != 0 {
				t.Fatalf("exactly once: %d duplicates seen with read_committed", dups)
			}
		})
	}
}

// endSum returns the sum of a topic's end offsets, 0 when it does not exist.
func endSum(t testing.TB, c *kafkatest.Cluster, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.Client(t, kgo.MetadataMinAge(50*time.Millisecond)))
	tds, err := adm.ListTopics(ctx)
	if err != nil || !tds.Has(topic) {
		return 0
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += max(o.Offset, 0) })
	return sum
}
