package schema

// The wire format's two directions: Decoder turns a record's key or value
// into JSON text, Encoder turns JSON text into a registered schema's wire
// form.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// Mode says how Decoder decodes.
type Mode string

// Decode modes.
const (
	// ModeAuto decodes a value in the wire format (magic byte 0) whose
	// schema id the registry knows, and leaves anything else as it is.
	ModeAuto       Mode = "auto"
	ModeAvro       Mode = "avro"
	ModeProtobuf   Mode = "protobuf"
	ModeJSONSchema Mode = "json-schema"
	ModeNone       Mode = "none"
)

// ParseMode parses a --decode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case ModeAuto, ModeAvro, ModeProtobuf, ModeJSONSchema, ModeNone:
		return m, nil
	case "":
		return ModeAuto, nil
	case "json_schema", "jsonschema":
		return ModeJSONSchema, nil
	}
	return "", fmt.Errorf("--decode %q is not a mode: use auto, avro, protobuf, json-schema or none", s)
}

// DecodeOptions tune decoding.
type DecodeOptions struct {
	// PrettyTime prints Avro timestamp-millis/micros as RFC 3339 and date
	// as YYYY-MM-DD instead of numbers.
	PrettyTime bool
	// Validate checks JSON Schema payloads against their schema.
	Validate bool
}

// Result is one decoded key or value.
type Result struct {
	// Decoded is true when JSON holds the decoded payload.
	Decoded bool
	JSON    []byte
	Format  string
	// SchemaID is the id in the wire-format header (0 when none).
	SchemaID int
	Subject  string
	Version  int
	// Err says why a payload in the wire format (or one that the mode
	// says must be) did not decode; the caller shows the bytes and Err.
	Err error
}

// Decoder decodes keys and values of one read. It remembers schema ids
// that failed for RetryFailedAfter, so an unknown id or an unreachable
// registry costs one request per id and period, not one per record, and a
// long follow picks up a registry that comes back. Not safe for concurrent
// use.
type Decoder struct {
	c      *Client
	mode   Mode
	o      DecodeOptions
	failed map[int]failure
	// last caches the previous record's schema id lookups (most reads
	// see one id over and over).
	lastID    int
	last      *Schema
	lastWhere sr.SubjectVersion
	avroR     *avro.Reader
}

// NewDecoder returns a decoder; c may be nil (no registry), in which case
// ModeAuto decodes nothing.
func NewDecoder(c *Client, mode Mode, o DecodeOptions) *Decoder {
	return &Decoder{c: c, mode: mode, o: o, failed: map[int]failure{}}
}

// RetryFailedAfter is how long a Decoder reports a schema id's failure
// without asking the registry again.
const RetryFailedAfter = 30 * time.Second

type failure struct {
	err error
	at  time.Time
}

// ErrNotWireFormat reports a payload without the wire-format header where
// the mode requires one.
var ErrNotWireFormat = errors.New("not in the Schema Registry wire format (no magic byte 0 and schema id)")

// Decode decodes b. It never fails the read: problems are in Result.Err.
func (d *Decoder) Decode(ctx context.Context, b []byte) Result {
	if d.mode == ModeNone || b == nil {
		return Result{}
	}
	wire := len(b) >= 5 && b[0] == 0
	if !wire {
		if d.mode == ModeAuto || len(b) == 0 {
			return Result{}
		}
		return Result{Err: ErrNotWireFormat}
	}
	id := int(binary.BigEndian.Uint32(b[1:5]))
	res := Result{SchemaID: id}
	if d.c == nil {
		if d.mode == ModeAuto {
			return Result{}
		}
		res.Err = errors.New("no schema registry is configured: set [clusters.NAME.schema_registry] or pass --registry")
		return res
	}
	if f, ok := d.failed[id]; ok && time.Since(f.at) < RetryFailedAfter {
		res.Err = f.err
		return res
	}
	s, w := d.last, d.lastWhere
	if s == nil || d.lastID != id {
		var err error
		s, err = d.c.SchemaByID(ctx, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("schema id %d is not in the registry at %s", id, d.c.URL())
			}
			d.failed[id] = failure{err, time.Now()}
			res.Err = err
			return res
		}
		w = d.c.Where(ctx, id)
		d.last, d.lastID, d.lastWhere = s, id, w
	}
	res.Format = s.Format
	if d.mode != ModeAuto && string(d.mode) != s.Format {
		res.Err = fmt.Errorf("schema id %d is %s, not %s", id, s.Format, d.mode)
		return res
	}
	res.Subject, res.Version = w.Subject, w.Version
	payload := b[5:]
	var err error
	switch {
	case s.avro != nil:
		if d.avroR == nil {
			d.avroR = avro.NewReader(nil, 0)
		}
		res.JSON, err = s.avro.decode(make([]byte, 0, len(payload)*3+16), payload, d.o, d.avroR)
	case s.proto != nil:
		res.JSON, err = s.proto.decode(nil, payload, d.o)
	case s.json != nil:
		res.JSON, err = s.json.decode(nil, payload, d.o)
	}
	if err != nil {
		res.JSON, res.Err = nil, err
		return res
	}
	res.Decoded = true
	return res
}

// Encoder encodes JSON text as one subject version's schema in the wire
// format. It is safe for concurrent use.
type Encoder struct {
	// Schema is the schema records are encoded with.
	Schema *Schema
	// Subject and Version name it.
	Subject string
	Version int
	index   []int
}

// NewEncoder returns an encoder for a subject's version (Latest for the
// newest).
func (c *Client) NewEncoder(ctx context.Context, subject string, version int) (*Encoder, error) {
	ss, s, err := c.SubjectSchema(ctx, subject, version)
	if err != nil {
		return nil, err
	}
	return &Encoder{Schema: s, Subject: ss.Subject, Version: ss.Version}, nil
}

// UseMessage makes a Protobuf encoder write the named message rather than
// the schema's first.
func (e *Encoder) UseMessage(name string) error {
	if e.Schema.proto == nil {
		return fmt.Errorf("--message applies to Protobuf schemas; subject %q is %s", e.Subject, e.Schema.Format)
	}
	idx, err := e.Schema.proto.messageByName(name)
	if err != nil {
		return err
	}
	e.index = idx
	return nil
}

// Encode returns text (one JSON document) in the wire format.
func (e *Encoder) Encode(text []byte) ([]byte, error) {
	s := e.Schema
	out := make([]byte, 5, 5+len(text))
	binary.BigEndian.PutUint32(out[1:5], uint32(s.ID))
	switch {
	case s.avro != nil:
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not JSON: %v", err)
		}
		if dec.More() {
			return nil, errors.New("more than one JSON value on the line")
		}
		return s.avro.encode(out, v)
	case s.proto != nil:
		return s.proto.encode(out, text, e.index)
	case s.json != nil:
		return s.json.encode(out, text)
	}
	return nil, errors.New("the schema has no codec")
}
