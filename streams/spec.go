package streams

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/spec"
)

// JobSpec is a declarative stream job: one [[streams]] table of kdeck's
// TOML. ParseJob reads it; Build compiles it to the same Topology the Go API
// builds, with fixed step names (input, join, filter, project, group-by,
// aggregate, format, set-key, set-value, output), so internal topics are
// APP-group-by-repartition, APP-aggregate-changelog, and so on.
//
//	[[streams]]
//	name = "orders-per-customer"
//	cluster = "local"
//	inputs = ["demo.orders"]
//	format = "json"
//	filter = "value.amount > 0"
//	key = "value.customer"
//	window = { type = "tumbling", size = "1m", grace = "10s" }
//	aggregate = { op = "sum", field = "value.amount" }
//	emit = "final"
//	output = "orders-per-customer-1m"
//	guarantee = "exactly_once"
type JobSpec struct {
	// Name names the job; it is the application id unless ApplicationID
	// is set.
	Name          string   `json:"name"`
	Cluster       string   `json:"cluster,omitempty"`
	ApplicationID string   `json:"application_id,omitempty"`
	Inputs        []string `json:"inputs"`
	// Format of input values: json (default), string, bytes, or avro,
	// protobuf, json_schema (the Schema Registry wire format, decoded
	// through Registry).
	Format string    `json:"format,omitempty"`
	Time   *TimeSpec `json:"time,omitempty"`
	Filter string    `json:"filter,omitempty"`
	// Key is the grouping (or output) key expression.
	Key string `json:"key,omitempty"`
	// Value is the output value expression of a job without aggregate.
	Value     string         `json:"value,omitempty"`
	Join      *JoinSpec      `json:"join,omitempty"`
	Window    *WindowSpec    `json:"window,omitempty"`
	Aggregate *AggregateSpec `json:"aggregate,omitempty"`
	// Emit is update (default) or final (windowed aggregates only).
	Emit   string `json:"emit,omitempty"`
	Output string `json:"output"`
	// OutputFormat encodes output values in the Schema Registry wire
	// format: avro, protobuf or json_schema ("" or json: JSON). The schema
	// is OutputSchema, or for avro aggregates one derived from the
	// aggregate's output; it is registered under OUTPUT-value on first use.
	OutputFormat string `json:"output_format,omitempty"`
	OutputSchema string `json:"output_schema,omitempty"`
	Guarantee    string `json:"guarantee,omitempty"`
	DataDir      string `json:"data_dir,omitempty"`
	// InstanceID makes the job a static member of its group with this id
	// (see the InstanceID option); kdeck run derives one from the job name
	// and the worker id when it is empty.
	InstanceID string `json:"instance_id,omitempty"`
	// SessionTimeout is the group session timeout of the job's consumer
	// (see the SessionTimeout option); 0 keeps the runner's default.
	SessionTimeout time.Duration `json:"session_timeout,omitempty"`
	// OnError is what a record whose processing fails (undecodable, an
	// expression error) does: fail (default), skip or dlq; see ErrorMode.
	OnError string `json:"on_error,omitempty"`
	// DLQTopic receives the failed records under on_error = "dlq".
	DLQTopic string `json:"dlq_topic,omitempty"`
	// Line is the TOML line of the table, for messages; 0 when unknown.
	Line int `json:"-"`
	// Registry decodes inputs of the avro, protobuf and json_schema
	// formats; the host (ops) sets it from the job's cluster.
	Registry *schema.Client `json:"-"`
}

// TimeSpec is time = { type, field, zone }.
type TimeSpec struct {
	// Type is event (the record timestamp, default), field (Field's
	// value), log_append or processing.
	Type  string `json:"type"`
	Field string `json:"field,omitempty"`
	// Zone reads times without a UTC offset; default UTC.
	Zone string `json:"zone,omitempty"`
}

// WindowSpec is window = { type, size, advance, grace }.
type WindowSpec struct {
	Type    string        `json:"type"`
	Size    time.Duration `json:"size"`
	Advance time.Duration `json:"advance,omitempty"`
	Grace   time.Duration `json:"grace,omitempty"`
}

// AggregateSpec is aggregate = { op, field }: op is count, sum, min or max;
// field (an expression) is required except for count.
type AggregateSpec struct {
	Op    string `json:"op"`
	Field string `json:"field,omitempty"`
}

// JoinSpec is join = { table, on, cdc, type } for a stream-table join, or
// join = { stream, on, other_on, window, grace, type } for a windowed
// stream-stream join. Type is inner or left (default left for tables,
// inner for streams).
type JoinSpec struct {
	Table string `json:"table,omitempty"`
	// CDC reads the table topic as change events (see CDCJSON).
	CDC     bool          `json:"cdc,omitempty"`
	Stream  string        `json:"stream,omitempty"`
	On      string        `json:"on,omitempty"`
	OtherOn string        `json:"other_on,omitempty"`
	Window  time.Duration `json:"window,omitempty"`
	Grace   time.Duration `json:"grace,omitempty"`
	Type    string        `json:"type,omitempty"`
}

// The declaration of a [[streams]] table. Every field is optional here:
// compile checks what a job needs (also for a JobSpec a Go program fills
// in), so that a missing field is reported once.
var (
	timeSpec = spec.New("How records are timed.",
		spec.NewField("type", spec.TypeString).Optional().Description("event (the record timestamp, default), field, log_append or processing."),
		spec.NewField("field", spec.TypeString).Optional().Description(`Expression giving the time under type = "field", like "value.ts".`),
		spec.NewField("zone", spec.TypeString).Optional().Description("Time zone of times without a UTC offset; default UTC."),
	)
	windowSpec = spec.New("The window of an aggregate.",
		spec.NewField("type", spec.TypeString).Optional().Description("tumbling or hopping."),
		spec.NewField("size", spec.TypeDuration).Optional().Description("Window length."),
		spec.NewField("advance", spec.TypeDuration).Optional().Description("Step between hopping windows."),
		spec.NewField("grace", spec.TypeDuration).Optional().Description("How long a window accepts late records after it ends."),
	)
	aggregateSpec = spec.New("The aggregate of each key (and window).",
		spec.NewField("op", spec.TypeString).Optional().Description("count, sum, min or max."),
		spec.NewField("field", spec.TypeString).Optional().Description("Number expression aggregated by sum, min and max."),
	)
	joinSpec = spec.New("A stream-table or windowed stream-stream join.",
		spec.NewField("table", spec.TypeString).Optional().Description("Topic read as a table (compacted or CDC)."),
		spec.NewField("cdc", spec.TypeBool).Optional().Description("Read the table topic as change events."),
		spec.NewField("stream", spec.TypeString).Optional().Description("Topic of the other stream."),
		spec.NewField("on", spec.TypeString).Optional().Description("Key expression of this stream's records."),
		spec.NewField("other_on", spec.TypeString).Optional().Description("Key expression of the other stream's records; default on."),
		spec.NewField("window", spec.TypeDuration).Optional().Description("How far apart joined stream records may be."),
		spec.NewField("grace", spec.TypeDuration).Optional().Description("How long late records still join."),
		spec.NewField("type", spec.TypeString).Optional().Description("inner or left."),
	)
	// jobDecl declares a [[streams]] table.
	jobDecl = spec.New("A declarative stream job.",
		spec.NewField("name", spec.TypeString).Optional().Description("Names the job; the application id unless application_id is set."),
		spec.NewField("cluster", spec.TypeString).Optional().Description("Cluster the job reads and writes."),
		spec.NewField("application_id", spec.TypeString).Optional().Description("Consumer group and prefix of internal topics; default name."),
		spec.NewField("inputs", spec.TypeStrings).Optional().KeepCommas().Description("Input topics."),
		spec.NewField("format", spec.TypeString).Optional().Description("Input value format: json (default), string, bytes, avro, protobuf or json_schema."),
		spec.NewField("time", spec.TypeTable).Optional().Fields(timeSpec).Description("How records are timed: time = { type, field, zone }."),
		spec.NewField("filter", spec.TypeString).Optional().Description("Expression keeping the records for which it is true."),
		spec.NewField("key", spec.TypeString).Optional().Description("Grouping (or output) key expression."),
		spec.NewField("value", spec.TypeString).Optional().Description("Output value expression of a job without aggregate."),
		spec.NewField("join", spec.TypeTable).Optional().Fields(joinSpec).Description("join = { table, on, cdc, type } or { stream, on, other_on, window, grace, type }."),
		spec.NewField("window", spec.TypeTable).Optional().Fields(windowSpec).Description("window = { type, size, advance, grace }."),
		spec.NewField("aggregate", spec.TypeTable).Optional().Fields(aggregateSpec).Description("aggregate = { op, field }."),
		spec.NewField("emit", spec.TypeString).Optional().Description("update (default) or final (windowed aggregates only)."),
		spec.NewField("output", spec.TypeString).Optional().Description("Output topic."),
		spec.NewField("output_format", spec.TypeString).Optional().Description("Output value format: json (default), avro, protobuf or json_schema."),
		spec.NewField("output_schema", spec.TypeString).Optional().Description("Schema of output values in a Schema Registry format."),
		spec.NewField("guarantee", spec.TypeString).Optional().Description("at_least_once (default) or exactly_once."),
		spec.NewField("data_dir", spec.TypeString).Optional().Description("Where the job keeps local state."),
		spec.NewField("on_error", spec.TypeString).Optional().Description("What a record whose processing fails does: fail (default), skip or dlq."),
		spec.NewField("dlq_topic", spec.TypeString).Optional().Description(`Dead-letter topic under on_error = "dlq".`),
		spec.NewField("instance_id", spec.TypeString).Optional().Description("Static group membership id."),
		spec.NewField("session_timeout", spec.TypeDuration).Optional().Check(checkSessionTimeout).Description("Group session timeout; 1s to 30m."),
		spec.NewField("enabled", spec.TypeBool).Optional().Description("Whether the job starts with the worker (the supervisor's key)."),
		spec.NewField("disabled", spec.TypeBool).Optional().Description("Whether the job is left stopped (the supervisor's key)."),
	)
)

// Spec returns the declaration of a [[streams]] table: its keys, types and
// documentation.
func Spec() *spec.Spec { return jobDecl }

func checkSessionTimeout(v any) error {
	if d := v.(time.Duration); d != 0 && (d < time.Second || d > 30*time.Minute) {
		return fmt.Errorf("%v is out of range: use 1s to 30m (Apache Kafka brokers require at least 6s by default)", d)
	}
	return nil
}

// ParseJob reads one [[streams]] table (as decoded by BurntSushi/toml) into
// a JobSpec and validates it completely: the returned *JobError (wrapping
// ErrInvalid) names every problem at once by field path, with suggestions
// for unknown keys.
func ParseJob(table map[string]any) (JobSpec, error) {
	var probs spec.Problems
	s := jobSpecOf(jobDecl.Decode(table, &probs))
	if probs.Len() > 0 {
		// Report the shape problems together with the semantic ones.
		s.check(&probs)
		return s, probs.Err(s.subject(), ErrInvalid)
	}
	_, err := s.Build()
	return s, err
}

// jobSpecOf fills a JobSpec from a decoded [[streams]] table.
func jobSpecOf(p *spec.Parsed) JobSpec {
	s := JobSpec{Name: p.String("name"), Cluster: p.String("cluster"), ApplicationID: p.String("application_id"),
		Inputs: p.Strings("inputs"), Format: p.String("format"), Filter: p.String("filter"), Key: p.String("key"),
		Value: p.String("value"), Emit: p.String("emit"), Output: p.String("output"),
		OutputFormat: p.String("output_format"), OutputSchema: p.String("output_schema"),
		Guarantee: p.String("guarantee"), DataDir: p.String("data_dir"), InstanceID: p.String("instance_id"),
		SessionTimeout: p.Duration("session_timeout"), OnError: p.String("on_error"), DLQTopic: p.String("dlq_topic")}
	if t := p.Sub("time"); t != nil {
		s.Time = &TimeSpec{Type: t.String("type"), Field: t.String("field"), Zone: t.String("zone")}
	}
	if w := p.Sub("window"); w != nil {
		s.Window = &WindowSpec{Type: w.String("type"), Size: w.Duration("size"), Advance: w.Duration("advance"), Grace: w.Duration("grace")}
	}
	if a := p.Sub("aggregate"); a != nil {
		s.Aggregate = &AggregateSpec{Op: a.String("op"), Field: a.String("field")}
	}
	if j := p.Sub("join"); j != nil {
		s.Join = &JoinSpec{Table: j.String("table"), CDC: j.Bool("cdc"), Stream: j.String("stream"), On: j.String("on"),
			OtherOn: j.String("other_on"), Window: j.Duration("window"), Grace: j.Duration("grace"), Type: j.String("type")}
	}
	return s
}

// JobError is the error of an invalid declarative job (spec.Error): every
// problem by field path. Its Subject is `stream job "NAME"` and it wraps
// ErrInvalid.
type JobError = spec.Error

// subject names the job in its errors.
func (s JobSpec) subject() string {
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("stream job %q", name)
}

// AppID returns the job's application id: ApplicationID, or Name.
func (s JobSpec) AppID() string {
	if s.ApplicationID != "" {
		return s.ApplicationID
	}
	return s.Name
}

// Build compiles the spec to a topology, or returns every problem.
func (s JobSpec) Build() (*Topology, error) {
	top, err := s.compile()
	if err != nil {
		return nil, err
	}
	return top.Build()
}

// round15 rounds f to 15 significant digits, so that sums of decimal
// amounts print as 4189.62, not 4189.620000000001.
func round15(f float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// FormatAggregate turns a numeric aggregate's record into kdeck's output
// form: the value becomes {"value": N}, plus "window_start" and
// "window_end" in RFC 3339 UTC for windowed aggregates.
func FormatAggregate(r Record) (Record, error) {
	n, ok := DecodeNumber(r.Value)
	if !ok {
		return r, fmt.Errorf("aggregate value is not a number")
	}
	out := struct {
		Value       float64 `json:"value"`
		WindowStart string  `json:"window_start,omitempty"`
		WindowEnd   string  `json:"window_end,omitempty"`
	}{Value: round15(n)}
	if r.Window != nil {
		out.WindowStart = r.Window.Start.UTC().Format(time.RFC3339)
		out.WindowEnd = r.Window.End.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(out)
	r.Value = b
	return r, err
}
