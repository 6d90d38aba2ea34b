package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestRunQuietByDefault runs 'kdeck run' with a datagen connector until it
// has produced records: at the default level stderr has kdeck's lifecycle
// lines and no franz-go info lines; with --log-level debug the client's
// lines appear. Before, franz-go's info chatter filled stderr.
func TestRunQuietByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a worker; runs without -short")
	}
	dir := isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "gen", 3)
	writeConfig(t, dir, c.TOML()+fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "gen"
class = "datagen"
topic = "gen"
rate = 2000
tasks_max = 2
`, filepath.Join(dir, "data")))
	runFor := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, append([]string{"run"}, args...), strings.NewReader(""), &out, &errb) }()
		base := produced(t, c)
		kafkatest.WaitFor(t, 20*time.Second, "records from the worker", func() bool { return produced(t, c) >= base+300 })
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("run %v exited %d: %s", args, code, errb.String())
		}
		return errb.String()
	}
	quiet := runFor()
	if !strings.Contains(quiet, "kdeck worker started") || !strings.Contains(quiet, "job running") {
		t.Errorf("lifecycle lines missing at info:\n%s", quiet)
	}
	// franz-go's info lines, as the client words them.
	clientLines := []string{"initializing producer id", "metadata update", "producing to a new topic"}
	for _, w := range clientLines {
		if strings.Contains(quiet, w) {
			t.Errorf("franz-go's %q at the default level:\n%s", w, quiet)
		}
	}
	loud := runFor("--log-level", "debug")
	if !strings.Contains(loud, clientLines[0]) || !strings.Contains(loud, "level=DEBUG") {
		t.Errorf("--log-level debug does not show the client's lines (%d lines vs %d quiet)", strings.Count(loud, "\n"), strings.Count(quiet, "\n"))
	}
}

// produced sums the log end offsets of topic gen.
func produced(t *testing.T, c *kafkatest.Cluster) int64 {
	t.Helper()
	ends, err := c.Admin(t).ListEndOffsets(t.Context(), "gen")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}
