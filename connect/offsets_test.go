package connect_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestOffsetsSavedOnlyAfterAcks proves that a source offset is never saved
// past a record Kafka has not acknowledged: produce fails, the task fails,
// the saved position stays at the last acknowledged line, and a restart
// resumes from there without losing a line.
func TestOffsetsSavedOnlyAfterAcks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		err      *kerr.Error
		wantFail bool
	}{
		{"retriable errors are retried by the producer", 3, kerr.NotEnoughReplicas, false},
		{"non-retriable errors fail the task", -1, kerr.InvalidRecord, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.New(t)
			c.CreateTopic(t, "lines", 1)
			dir := t.TempDir()
			path := filepath.Join(dir, "in.log")
			writeLines(t, path, 0, 100)
			fi, _ := os.Stat(path)
			first := fi.Size()
			store := connect.NewFileOffsetStore(filepath.Join(dir, "offsets"))
			table := map[string]any{"name": "acks", "class": "file-source", "path": path, "topic": "lines",
				"offset_flush_interval": "20ms", "poll_interval": "20ms", "errors_retry_timeout": "10s"}
			j, stop := runJob(t, c, table, store)
			readAll(t, c, "lines", 100)
			waitFor(t, "the first 100 lines' offset saved", func() bool { return savedPosition(t, store, "acks") == first })

			remove := c.FailRequests(kmsg.Produce, tc.failures, tc.err)
			writeLines(t, path, 100, 200)
			if tc.wantFail {
				waitFor(t, "the task to fail on the produce error", func() bool {
					st := j.Status()
					return st.Tasks[0].State == jobstate.Failed
				})
				if got := savedPosition(t, store, "acks"); got != first {
					t.Fatalf("saved position %d while lines after %d were never acknowledged", got, first)
				}
				if err := stop(); !errors.Is(err, connect.ErrAllTasksFailed) {
					t.Fatalf("Run = %v, want ErrAllTasksFailed", err)
				}
				if got := savedPosition(t, store, "acks"); got != first {
					t.Fatalf("saved position %d after the failed task stopped, want %d", got, first)
				}
				remove()
				_, stop2 := runJob(t, c, table, store)
				defer stop2()
			}
			defer remove()
			if !tc.wantFail {
				waitFor(t, "200 lines", func() bool {
					st := j.Status()
					return st.Tasks[0].Metrics.RecordsOut == 200
				})
			}
			recs := readAll(t, c, "lines", 200)
			for i, r := range recs[:200] {
				if want := fmt.Sprintf("line %d", i); string(r.Value) != want {
					t.Fatalf("record %d = %q, want %q: a line was lost or repeated", i, r.Value, want)
				}
			}
			fi, _ = os.Stat(path)
			waitFor(t, "the whole file's offset saved", func() bool { return savedPosition(t, store, "acks") == fi.Size() })
		})
	}
}

// TestDLQNotWritableFailsTask: with errors_tolerance=all and a dead-letter
// topic that cannot be written, the task fails with that reason and the
// poison record's offset is never committed.
func TestDLQNotWritableFailsTask(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "src", 1)
	c.CreateTopic(t, "dead", 1)
	c.ProduceN(t, "src", 1) // kafkatest values are not JSON
	remove := c.FailRequests(kmsg.Produce, -1, kerr.TopicAuthorizationFailed)
	defer remove()
	out := filepath.Join(t.TempDir(), "out")
	j, stop := runJob(t, c, map[string]any{"name": "dlq-down", "class": "file-sink", "path": out, "topics": []any{"src"},
		"value_converter": "json", "errors_tolerance": "all", "dlq_topic": "dead", "errors_retry_timeout": "1s"}, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	waitFor(t, "the task to fail", func() bool {
		st := j.Status()
		return len(st.Tasks) == 1 && st.Tasks[0].State == jobstate.Failed
	})
	if tr := j.Status().Tasks[0].Trace; !containsAll(tr, "dead-letter topic dead is not writable") {
		t.Fatalf("trace %q", tr)
	}
	if committed := c.Committed(t, "connect-dlq-down"); len(committed["src"]) != 0 {
		t.Fatalf("offsets committed although the DLQ write failed: %v", committed)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !contains(s, x) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
