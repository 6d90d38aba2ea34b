package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// A file-source connector in a group of three workers, its files growing
// all along, while random workers are SIGKILLed at random moments and
// restarted in place, and finally one is killed for good: every line of
// every file reaches the topic (counted by an independent client: kcat on
// the embedded tier, Apache Kafka's console consumer on the real one), and
// the duplicates (lines sent again from the last saved position after a
// kill) are counted and reported.
func TestWorkerGroupFileSourceKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	read := independentReader(t, c)
	c.CreateTopic(t, "lines", 3)
	dir := t.TempDir()
	files := []string{"a", "b", "c"}
	var mu sync.Mutex
	lines := map[string]int{}
	for _, f := range files {
		appendLines(t, filepath.Join(dir, f+".log"), f, 0, 200)
		lines[f] = 200
	}
	cfgFor := func(name string) string {
		path := filepath.Join(dir, name+".toml")
		cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[worker]
group = "fk"
session_timeout = "6s"

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
tasks_max = 3
offset_flush_interval = "100ms"
poll_interval = "20ms"
batch_lines = 100
`, filepath.Join(dir, "data-"+name), filepath.Join(dir, "*.log"))
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

	gctx, gcancel := context.WithCancel(context.Background())
	growDone := make(chan struct{})
	go func() {
		defer close(growDone)
		for gctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			mu.Lock()
			for _, f := range files {
				appendLines(t, filepath.Join(dir, f+".log"), f, lines[f], lines[f]+10)
				lines[f] += 10
			}
			mu.Unlock()
		}
	}()
	defer func() { gcancel(); <-growDone }()

	gone := killLoop(t, bin, names, workers, cfgFor, 300*time.Millisecond, 1500*time.Millisecond)
	t.Logf("%s SIGKILLed for good: its tasks move after the session timeout", gone)
	time.Sleep(500 * time.Millisecond)
	gcancel()
	<-growDone
	mu.Lock()
	total := 0
	for _, f := range files {
		total += lines[f]
	}
	mu.Unlock()

	adm := c.Admin(t)
	kafkatest.WaitFor(t, 90*time.Second, fmt.Sprintf("the %d lines in the topic", total), func() bool {
		ends, err := adm.ListEndOffsets(context.Background(), "lines")
		if err != nil {
			return false
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n >= int64(total)
	})
	values, tool := read("lines", false)
	seen := map[string]int{}
	for _, v := range values {
		seen[v]++
	}
	dups := len(values) - len(seen)
	for _, f := range files {
		for i := range lines[f] {
			if seen[f+"-"+strconv.Itoa(i)] == 0 {
				t.Fatalf("line %s-%d is missing from the topic (%s read %d records): lost in a failover", f, i, tool, len(values))
			}
		}
	}
	if len(seen) != total {
		var odd []string
		for v := range seen {
			if i := strings.LastIndexByte(v, '-'); i < 0 || lines[v[:i]] == 0 {
				odd = append(odd, v)
			}
		}
		t.Fatalf("%s read %d distinct values, want the %d lines written; unknown: %v", tool, len(seen), total, odd)
	}
	t.Logf("%d lines written, %d records read by %s: 0 lost, %d duplicates (sent again from the last saved position after a kill)", total, len(values), tool, dups)
}
