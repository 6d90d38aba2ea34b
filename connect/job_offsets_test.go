package connect_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestOffsetsAccessor reads, alters and resets a stopped connector's
// offsets without building its job: a source's in its offset store, a
// sink's in its group; what the accessor writes, a Job over the same table
// reads.
func TestOffsetsAccessor(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 2)
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name  string
		table map[string]any
		store connect.OffsetStore
		offs  []connect.SourceOffset
	}{
		{"source", map[string]any{"name": "src", "class": "file-source", "path": filepath.Join(dir, "in.log"), "topic": "in"},
			connect.NewFileOffsetStore(t.TempDir()),
			[]connect.SourceOffset{{Partition: map[string]any{"path": "a.log"}, Offset: map[string]any{"position": float64(42)}}}},
		{"sink", map[string]any{"name": "snk", "class": "file-sink", "path": filepath.Join(dir, "out"), "topics": []any{"in"}},
			nil,
			[]connect.SourceOffset{
				{Partition: map[string]any{connect.OffsetKeyTopic: "in", connect.OffsetKeyPartition: int64(0)}, Offset: map[string]any{connect.OffsetKeyOffset: int64(7)}},
				{Partition: map[string]any{connect.OffsetKeyTopic: "in", connect.OffsetKeyPartition: int64(1)}, Offset: map[string]any{connect.OffsetKeyOffset: int64(9)}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []connect.Opt{connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...))}
			if tt.store != nil {
				opts = append(opts, connect.WithOffsetStore(tt.store))
			}
			o, err := connect.NewOffsets(connect.Builtins(), tt.table, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if got, err := o.Read(ctx); tt.store != nil && (err != nil || len(got) != 0) {
				t.Fatalf("fresh source: %v, %v; want no offsets", got, err) // a sink's group does not exist yet: an error
			}
			if err := o.Alter(ctx, tt.offs); err != nil {
				t.Fatal(err)
			}
			got, err := o.Read(ctx)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.offs) {
				t.Fatalf("after Alter: %v, %v; want %v", got, err, tt.offs)
			}
			j, err := connect.NewJob(connect.Builtins(), tt.table, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := j.Offsets(ctx); err != nil || fmt.Sprint(got) != fmt.Sprint(tt.offs) {
				t.Fatalf("the job reads %v, %v; want %v", got, err, tt.offs)
			}
			if err := o.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := o.Read(ctx); err != nil || len(got) != 0 {
				t.Fatalf("after Reset: %v, %v; want none", got, err)
			}
		})
	}
	t.Run("unknown class", func(t *testing.T) {
		_, err := connect.NewOffsets(connect.Builtins(), map[string]any{"name": "x", "class": "file-sorce"}, connect.WithClientOpts(kgo.SeedBrokers(c.Addrs()...)))
		var ce *connect.ConfigError
		if !errors.As(err, &ce) || len(ce.Fields) != 1 || ce.Fields[0].Path != connect.FieldClass {
			t.Fatalf("err = %v, want a ConfigError on %s", err, connect.FieldClass)
		}
	})
}
