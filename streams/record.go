package streams

import (
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a record flowing through a topology. Steps receive records by
// value and may return modified copies; Key and Value slices must not be
// modified in place (they may alias the fetched record).
type Record struct {
	Key   []byte
	Value []byte
	// Time is the record's event time as assigned by the source's time
	// policy (see TimeFrom); it is the timestamp of produced records.
	Time    time.Time
	Headers []kgo.RecordHeader

	// Topic, Partition and Offset name the record's input record.
	Topic     string
	Partition int32
	Offset    int64

	// Window is set on records emitted by windowed aggregates and joins.
	Window *Window

	// joined carries a declarative job's joined row to later expressions.
	joined any
}

// Window is a time window: Start inclusive, End exclusive, both in UTC.
type Window struct {
	Start time.Time
	End   time.Time
}

// EncodeNumber encodes f as the 8-byte big-endian IEEE 754 value that the
// numeric aggregators (Count, Sum, Min, Max) store.
func EncodeNumber(f float64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(f))
	return b[:]
}

// DecodeNumber decodes a value encoded by EncodeNumber; ok is false when b is
// not 8 bytes long.
func DecodeNumber(b []byte) (f float64, ok bool) {
	if len(b) != 8 {
		return 0, false
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), true
}

func sortStrings(s []string) { slices.Sort(s) }
