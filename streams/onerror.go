package streams

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/deadletter"
)

// ErrorMode is what a job does with a record whose processing fails: one
// that does not decode (a non-JSON value under format json) or on which an
// expression fails. It is Kafka Streams' deserialization exception handler
// as a job key (on_error).
type ErrorMode string

// Error modes.
const (
	// OnErrorFail fails the job (the default, as Kafka Streams'
	// LogAndFailExceptionHandler): the records before the bad one are
	// processed, emitted and committed, and Run returns a *RecordError
	// naming the bad record's topic, partition and offset. The error is
	// permanent: a supervisor must not restart the job, which would fail on
	// the same record again.
	OnErrorFail ErrorMode = "fail"
	// OnErrorSkip counts the record in Status.Errors and goes on (Kafka
	// Streams' LogAndContinueExceptionHandler).
	OnErrorSkip ErrorMode = "skip"
	// OnErrorDLQ writes the record as it was read, with Kafka Connect's
	// dead-letter headers (input topic, partition, offset, the error), to
	// the dead-letter topic, counts it in Status.Errors and Status.DLQ and
	// goes on. Under exactly once the dead-letter record is part of the
	// batch's transaction.
	OnErrorDLQ ErrorMode = "dlq"
)

// OnError sets what a record whose processing fails does, overriding the
// default OnErrorFail (and the job spec's on_error). OnErrorDLQ needs
// DLQTopic.
func OnError(m ErrorMode) Opt { return optFunc(func(c *cfg) { c.onError = m }) }

// DLQTopic sets the dead-letter topic of OnErrorDLQ (and the job spec's
// dlq_topic); it must exist when the job starts.
func DLQTopic(topic string) Opt { return optFunc(func(c *cfg) { c.dlqTopic = topic }) }

// SkipBadRecords is OnError(OnErrorSkip).
func SkipBadRecords() Opt { return OnError(OnErrorSkip) }

// checkErrorMode checks an error mode and its dead-letter topic.
func checkErrorMode(m ErrorMode, dlq string) error {
	if field, msg := errorModeProblem(m, dlq); field != "" {
		return fmt.Errorf("%s: %s", field, msg)
	}
	return nil
}

// errorModeProblem returns the field at fault and the problem of an error
// mode and its dead-letter topic, or "" for none.
func errorModeProblem(m ErrorMode, dlq string) (field, msg string) {
	switch m {
	case "", OnErrorFail, OnErrorSkip:
		if dlq != "" {
			return "dlq_topic", fmt.Sprintf("%q is set but on_error is %q: set on_error = \"dlq\" or remove dlq_topic", dlq, orFail(m))
		}
	case OnErrorDLQ:
		if dlq == "" {
			return "dlq_topic", "is missing: on_error = \"dlq\" needs dlq_topic: name the dead-letter topic"
		}
	default:
		return "on_error", fmt.Sprintf("%q is unknown: use fail, skip or dlq", m)
	}
	return "", ""
}

func orFail(m ErrorMode) ErrorMode {
	if m == "" {
		return OnErrorFail
	}
	return m
}

// RecordError is the error of a record whose processing failed under
// OnErrorFail: where the record is and why it failed. It is permanent
// (Permanent reports true): running the job again fails on the same record
// until the record is skipped or the job fixed.
type RecordError struct {
	AppID     string
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

// Error names the job, the record's coordinates and the cause, and says
// what to do.
func (e *RecordError) Error() string {
	return fmt.Sprintf("stream job %s: record %s/%d@%d cannot be processed: %v (the records before it were committed; fix the record's producer, or set on_error = \"skip\" or \"dlq\", then restart the job)",
		e.AppID, e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// Permanent reports true: restarting does not heal a bad record.
func (e *RecordError) Permanent() bool { return true }

// dlqRecord is r as it was read, with the dead-letter headers.
func (j *Job) dlqRecord(r *kgo.Record, err error) *kgo.Record {
	hs := append([]kgo.RecordHeader(nil), r.Headers...)
	hs = append(hs, deadletter.Location(r.Topic, r.Partition, r.Offset)...)
	hs = append(hs, kgo.RecordHeader{Key: deadletter.HeaderConnector, Value: []byte(j.top.appID)})
	hs = append(hs, deadletter.Exception(err)...)
	return &kgo.Record{Topic: j.cfg.dlqTopic, Key: r.Key, Value: r.Value, Headers: hs, Timestamp: r.Timestamp}
}
