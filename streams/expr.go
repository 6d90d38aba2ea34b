package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/expression"
	"github.com/kdeck/kdeck/schema"
)

// Expressions of declarative jobs use github.com/expr-lang/expr over this
// environment:
//
//	key        string   the record key
//	value      any      the value decoded per the job's format (json: objects,
//	                    arrays, numbers, strings; string: a string; bytes: a
//	                    byte slice)
//	timestamp  time     the record's event time (UTC)
//	topic      string
//	partition  int
//	offset     int
//	headers    map[string]string
//	joined     any      the joined table row or other stream's value (nil
//	                    when unmatched or without a join)
//
// exprVars are the variables of declarative jobs' expressions.
var exprVars = []string{"key", "value", "timestamp", "topic", "partition", "offset", "headers", "joined"}

// exprEnv is one record's variables.
type exprEnv struct {
	Key       string
	Value     any
	Timestamp time.Time
	Topic     string
	Partition int
	Offset    int
	Headers   map[string]string
	Joined    any
}

func (e *exprEnv) vars() map[string]any {
	return map[string]any{"key": e.Key, "value": e.Value, "timestamp": e.Timestamp, "topic": e.Topic,
		"partition": e.Partition, "offset": e.Offset, "headers": e.Headers, "joined": e.Joined}
}

// program is a compiled expression (kdeck's shared expression package).
type program struct {
	src string
	p   *expression.Program
}

func compileExpr(src string) (*program, error) {
	p, err := expression.Compile(src, exprVars...)
	if err != nil {
		return nil, err
	}
	return &program{src: src, p: p}, nil
}

func (p *program) run(env *exprEnv) (any, error) { return p.p.Eval(env.vars()) }

func (p *program) runBool(env *exprEnv) (bool, error) { return p.p.Bool(env.vars()) }

// decoder decodes record values per format for expressions and encodes
// results back.
type decoder struct {
	format string
	sd     *schemaDecoder // avro, protobuf, json_schema
}

// Formats decoded through a Schema Registry.
const (
	formatAvro       = "avro"
	formatProtobuf   = "protobuf"
	formatJSONSchema = "json_schema"
)

// schemaDecoder decodes wire-format values to JSON data; one per job,
// shared by its tasks under mu (schema.Decoder is not concurrent).
type schemaDecoder struct {
	mu sync.Mutex
	d  *schema.Decoder
}

func newSchemaDecoder(c *schema.Client, format string) *schemaDecoder {
	if c == nil {
		return &schemaDecoder{}
	}
	return &schemaDecoder{d: schema.NewDecoder(c, schema.Mode(strings.ReplaceAll(format, "_", "-")), schema.DecodeOptions{})}
}

func (s *schemaDecoder) decode(format string, b []byte) (any, error) {
	if s.d == nil {
		return nil, fmt.Errorf("format %q needs a Schema Registry: set [clusters.NAME.schema_registry] for the job's cluster", format)
	}
	if b == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	res := s.d.Decode(ctx, b)
	s.mu.Unlock()
	if res.Err != nil {
		return nil, fmt.Errorf("value does not decode as %s: %w", format, res.Err)
	}
	var v any
	if err := json.Unmarshal(res.JSON, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// schemaEncoder encodes a job's JSON output values with a schema it
// registers under the output's subject on first use (the registry
// deduplicates, so restarts reuse the id).
type schemaEncoder struct {
	registry *schema.Client
	format   string
	text     string
	subject  string

	mu  sync.Mutex
	enc *schema.Encoder
}

func (e *schemaEncoder) encoder() (*schema.Encoder, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enc != nil {
		return e.enc, nil
	}
	if e.registry == nil {
		return nil, fmt.Errorf("output_format %q needs a Schema Registry: set [clusters.NAME.schema_registry] for the job's cluster", e.format)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t := sr.TypeAvro
	switch e.format {
	case formatProtobuf:
		t = sr.TypeProtobuf
	case formatJSONSchema:
		t = sr.TypeJSON
	}
	ss, err := e.registry.SR().CreateSchema(ctx, e.subject, sr.Schema{Schema: e.text, Type: t})
	if err != nil {
		return nil, e.registry.Explain(err, fmt.Sprintf("registering the output schema under subject %q", e.subject))
	}
	enc, err := e.registry.NewEncoder(ctx, e.subject, ss.Version)
	if err != nil {
		return nil, err
	}
	e.enc = enc
	return enc, nil
}

func (e *schemaEncoder) encode(r Record) (Record, error) {
	if r.Value == nil {
		return r, nil
	}
	enc, err := e.encoder()
	if err != nil {
		return r, err
	}
	v, err := enc.Encode(r.Value)
	if err != nil {
		return r, fmt.Errorf("output value does not match subject %s: %w", e.subject, err)
	}
	r.Value = v
	return r, nil
}

// aggregateAvroSchema is the Avro schema of FormatAggregate's output.
func aggregateAvroSchema(windowed bool) string {
	if !windowed {
		return `{"type":"record","name":"Aggregate","namespace":"kdeck.streams","fields":[{"name":"value","type":"double"}]}`
	}
	return `{"type":"record","name":"WindowedAggregate","namespace":"kdeck.streams","fields":[{"name":"value","type":"double"},` +
		`{"name":"window_start","type":"string"},{"name":"window_end","type":"string"}]}`
}

func (d decoder) decode(b []byte) (any, error) {
	if d.sd != nil {
		return d.sd.decode(d.format, b)
	}
	switch d.format {
	case "string":
		return string(b), nil
	case "bytes":
		return b, nil
	default:
		if b == nil {
			return nil, nil
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("value is not JSON: %w", err)
		}
		return v, nil
	}
}

func (d decoder) env(r Record) (*exprEnv, error) {
	v, err := d.decode(r.Value)
	if err != nil {
		return nil, err
	}
	env := &exprEnv{Key: string(r.Key), Value: v, Timestamp: r.Time, Topic: r.Topic,
		Partition: int(r.Partition), Offset: int(r.Offset), Joined: r.joined}
	if len(r.Headers) > 0 {
		env.Headers = make(map[string]string, len(r.Headers))
		for _, kv := range r.Headers {
			env.Headers[kv.Key] = string(kv.Value)
		}
	}
	return env, nil
}

// toBytes turns an expression result into key or value bytes: strings and
// byte slices as they are, numbers in their shortest form, nil as nil,
// anything else as JSON.
func toBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	case float64:
		return []byte(strconv.FormatFloat(x, 'f', -1, 64)), nil
	case int:
		return []byte(strconv.Itoa(x)), nil
	default:
		return json.Marshal(x)
	}
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		return strconv.ParseFloat(x, 64)
	case nil:
		return 0, fmt.Errorf("field is missing")
	}
	return 0, fmt.Errorf("field is %T, not a number", v)
}

// toTime reads an expression result as a time: numbers are Unix
// milliseconds, strings RFC 3339 (or without offset, in loc).
func toTime(v any, loc *time.Location) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case float64:
		return time.UnixMilli(int64(x)).UTC(), nil
	case int:
		return time.UnixMilli(int64(x)).UTC(), nil
	case string:
		return ParseTime(x, loc)
	case nil:
		return time.Time{}, fmt.Errorf("time field is missing")
	}
	return time.Time{}, fmt.Errorf("time field is %T: want Unix milliseconds or an RFC 3339 string", v)
}
