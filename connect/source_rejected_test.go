package connect_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// writeWithHugeLine writes "line 0".."line 4", a 2 MiB line (over the
// producer's 1 MiB limit), then "line 6".."line 9".
func writeWithHugeLine(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	for i := range 10 {
		if i == 5 {
			b.WriteString(strings.Repeat("x", 2<<20) + "\n")
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileSourceRecordTooLarge(t *testing.T) {
	t.Run("tolerance all: dead-lettered, offsets move past it", func(t *testing.T) {
		c := kafkatest.New(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "big.log")
		writeWithHugeLine(t, path)
		store := connect.NewFileOffsetStore(dir)
		table := map[string]any{"name": "big", "class": "file-source", "path": path, "topic": "lines",
			"errors_tolerance": "all", "dlq_topic": "lines.dlq", "offset_flush_interval": "20ms"}
		j, stop := runJob(t, c, table, store)
		defer stop()
		fi, _ := os.Stat(path)
		waitFor(t, "the offset past every line saved", func() bool { return savedPosition(t, store, "big") == fi.Size() })
		dlq := readAll(t, c, "lines.dlq", 1)
		h := map[string]string{}
		for _, x := range dlq[0].Headers {
			h[x.Key] = string(x.Value)
		}
		if h[connect.HeaderErrStage] != connect.StageKafkaProduce || h[connect.HeaderErrValueOmitted] != fmt.Sprint(2<<20) ||
			!strings.Contains(h[connect.HeaderErrMessage], "MESSAGE_TOO_LARGE") || !strings.Contains(h[connect.HeaderErrSourcePartition], "big.log") {
			t.Errorf("dead-letter headers %v", h)
		}
		counts := c.ValueCounts(t, "lines")
		for i := range 10 {
			if n := counts[fmt.Sprintf("line %d", i)]; i != 5 && n != 1 {
				t.Errorf("line %d written %d times, want once", i, n)
			}
		}
		if len(counts) != 9 {
			t.Errorf("output holds %d distinct values, want the 9 short lines", len(counts))
		}
		if m := j.Status().Tasks[0].Metrics; m.DLQ != 1 || m.Errors != 1 {
			t.Errorf("metrics %+v, want 1 error dead-lettered", m)
		}
	})
	t.Run("tolerance none: fails once, permanently", func(t *testing.T) {
		c := kafkatest.New(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "big.log")
		writeWithHugeLine(t, path)
		store := connect.NewFileOffsetStore(dir)
		table := map[string]any{"name": "big", "class": "file-source", "path": path, "topic": "lines", "offset_flush_interval": "20ms"}
		j, err := connect.NewJob(connect.Builtins(), table, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)), connect.WithOffsetStore(store))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = j.Run(ctx) // every task failed: returns
		var re *connect.RejectedRecordError
		var p interface{ Permanent() bool }
		if !errors.Is(err, connect.ErrAllTasksFailed) || !errors.As(err, &re) || !errors.Is(err, kerr.MessageTooLarge) || !errors.As(err, &p) || !p.Permanent() {
			t.Fatalf("Run = %v, want a permanent RejectedRecordError", err)
		}
		if !strings.Contains(re.Error(), "big.log") || !strings.Contains(re.Error(), `errors_tolerance = "all"`) {
			t.Errorf("error %q does not name the source and the way out", re)
		}
		if got := savedPosition(t, store, "big"); got >= int64(len("line 0\n")*5+2<<20) {
			t.Errorf("saved position %d is past the rejected line", got)
		}
	})
}
