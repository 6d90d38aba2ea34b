package ops_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// BenchmarkAuditList measures what the console pays per poll of the audit
// screen (the newest 50 entries) with 20,000 entries in the log, after
// the first read.
//
//	go test ./ops -run XXX -bench AuditList -benchtime=200x
func BenchmarkAuditList(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, ops.AuditFileName))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	at := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for i := range 20000 {
		e := ops.AuditEntry{ID: fmt.Sprintf("20261126-000000-%06x", i), Time: at.Add(time.Duration(i) * time.Second), User: "alice", Host: "ops1",
			Command: "kdeck offsets reset billing --topic orders --to-earliest --execute", Action: ops.ActionOffsetsReset, Cluster: "prod", Group: "billing",
			Before:  []ops.OffsetValue{{Topic: "orders", Partition: 0, Offset: 1000, LeaderEpoch: 3}, {Topic: "orders", Partition: 1, Offset: 2000, LeaderEpoch: 3}},
			After:   []ops.OffsetValue{{Topic: "orders", Partition: 0, Offset: 0, LeaderEpoch: -1}, {Topic: "orders", Partition: 1, Offset: 0, LeaderEpoch: -1}},
			Outcome: "ok"}
		bs, _ := json.Marshal(e)
		w.Write(append(bs, '\n'))
	}
	w.Flush()
	f.Close()
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{"x": {Name: "x", Brokers: []string{"127.0.0.1:1"}}}, Ops: config.Ops{DataDir: dir}})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Audit(ctx, ops.AuditFilter{Limit: 50}); err != nil { // the first read parses the whole file
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		es, err := l.Audit(ctx, ops.AuditFilter{Limit: 50})
		if err != nil || len(es) != 50 {
			b.Fatalf("%d entries, %v", len(es), err)
		}
	}
}
