package connect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Stages of a failure, as Kafka Connect names them in the
// __connect.errors.stage header.
const (
	StageKeyConverter   = "KEY_CONVERTER"
	StageValueConverter = "VALUE_CONVERTER"
	StageTransformation = "TRANSFORMATION"
	StageTaskPut        = "TASK_PUT"
	StageTaskPoll       = "TASK_POLL"
)

// Headers of dead-letter records, as Kafka Connect writes them, plus two
// kdeck adds for source records.
const (
	HeaderErrTopic          = "__connect.errors.topic"
	HeaderErrPartition      = "__connect.errors.partition"
	HeaderErrOffset         = "__connect.errors.offset"
	HeaderErrConnector      = "__connect.errors.connector.name"
	HeaderErrTaskID         = "__connect.errors.task.id"
	HeaderErrStage          = "__connect.errors.stage"
	HeaderErrClass          = "__connect.errors.class.name"
	HeaderErrExceptionClass = "__connect.errors.exception.class.name"
	HeaderErrMessage        = "__connect.errors.exception.message"
	HeaderErrStacktrace     = "__connect.errors.exception.stacktrace"
	// HeaderErrSourcePartition and HeaderErrSourceOffset locate a rejected
	// source record in its source (JSON); kdeck only.
	HeaderErrSourcePartition = "__connect.errors.source.partition"
	HeaderErrSourceOffset    = "__connect.errors.source.offset"
)

func errHeaders(j *Job, taskID int, topic string, partition int32, offset int64, stage, class string, err error) []kgo.RecordHeader {
	inner := err
	for u := errors.Unwrap(inner); u != nil; u = errors.Unwrap(u) {
		inner = u
	}
	if class == "" {
		class = j.plugin.Name
	}
	return []kgo.RecordHeader{
		{Key: HeaderErrTopic, Value: []byte(topic)},
		{Key: HeaderErrPartition, Value: []byte(strconv.Itoa(int(partition)))},
		{Key: HeaderErrOffset, Value: []byte(strconv.FormatInt(offset, 10))},
		{Key: HeaderErrConnector, Value: []byte(j.name)},
		{Key: HeaderErrTaskID, Value: []byte(strconv.Itoa(taskID))},
		{Key: HeaderErrStage, Value: []byte(stage)},
		{Key: HeaderErrClass, Value: []byte(class)},
		{Key: HeaderErrExceptionClass, Value: []byte(fmt.Sprintf("%T", inner))},
		{Key: HeaderErrMessage, Value: []byte(err.Error())},
		{Key: HeaderErrStacktrace, Value: []byte(traceOf(err))},
	}
}

// sinkDLQRecord is the consumed record as it was, with the error headers.
func sinkDLQRecord(j *Job, taskID int, r *kgo.Record, stage, class string, err error) *kgo.Record {
	hs := append(append([]kgo.RecordHeader(nil), r.Headers...), errHeaders(j, taskID, r.Topic, r.Partition, r.Offset, stage, class, err)...)
	return &kgo.Record{Topic: j.dlqTopic, Key: r.Key, Value: r.Value, Headers: hs, Timestamp: r.Timestamp}
}

// sourceDLQRecord is a rejected source record: its value rendered as bytes
// (as text or JSON), its destination topic, partition and offset -1, and
// its source partition and offset.
func sourceDLQRecord(j *Job, taskID int, r *Record, topic, stage, class string, err error) *kgo.Record {
	k, _ := toBytes(r.Key)
	v, _ := toBytes(r.Value)
	hs := errHeaders(j, taskID, topic, -1, -1, stage, class, err)
	sp, _ := json.Marshal(r.SourcePartition)
	so, _ := json.Marshal(r.SourceOffset)
	hs = append(hs, kgo.RecordHeader{Key: HeaderErrSourcePartition, Value: sp}, kgo.RecordHeader{Key: HeaderErrSourceOffset, Value: so})
	for _, h := range r.Headers {
		hs = append(hs, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return &kgo.Record{Topic: j.dlqTopic, Key: k, Value: v, Headers: hs, Timestamp: r.Timestamp}
}
