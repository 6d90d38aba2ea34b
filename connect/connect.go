// Package connect is kdeck's connector runtime, Kafka Connect's job embedded:
// a connector validates its configuration and splits the work into at most
// tasks_max task configurations (connector = splitter, task = executor);
// source tasks return records carrying a source partition and a source
// offset, which the runtime saves only after Kafka acknowledged every record
// up to it; sink tasks receive batches from the consumer group connect-NAME
// and the runtime commits only after the sink made a batch durable.
// Converters (json, string, bytes), single message transforms and a
// dead-letter topic with Kafka Connect's __connect.errors.* headers complete
// it.
//
//	reg := connect.Builtins()                   // file-source, file-sink, datagen, postgres-cdc, postgres-sink
//	job, err := connect.NewJob(reg, table,      // one [[connectors]] table
//		connect.WithClientOpts(kgo.SeedBrokers("127.0.0.1:9092")),
//		connect.WithOffsetStore(connect.NewFileOffsetStore(dir)),
//	)
//	if err != nil {
//		return err // *ConfigError (a spec.Error): every bad field, by path
//	}
//	err = job.Run(ctx) // until ctx is cancelled; then flushes and saves offsets
//
// A Go program adds its own connector by registering a Plugin in a Registry
// (see Registry.Register and the README).
package connect

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record as connectors and transforms see it. Key and Value
// hold data: nil, string, []byte, RawJSON, bool, json.Number, float64,
// int64, []any or map[string]any. Converters turn data into bytes (source)
// and bytes into data (sink).
type Record struct {
	Topic string
	// Partition is the Kafka partition; -1 lets the producer's partitioner
	// choose (source records).
	Partition int32
	// Offset is the Kafka offset of a sink record; -1 for source records.
	Offset    int64
	Key       any
	Value     any
	Headers   []Header
	Timestamp time.Time

	// SourcePartition and SourceOffset locate a source record in its
	// source, for example {"path": "/var/log/a.log"} and {"position":
	// 1024} (the position after the record). Sink records have none. A
	// task may set SourceOffset only on the last record of a poll batch
	// for each source partition (and leave it nil on the others): the
	// runtime saves offsets per batch.
	SourcePartition map[string]any
	SourceOffset    map[string]any
}

// RawJSON is a value that is already JSON text; the json converter writes
// it as is, and transforms that need fields decode it.
type RawJSON []byte

// Conf is one task configuration: the connector's parsed configuration,
// possibly narrowed (a file-source task gets its share of the files).
type Conf map[string]any

// SourceConnector splits a source's work into task configurations and
// builds its tasks.
type SourceConnector interface {
	// Tasks returns at most max task configurations (at least one).
	Tasks(max int) ([]Conf, error)
	// NewTask builds the task for one configuration returned by Tasks.
	NewTask(c Conf) (SourceTask, error)
}

// SinkConnector splits a sink's work into task configurations and builds
// its tasks. Sink tasks share the topics' partitions through the consumer
// group connect-NAME.
type SinkConnector interface {
	Tasks(max int) ([]Conf, error)
	NewTask(c Conf) (SinkTask, error)
}

// TaskContext is what the runtime hands a task when it starts.
type TaskContext interface {
	// Offset returns the last saved source offset of a source partition,
	// or nil when none was saved. Only source tasks use it.
	Offset(partition map[string]any) map[string]any
	// TaskID is the task's index, 0 to tasks_max-1.
	TaskID() int
	// Name is the connector's name.
	Name() string
}

// SourceTask reads records from a source. The runtime calls Start once,
// then Poll from one goroutine until ctx ends, then Close.
type SourceTask interface {
	Start(ctx context.Context, tc TaskContext) error
	// Poll blocks until it has records, ctx is done (return nil, nil) or
	// an error. ErrEndOfInput ends the task gracefully (datagen with a
	// count); errors wrapped with Retriable are retried with backoff.
	Poll(ctx context.Context) ([]*Record, error)
	// Close releases resources; it is called once, after the last Poll.
	Close() error
}

// SourceCommitter is implemented by a source task that acknowledges
// progress to its source, as Kafka Connect's SourceTask.commit (postgres-cdc
// advances its replication slot). The runtime calls Committed with the
// offsets it has just saved, every one of them acknowledged by Kafka; it
// calls it from the goroutine that calls Poll (never concurrently with
// Poll), and a last time after the last Poll, before Close.
type SourceCommitter interface {
	Committed(offsets []SourceOffset)
}

// TaskDetailer is implemented by a task that reports facts of its own in
// TaskStatus.Detail (postgres-cdc: its slot's confirmed LSN and retained
// WAL). Detail must be safe to call concurrently with the task's methods.
type TaskDetailer interface {
	Detail() map[string]string
}

// SinkTask writes records to a sink. The runtime calls Start once, then
// Put and Flush from one goroutine, then Close.
type SinkTask interface {
	Start(ctx context.Context, tc TaskContext) error
	// Put hands over a batch; the task may buffer it.
	Put(ctx context.Context, records []*Record) error
	// Flush makes everything Put so far durable; the runtime commits the
	// consumer offsets only after it returns nil.
	Flush(ctx context.Context) error
	Close() error
}

// ErrEndOfInput ends a source task gracefully: it has no more records.
var ErrEndOfInput = errors.New("end of input")

// ErrRetriable marks errors worth retrying; see Retriable.
var ErrRetriable = errors.New("retriable")

// Retriable marks err as retriable: the runtime retries the call with
// backoff for up to errors_retry_timeout before failing the task.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return retriable{err}
}

type retriable struct{ err error }

func (r retriable) Error() string        { return r.err.Error() }
func (r retriable) Unwrap() error        { return r.err }
func (r retriable) Is(target error) bool { return target == ErrRetriable }

// RecordError is returned by SinkTask.Put to name the record (by its index
// in the batch) that cannot be written; with errors_tolerance = "all" the
// runtime sends it to the dead-letter topic and puts the rest again.
type RecordError struct {
	Index int
	Err   error
}

// Error implements error.
func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }

// Unwrap returns the record's error.
func (e *RecordError) Unwrap() error { return e.Err }
