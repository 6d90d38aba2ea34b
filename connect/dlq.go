package connect

import (
	"encoding/json"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/deadletter"
)

// Stages of a failure, as Kafka Connect names them in the
// __connect.errors.stage header.
const (
	StageKeyConverter   = "KEY_CONVERTER"
	StageValueConverter = "VALUE_CONVERTER"
	StageTransformation = "TRANSFORMATION"
	StageTaskPut        = "TASK_PUT"
	StageTaskPoll       = "TASK_POLL"
	// StageKafkaProduce is a record Kafka rejected (KIP-779).
	StageKafkaProduce = "KAFKA_PRODUCE"
)

// Headers of dead-letter records, as Kafka Connect writes them (package
// deadletter, shared with stream jobs), plus two kdeck adds for source
// records.
const (
	HeaderErrTopic          = deadletter.HeaderTopic
	HeaderErrPartition      = deadletter.HeaderPartition
	HeaderErrOffset         = deadletter.HeaderOffset
	HeaderErrConnector      = deadletter.HeaderConnector
	HeaderErrTaskID         = deadletter.HeaderTaskID
	HeaderErrStage          = deadletter.HeaderStage
	HeaderErrClass          = deadletter.HeaderClass
	HeaderErrExceptionClass = deadletter.HeaderExceptionClass
	HeaderErrMessage        = deadletter.HeaderMessage
	HeaderErrStacktrace     = deadletter.HeaderStacktrace
	// HeaderErrSourcePartition and HeaderErrSourceOffset locate a rejected
	// source record in its source (JSON); kdeck only.
	HeaderErrSourcePartition = "__connect.errors.source.partition"
	HeaderErrSourceOffset    = "__connect.errors.source.offset"
	// HeaderErrValueOmitted is set, to the value's size in bytes, when a
	// rejected record's value was too large to dead-letter; kdeck only.
	HeaderErrValueOmitted = "__connect.errors.value.omitted"
)

func errHeaders(j *Job, taskID int, topic string, partition int32, offset int64, stage, class string, err error) []kgo.RecordHeader {
	if class == "" {
		class = j.plugin.Name
	}
	hs := deadletter.Location(topic, partition, offset)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderErrConnector, Value: []byte(j.name)},
		kgo.RecordHeader{Key: HeaderErrTaskID, Value: []byte(strconv.Itoa(taskID))},
		kgo.RecordHeader{Key: HeaderErrStage, Value: []byte(stage)},
		kgo.RecordHeader{Key: HeaderErrClass, Value: []byte(class)},
	)
	return append(hs, deadletter.Exception(err)...)
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
