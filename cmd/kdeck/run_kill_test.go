package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

func keys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// lineAt returns the number of the line starting at byte pos of path.
func lineAt(t *testing.T, path string, pos int64) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pos > int64(len(b)) {
		t.Fatalf("saved position %d is past the end of %s (%d bytes)", pos, path, len(b))
	}
	return strings.Count(string(b[:pos]), "\n")
}

func appendLines(t *testing.T, path, prefix string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, "%s-%d\n", prefix, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestRunSurvivesSIGKILL runs a file-source worker ('kdeck run') as a
// subprocess, kills it with SIGKILL at random points several times while
// its files grow, restarts it, and checks that the topic holds every line
// of every file, in order per file, with duplicates only where a restart
// re-read lines whose offsets were not saved yet. It reports the count.
func TestRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	dir := t.TempDir()
	files := []string{"a", "b"}
	lines := map[string]int{}
	for _, f := range files {
		appendLines(t, filepath.Join(dir, f+".log"), f, 0, 20000)
		lines[f] = 20000
	}
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
batch_lines = 500
`, filepath.Join(dir, "data"), filepath.Join(dir, "*.log"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd { return startRun(t, bin, cfgPath, "--log-format", "json").cmd }
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	store := connect.NewKafkaOffsetStore("", kgo.SeedBrokers(c.Addrs()...))
	defer store.Close()
	resume := map[string]map[int]bool{"a": {}, "b": {}}
	const kills = 6
	for i := range kills {
		cmd := start()
		// The files keep growing while the worker runs, so that kills land
		// while lines are being read, produced and saved.
		stop := time.After(time.Duration(150+rng.IntN(900)) * time.Millisecond)
	grow:
		for {
			select {
			case <-stop:
				break grow
			case <-time.After(5 * time.Millisecond):
				for _, f := range files {
					appendLines(t, filepath.Join(dir, f+".log"), f, lines[f], lines[f]+200)
					lines[f] += 200
				}
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		// Where the next run resumes: the saved offsets, as line numbers.
		offs, err := store.Load(context.Background(), "tail")
		if err != nil {
			t.Fatal(err)
		}
		saved := map[string]bool{}
		for _, o := range offs {
			p, _ := o.Partition["path"].(string)
			pos, _ := o.Offset["position"].(float64)
			f := strings.TrimSuffix(filepath.Base(p), ".log")
			resume[f][lineAt(t, p, int64(pos))] = true
			saved[f] = true
		}
		for _, f := range files {
			if !saved[f] {
				resume[f][0] = true
			}
		}
		t.Logf("kill %d done", i+1)
	}
	// A last run reads everything, then stops gracefully on SIGTERM.
	cmd := start()
	total := lines["a"] + lines["b"]
	seen := map[string]map[int]bool{"a": {}, "b": {}}
	var order []string
	cl := c.Client(t, kgo.ConsumeTopics("lines"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(seen["a"])+len(seen["b"]) < total {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d distinct lines arrived", len(seen["a"])+len(seen["b"]), total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			order = append(order, v)
			f, n, _ := strings.Cut(v, "-")
			i, _ := strconv.Atoi(n)
			seen[f][i] = true
		})
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, cmd.Stderr)
	}
	// Per file: each line is the next new one or a repeat of an earlier
	// one (a re-read after a kill); never a gap.
	// A run of repeats must start exactly where a run resumed: at a saved
	// offset. So duplicates come only from the unsaved window.
	dups := 0
	maxSeen := map[string]int{"a": -1, "b": -1}
	last := map[string]int{"a": -1, "b": -1}
	for _, v := range order {
		f, n, _ := strings.Cut(v, "-")
		i, _ := strconv.Atoi(n)
		prev := last[f]
		last[f] = i
		switch {
		case i == maxSeen[f]+1 && i == prev+1:
			maxSeen[f] = i
		case i <= maxSeen[f] || i == maxSeen[f]+1:
			if i != prev+1 && !resume[f][i] {
				t.Fatalf("file %s: a re-read starts at line %d, which is not a saved offset (saved: %v)", f, i, keys(resume[f]))
			}
			if i <= maxSeen[f] {
				dups++
			} else {
				maxSeen[f] = i
			}
		default:
			t.Fatalf("file %s: line %d arrived after line %d: lines %d-%d are missing or out of order", f, i, maxSeen[f], maxSeen[f]+1, i-1)
		}
	}
	for _, f := range files {
		if maxSeen[f] != lines[f]-1 {
			t.Fatalf("file %s: last line %d, want %d", f, maxSeen[f], lines[f]-1)
		}
	}
	t.Logf("%d kills, %d lines in 2 files, %d records in the topic: %d duplicates (re-read after a kill, from the last saved offset)", kills, total, len(order), dups)
}
