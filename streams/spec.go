package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/timespec"
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

var (
	jobKeys       = []string{"name", "cluster", "application_id", "inputs", "format", "time", "filter", "key", "value", "join", "window", "aggregate", "emit", "output", "output_format", "output_schema", "guarantee", "data_dir", "on_error", "dlq_topic", "enabled", "disabled"}
	timeKeys      = []string{"type", "field", "zone"}
	windowKeys    = []string{"type", "size", "advance", "grace"}
	aggregateKeys = []string{"op", "field"}
	joinKeys      = []string{"table", "cdc", "stream", "on", "other_on", "window", "grace", "type"}
)

// problems collects every problem of a spec.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err(name string) error {
	if len(p) == 0 {
		return nil
	}
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Errorf("%w %q: %s", ErrInvalid, name, strings.Join(p, "; "))
}

func unknownKeys(p *problems, where string, t map[string]any, known []string) {
	var ks []string
	for k := range t {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		found := false
		for _, kk := range known {
			if k == kk {
				found = true
			}
		}
		if !found {
			p.add("%s key %q is unknown%s", where, k, config.Suggest(k, known))
		}
	}
}

func getString(p *problems, t map[string]any, where, k string) string {
	v, ok := t[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.add("%s%s must be a string, not %T", where, k, v)
	}
	return s
}

func getDuration(p *problems, t map[string]any, where, k string) time.Duration {
	s := getString(p, t, where, k)
	if s == "" {
		return 0
	}
	d, err := timespec.ParseDuration(s)
	if err != nil {
		p.add("%s%s %q is not a duration (like \"1m\", \"10s\" or \"PT1M\")", where, k, s)
	}
	return d
}

func getTable(p *problems, t map[string]any, k string) map[string]any {
	v, ok := t[k]
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.add("%s must be an inline table like %s = { ... }, not %T", k, k, v)
	}
	return m
}

// ParseJob reads one [[streams]] table (as decoded by BurntSushi/toml) into
// a JobSpec and validates it completely: the returned error (wrapping
// ErrInvalid) names every problem at once, with suggestions for unknown
// keys.
func ParseJob(table map[string]any) (JobSpec, error) {
	var p problems
	var s JobSpec
	unknownKeys(&p, "streams", table, jobKeys)
	s.Name = getString(&p, table, "", "name")
	s.Cluster = getString(&p, table, "", "cluster")
	s.ApplicationID = getString(&p, table, "", "application_id")
	switch v := table["inputs"].(type) {
	case nil:
	case string:
		s.Inputs = []string{v}
	case []any:
		for _, x := range v {
			if str, ok := x.(string); ok {
				s.Inputs = append(s.Inputs, str)
			} else {
				p.add("inputs must be topic names (strings), not %T", x)
			}
		}
	case []string:
		s.Inputs = v
	default:
		p.add("inputs must be a list of topics, not %T", v)
	}
	s.Format = getString(&p, table, "", "format")
	s.OutputFormat = getString(&p, table, "", "output_format")
	s.OutputSchema = getString(&p, table, "", "output_schema")
	s.Filter = getString(&p, table, "", "filter")
	s.Key = getString(&p, table, "", "key")
	s.Value = getString(&p, table, "", "value")
	s.Emit = getString(&p, table, "", "emit")
	s.Output = getString(&p, table, "", "output")
	s.Guarantee = getString(&p, table, "", "guarantee")
	s.DataDir = getString(&p, table, "", "data_dir")
	s.OnError = getString(&p, table, "", "on_error")
	s.DLQTopic = getString(&p, table, "", "dlq_topic")
	if tt := getTable(&p, table, "time"); tt != nil {
		unknownKeys(&p, "time", tt, timeKeys)
		s.Time = &TimeSpec{Type: getString(&p, tt, "time.", "type"), Field: getString(&p, tt, "time.", "field"), Zone: getString(&p, tt, "time.", "zone")}
	}
	if wt := getTable(&p, table, "window"); wt != nil {
		unknownKeys(&p, "window", wt, windowKeys)
		s.Window = &WindowSpec{Type: getString(&p, wt, "window.", "type"), Size: getDuration(&p, wt, "window.", "size"),
			Advance: getDuration(&p, wt, "window.", "advance"), Grace: getDuration(&p, wt, "window.", "grace")}
	}
	if at := getTable(&p, table, "aggregate"); at != nil {
		unknownKeys(&p, "aggregate", at, aggregateKeys)
		s.Aggregate = &AggregateSpec{Op: getString(&p, at, "aggregate.", "op"), Field: getString(&p, at, "aggregate.", "field")}
	}
	if jt := getTable(&p, table, "join"); jt != nil {
		unknownKeys(&p, "join", jt, joinKeys)
		s.Join = &JoinSpec{Table: getString(&p, jt, "join.", "table"), Stream: getString(&p, jt, "join.", "stream"),
			On: getString(&p, jt, "join.", "on"), OtherOn: getString(&p, jt, "join.", "other_on"),
			Window: getDuration(&p, jt, "join.", "window"), Grace: getDuration(&p, jt, "join.", "grace"), Type: getString(&p, jt, "join.", "type")}
		if v, ok := jt["cdc"]; ok {
			b, isBool := v.(bool)
			if !isBool {
				p.add("join.cdc must be true or false, not %T", v)
			}
			s.Join.CDC = b
		}
	}
	for _, k := range []string{"enabled", "disabled"} {
		if v, ok := table[k]; ok {
			if _, isBool := v.(bool); !isBool {
				p.add("%s must be true or false, not %T", k, v)
			}
		}
	}
	if len(p) > 0 {
		// Report the shape problems together with the semantic ones.
		_, berr := s.compile()
		var bp *JobError
		if errors.As(berr, &bp) {
			p = append(p, bp.Problems...)
		}
		return s, &JobError{Name: s.Name, Problems: p}
	}
	_, err := s.Build()
	return s, err
}

// JobError is the error of an invalid declarative job: every problem, each
// one sentence. It wraps ErrInvalid.
type JobError struct {
	Name     string
	Problems []string
}

// Error names the job and every problem.
func (e *JobError) Error() string { return problems(e.Problems).err(e.Name).Error() }

// Unwrap returns ErrInvalid.
func (e *JobError) Unwrap() error { return ErrInvalid }

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

func (s JobSpec) compile() (*Topology, error) {
	var p problems
	if s.Name == "" {
		p.add("name is missing: give the job a name")
	}
	if len(s.Inputs) == 0 {
		p.add("inputs is missing: list the input topics, like inputs = [\"orders\"]")
	}
	if s.Output == "" {
		p.add("output is missing: name the output topic")
	}
	dec := decoder{format: s.Format}
	switch s.Format {
	case "", "json", "string", "bytes":
	case formatAvro, formatProtobuf, formatJSONSchema:
		dec.sd = newSchemaDecoder(s.Registry, s.Format)
	default:
		p.add("format %q is unknown: use json, string, bytes, avro, protobuf or json_schema", s.Format)
	}
	var outEnc *schemaEncoder
	switch s.OutputFormat {
	case "", "json":
	case formatAvro, formatProtobuf, formatJSONSchema:
		text := s.OutputSchema
		if text == "" && s.OutputFormat == formatAvro && s.Aggregate != nil {
			text = aggregateAvroSchema(s.Window != nil)
		}
		switch {
		case s.Aggregate == nil && s.Value == "" && s.Join == nil:
			p.add("output_format %q applies to jobs that write JSON (aggregate, value or join); this job passes its input values through as read", s.OutputFormat)
		case text == "":
			p.add("output_format %q needs output_schema (only avro aggregates have a derived schema)", s.OutputFormat)
		default:
			outEnc = &schemaEncoder{registry: s.Registry, format: s.OutputFormat, text: text, subject: s.Output + "-value"}
		}
	default:
		p.add("output_format %q is unknown: use json, avro, protobuf or json_schema", s.OutputFormat)
	}
	switch s.Guarantee {
	case "", string(AtLeastOnce), string(ExactlyOnce):
	default:
		p.add("guarantee %q is unknown: use at_least_once or exactly_once", s.Guarantee)
	}
	if err := checkErrorMode(ErrorMode(s.OnError), s.DLQTopic); err != nil {
		p.add("%v", err)
	}
	compile := func(what, src string) *program {
		if src == "" {
			return nil
		}
		prog, err := compileExpr(what, src)
		if err != nil {
			p.add("%v", err)
		}
		return prog
	}
	filter := compile("filter", s.Filter)
	key := compile("key", s.Key)
	value := compile("value", s.Value)

	// Time.
	tp := EventTime()
	if s.Time != nil {
		loc := time.UTC
		if s.Time.Zone != "" {
			l, err := time.LoadLocation(s.Time.Zone)
			if err != nil {
				p.add("time.zone %q is not a time zone (like \"UTC\" or \"Europe/Paris\")", s.Time.Zone)
			} else {
				loc = l
			}
		}
		switch s.Time.Type {
		case "", "event":
			if s.Time.Field != "" {
				p.add("time.field is set but time.type is %q: use type = \"field\"", s.Time.Type)
			}
		case "field":
			if s.Time.Field == "" {
				p.add("time.type is field but time.field is missing: give an expression like \"value.ts\"")
			}
			if tf := compile("time.field", s.Time.Field); tf != nil {
				tp = EventTimeFrom(func(r Record) (time.Time, error) {
					env, err := dec.env(r)
					if err != nil {
						return time.Time{}, err
					}
					v, err := tf.run(env)
					if err != nil {
						return time.Time{}, err
					}
					return toTime(v, loc)
				})
			}
		case "log_append":
			tp = LogAppendTime()
		case "processing":
			tp = ProcessingTime()
		default:
			p.add("time.type %q is unknown: use event, field, log_append or processing", s.Time.Type)
		}
	}

	// Aggregate and window.
	var agg Aggregator
	var aggField *program
	if a := s.Aggregate; a != nil {
		switch a.Op {
		case "count":
			agg = Count()
		case "sum", "min", "max":
			if a.Field == "" {
				p.add("aggregate.field is missing: %s needs a number expression like \"value.amount\"", a.Op)
			}
			aggField = compile("aggregate.field", a.Field)
			pre := func(r Record) (float64, error) {
				n, ok := DecodeNumber(r.Value)
				if !ok {
					return 0, fmt.Errorf("projected value is not a number")
				}
				return n, nil
			}
			agg = map[string]func(func(Record) (float64, error)) Aggregator{"sum": Sum, "min": Min, "max": Max}[a.Op](pre)
		case "":
			p.add("aggregate.op is missing: use count, sum, min or max")
		default:
			p.add("aggregate.op %q is unknown: use count, sum, min or max", a.Op)
		}
		if s.Value != "" {
			p.add("value is set with aggregate: an aggregate's output value is {\"value\": N}; remove value")
		}
	}
	var windows Windows
	if w := s.Window; w != nil {
		if s.Aggregate == nil {
			p.add("window is set without aggregate: add aggregate = { op = ... } or remove window")
		}
		switch w.Type {
		case "tumbling":
			windows = Tumbling(w.Size)
			if w.Advance != 0 && w.Advance != w.Size {
				p.add("window.advance is set on a tumbling window: use type = \"hopping\"")
			}
		case "hopping":
			windows = Hopping(w.Size, w.Advance)
			if w.Advance == 0 {
				p.add("window.advance is missing: a hopping window needs advance = \"...\"")
			}
		case "":
			p.add("window.type is missing: use tumbling or hopping")
		default:
			p.add("window.type %q is unknown: use tumbling or hopping", w.Type)
		}
		windows = windows.WithGrace(w.Grace)
		if w.Type != "" && (w.Type != "hopping" || w.Advance != 0) {
			if err := windows.validate(); err != nil {
				p.add("window: %v", err)
			}
		}
	}
	emit := EmitUpdate
	switch s.Emit {
	case "", "update":
	case "final":
		emit = EmitFinal
		if s.Window == nil {
			p.add("emit = \"final\" needs a window: without one an aggregate is a running total, emitted on update")
		}
	default:
		p.add("emit %q is unknown: use update or final", s.Emit)
	}

	// Join.
	var joinOn, otherOn *program
	if j := s.Join; j != nil {
		switch {
		case j.Table != "" && j.Stream != "":
			p.add("join has both table and stream: a join is with one table or one stream")
		case j.Table == "" && j.Stream == "":
			p.add("join needs table = \"TOPIC\" (a compacted or CDC topic) or stream = \"TOPIC\"")
		case j.Table != "":
			if j.Window != 0 || j.OtherOn != "" {
				p.add("join.window and join.other_on apply to stream joins, not to table joins")
			}
		case j.Stream != "":
			if j.Window <= 0 {
				p.add("join.window is missing: a stream-stream join needs window = \"5m\"")
			}
			if j.CDC {
				p.add("join.cdc applies to table joins")
			}
		}
		switch j.Type {
		case "", "inner", "left":
		default:
			p.add("join.type %q is unknown: use inner or left", j.Type)
		}
		joinOn = compile("join.on", j.On)
		otherOn = compile("join.other_on", j.OtherOn)
	}
	if len(p) > 0 {
		return nil, &JobError{Name: s.Name, Problems: p}
	}

	// Build.
	keyOf := func(prog *program) func(Record) ([]byte, error) {
		return func(r Record) ([]byte, error) {
			env, err := dec.env(r)
			if err != nil {
				return nil, err
			}
			v, err := prog.run(env)
			if err != nil {
				return nil, err
			}
			return toBytes(v)
		}
	}
	top := NewTopology(s.AppID())
	st := top.Stream("input", s.Inputs, WithTime(tp))
	if j := s.Join; j != nil {
		if j.Table != "" {
			var opts []SourceOpt
			if j.CDC {
				opts = append(opts, WithCDC(CDCJSON()))
			}
			tbl := top.Table("table", j.Table, opts...)
			var kf func(Record) ([]byte, error)
			if joinOn != nil {
				kf = keyOf(joinOn)
			}
			inner := j.Type == "inner"
			st = st.JoinTable("join", tbl, kf, func(r Record, row []byte, found bool) (Record, bool, error) {
				if !found {
					return r, !inner, nil
				}
				var v any
				if err := json.Unmarshal(row, &v); err != nil {
					v = string(row)
				}
				r.joined = v
				return r, true, nil
			})
		} else {
			other := top.Stream("other", []string{j.Stream}, WithTime(tp))
			if joinOn != nil {
				st = st.Repartition("join-left", keyOf(joinOn))
				if otherOn == nil {
					otherOn = joinOn
				}
			}
			if otherOn != nil {
				other = other.Repartition("join-right", keyOf(otherOn))
			}
			kind := InnerJoin
			if j.Type == "left" {
				kind = LeftJoin
			}
			st = st.Join("join", other, j.Window, j.Grace, kind, func(l Record, r *Record) (Record, error) {
				if r != nil {
					v, err := dec.decode(r.Value)
					if err != nil {
						return l, err
					}
					l.joined = v
				}
				return l, nil
			})
		}
	}
	if filter != nil {
		st = st.Filter("filter", func(r Record) (bool, error) {
			env, err := dec.env(r)
			if err != nil {
				return false, err
			}
			return filter.runBool(env)
		})
	}
	if s.Aggregate != nil {
		// project computes the group key and the aggregated number before
		// repartitioning, while the whole record (and its joined row) is
		// at hand; the repartition topic carries only key and number.
		if aggField != nil || key != nil {
			st = st.Map("project", func(r Record) (Record, error) {
				env, err := dec.env(r)
				if err != nil {
					return r, err
				}
				if key != nil {
					v, err := key.run(env)
					if err != nil {
						return r, err
					}
					if r.Key, err = toBytes(v); err != nil {
						return r, err
					}
				}
				if aggField != nil {
					v, err := aggField.run(env)
					if err != nil {
						return r, err
					}
					f, err := toFloat(v)
					if err != nil {
						return r, fmt.Errorf("aggregate.field %q: %w", aggField.src, err)
					}
					r.Value = EncodeNumber(f)
				}
				return r, nil
			})
		}
		var g *Grouped
		if key != nil {
			g = st.GroupBy("group-by", func(r Record) ([]byte, error) { return r.Key, nil })
		} else {
			g = st.GroupByKey()
		}
		if s.Window != nil {
			st = g.Windowed(windows).Aggregate("aggregate", agg, emit)
		} else {
			st = g.Aggregate("aggregate", agg)
		}
		st = st.Map("format", FormatAggregate)
	} else {
		if key != nil {
			st = st.Map("set-key", func(r Record) (Record, error) {
				k, err := keyOf(key)(r)
				r.Key = k
				return r, err
			})
		}
		switch {
		case value != nil:
			st = st.Map("set-value", func(r Record) (Record, error) {
				env, err := dec.env(r)
				if err != nil {
					return r, err
				}
				v, err := value.run(env)
				if err != nil {
					return r, err
				}
				r.Value, err = toBytes(v)
				return r, err
			})
		case s.Join != nil:
			st = st.Map("set-value", func(r Record) (Record, error) {
				v, err := dec.decode(r.Value)
				if err != nil {
					return r, err
				}
				r.Value, err = json.Marshal(map[string]any{"value": v, "joined": r.joined})
				return r, err
			})
		}
	}
	if outEnc != nil {
		st = st.Map("encode", outEnc.encode)
	}
	st.To("output", s.Output)
	return top, nil
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
