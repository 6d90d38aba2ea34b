package connect

import (
	"bufio"
	"context"
	"fmt"
	"os"
)

// Keys of file-sink.
const fieldPath = "path"

func fileSinkPlugin() *Plugin {
	return &Plugin{
		Name:           "file-sink",
		Version:        "1.0",
		ValueConverter: ConverterString,
		KeyConverter:   ConverterString,
		Spec: NewSpec("Append each record's value as one line to a file, fsynced on every flush (Kafka Connect's FileStreamSink). One task.",
			NewField(fieldPath, TypeString).Description("File to append to; created when missing."),
			NewField(FieldTopics, TypeStrings).Description("Topics to consume."),
		),
		NewSink: func(p *Parsed) (SinkConnector, error) {
			if p.String(fieldPath) == "" {
				return nil, &ConfigError{Fields: []FieldError{{Path: fieldPath, Msg: "must not be empty"}}}
			}
			if len(p.Strings(FieldTopics)) == 0 {
				return nil, &ConfigError{Fields: []FieldError{{Path: FieldTopics, Msg: "name at least one topic"}}}
			}
			return &fileSink{p: p}, nil
		},
	}
}

type fileSink struct{ p *Parsed }

// Tasks returns one task: lines from several writers would interleave.
func (s *fileSink) Tasks(max int) ([]Conf, error) { return []Conf{confOf(s.p)}, nil }

func (s *fileSink) NewTask(c Conf) (SinkTask, error) {
	return &fileSinkTask{path: ParsedConf(c).String(fieldPath)}, nil
}

type fileSinkTask struct {
	path string
	f    *os.File
	w    *bufio.Writer
}

func (t *fileSinkTask) Start(ctx context.Context, tc TaskContext) error {
	f, err := os.OpenFile(t.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("file-sink cannot open %s: %w", t.path, err)
	}
	t.f, t.w = f, bufio.NewWriterSize(f, 1<<20)
	return nil
}

func (t *fileSinkTask) Put(ctx context.Context, recs []*Record) error {
	for _, r := range recs {
		b, err := toBytes(r.Value)
		if err != nil {
			return err
		}
		t.w.Write(b)
		if err := t.w.WriteByte('\n'); err != nil {
			return fmt.Errorf("file-sink writing %s: %w", t.path, err)
		}
	}
	return nil
}

func (t *fileSinkTask) Flush(ctx context.Context) error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("file-sink writing %s: %w", t.path, err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("file-sink syncing %s: %w", t.path, err)
	}
	return nil
}

func (t *fileSinkTask) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.w.Flush()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}
