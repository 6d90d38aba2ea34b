package mirror

import (
	"errors"

	"github.com/kdeck/kdeck/spec"
)

// Sentinel errors. Run wraps them with the reason, so callers test with
// errors.Is.
var (
	// ErrDeliveryFailed: the target did not acknowledge a record within the
	// retry budget (ProducerConfig.DeliveryTimeout) or refused it for good.
	// The flow is FAILED; source offsets were committed only up to the last
	// acknowledged record, so a restart resumes without loss.
	ErrDeliveryFailed = errors.New("mirror: target did not acknowledge records")
	// ErrBufferOverrun: the producer buffer stayed full for
	// ProducerConfig.BufferTimeout. The flow is FAILED, as for
	// ErrDeliveryFailed.
	ErrBufferOverrun = errors.New("mirror: producer buffer overrun")
	// ErrTransaction: an exactly-once transaction could not be committed.
	// The flow is FAILED; a restart resumes from the progress committed in
	// the target.
	ErrTransaction = errors.New("mirror: transaction failed")
	// ErrRunning: Run was called while the flow is already running.
	ErrRunning = errors.New("mirror: flow is already running")
	// ErrNoCheckpoint: a group has no checkpoint for a partition, so its
	// offset cannot be translated.
	ErrNoCheckpoint = errors.New("mirror: no checkpoint")
)

// FieldError is one bad field of a flow's configuration (spec.FieldError):
// its Path is the field's name, dotted inside sub-tables
// ("producer.linger").
type FieldError = spec.FieldError

// ConfigError lists every bad field of one flow's configuration
// (spec.Error); its Subject is `mirror "NAME"`, or "mirror" when the flow
// has no name.
type ConfigError = spec.Error
