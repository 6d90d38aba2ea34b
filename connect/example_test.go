package connect_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/kdeck/kdeck/connect"
)

// memorySink is a sink connector that keeps records in memory: the shape
// of any custom sink (a database, an HTTP API).
type memorySink struct {
	mu   sync.Mutex
	got  []string
	fail func(v string) error // poison check, for tests
}

func (s *memorySink) plugin() *connect.Plugin {
	return &connect.Plugin{
		Name:           "memory-sink",
		Version:        "1.0",
		ValueConverter: connect.ConverterString,
		Spec: connect.NewSpec("Keep record values in memory.",
			connect.NewField(connect.FieldTopics, connect.TypeStrings).Description("Topics to consume.")),
		NewSink: func(p *connect.Parsed) (connect.SinkConnector, error) { return s, nil },
	}
}

// Tasks returns max identical task configurations: the topics' partitions
// are shared among the tasks by the consumer group connect-NAME.
func (s *memorySink) Tasks(max int) ([]connect.Conf, error) {
	out := make([]connect.Conf, max)
	for i := range out {
		out[i] = connect.Conf{}
	}
	return out, nil
}

func (s *memorySink) NewTask(connect.Conf) (connect.SinkTask, error) { return &memoryTask{s: s}, nil }

type memoryTask struct {
	s       *memorySink
	pending []string
}

func (t *memoryTask) Start(context.Context, connect.TaskContext) error { return nil }

func (t *memoryTask) Put(_ context.Context, recs []*connect.Record) error {
	for i, r := range recs {
		v, _ := r.Value.(string)
		if t.s.fail != nil {
			if err := t.s.fail(v); err != nil {
				return &connect.RecordError{Index: i, Err: err}
			}
		}
		t.pending = append(t.pending, v)
	}
	return nil
}

// Flush makes the pending records durable; the runtime commits the group's
// offsets only after it returns nil.
func (t *memoryTask) Flush(context.Context) error {
	t.s.mu.Lock()
	t.s.got = append(t.s.got, t.pending...)
	t.s.mu.Unlock()
	t.pending = nil
	return nil
}

func (t *memoryTask) Close() error { return nil }

func (s *memorySink) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// A Go program adds its own connector class to a registry and builds jobs
// from it; ops.WithConnectRegistry(reg) makes kdeck's worker host it.
func ExampleRegistry_Register() {
	reg := connect.Builtins() // or connect.NewRegistry() for only your own
	sink := &memorySink{}
	if err := reg.Register(sink.plugin()); err != nil {
		panic(err)
	}
	err := connect.Validate(reg, map[string]any{"name": "mem", "class": "memory-sink", "topics": []any{"orders"}, "tasks_max": int64(2)})
	fmt.Println(reg.PluginNames(), err)
	// Output: [datagen file-sink file-source memory-sink postgres-cdc postgres-sink] <nil>
}
