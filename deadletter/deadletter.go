// Package deadletter names the headers of dead-letter records as Kafka
// Connect writes them, so that every kdeck runtime (connectors, stream jobs)
// writes the same headers and any tool reading Connect's dead-letter topics
// reads kdeck's.
//
//	hs := deadletter.Location(r.Topic, r.Partition, r.Offset)
//	hs = append(hs, deadletter.Exception(err)...)
//	dlq := &kgo.Record{Topic: "orders.dlq", Key: r.Key, Value: r.Value, Headers: append(r.Headers, hs...)}
package deadletter

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names, as Kafka Connect's DeadLetterQueueReporter writes them.
const (
	HeaderTopic          = "__connect.errors.topic"
	HeaderPartition      = "__connect.errors.partition"
	HeaderOffset         = "__connect.errors.offset"
	HeaderConnector      = "__connect.errors.connector.name"
	HeaderTaskID         = "__connect.errors.task.id"
	HeaderStage          = "__connect.errors.stage"
	HeaderClass          = "__connect.errors.class.name"
	HeaderExceptionClass = "__connect.errors.exception.class.name"
	HeaderMessage        = "__connect.errors.exception.message"
	HeaderStacktrace     = "__connect.errors.exception.stacktrace"
)

// Location returns the headers naming where the failed record was read:
// its topic, partition and offset (partition and offset in decimal; -1 when
// the record was never written, as for a rejected source record).
func Location(topic string, partition int32, offset int64) []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: HeaderTopic, Value: []byte(topic)},
		{Key: HeaderPartition, Value: []byte(strconv.Itoa(int(partition)))},
		{Key: HeaderOffset, Value: []byte(strconv.FormatInt(offset, 10))},
	}
}

// Exception returns the headers describing err: the Go type of the innermost
// error of its chain (Connect's exception class), its message, and its chain
// rendered as a trace (Connect's stack trace).
func Exception(err error) []kgo.RecordHeader {
	inner := err
	for u := errors.Unwrap(inner); u != nil; u = errors.Unwrap(u) {
		inner = u
	}
	return []kgo.RecordHeader{
		{Key: HeaderExceptionClass, Value: []byte(fmt.Sprintf("%T", inner))},
		{Key: HeaderMessage, Value: []byte(err.Error())},
		{Key: HeaderStacktrace, Value: []byte(Trace(err))},
	}
}

// Trace renders an error and its chain, one "caused by" line per wrapped
// error: the closest Go has to Connect's stack trace.
func Trace(err error) string {
	s := err.Error()
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		s += fmt.Sprintf("\n  caused by (%T): %v", u, u)
	}
	return s
}
