package streams

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kdeck/kdeck/spec"
)

// compiled is what the checks of a JobSpec produce for the wiring: the
// decoder, the compiled expressions and the time, aggregate and window
// settings.
type compiled struct {
	dec                       decoder
	outEnc                    *schemaEncoder
	filter, key, value        *program
	aggField, joinOn, otherOn *program
	time                      TimePolicy
	agg                       Aggregator
	windows                   Windows
	emit                      Emit
}

// compile checks the spec and wires its topology, or returns a *JobError
// naming every problem.
func (s JobSpec) compile() (*Topology, error) {
	var probs spec.Problems
	c := s.check(&probs)
	if err := probs.Err(s.subject(), ErrInvalid); err != nil {
		return nil, err
	}
	return s.wire(c), nil
}

// check records every problem of the spec and returns what it compiled.
func (s JobSpec) check(probs *spec.Problems) *compiled {
	c := &compiled{}
	s.checkRequired(probs)
	c.dec = s.checkFormat(probs)
	c.outEnc = s.checkOutputFormat(probs)
	switch s.Guarantee {
	case "", string(AtLeastOnce), string(ExactlyOnce):
	default:
		probs.Addf("guarantee", "%q is unknown: use at_least_once or exactly_once", s.Guarantee)
	}
	if field, msg := errorModeProblem(ErrorMode(s.OnError), s.DLQTopic); field != "" {
		probs.Add(field, msg)
	}
	c.filter = compileField(probs, "filter", s.Filter)
	c.key = compileField(probs, "key", s.Key)
	c.value = compileField(probs, "value", s.Value)
	c.time = s.checkTime(probs, c.dec)
	c.agg, c.aggField = s.checkAggregate(probs)
	c.windows = s.checkWindow(probs)
	c.emit = s.checkEmit(probs)
	c.joinOn, c.otherOn = s.checkJoin(probs)
	return c
}

// compileField compiles the expression of the field at path; "" is none.
func compileField(probs *spec.Problems, path, src string) *program {
	if src == "" {
		return nil
	}
	prog, err := compileExpr(src)
	if err != nil {
		probs.Add(path, err.Error())
	}
	return prog
}

func (s JobSpec) checkRequired(probs *spec.Problems) {
	if s.Name == "" {
		probs.Add("name", "is missing: give the job a name")
	}
	if len(s.Inputs) == 0 {
		probs.Add("inputs", "is missing: list the input topics, like inputs = [\"orders\"]")
	}
	if s.Output == "" {
		probs.Add("output", "is missing: name the output topic")
	}
}

func (s JobSpec) checkFormat(probs *spec.Problems) decoder {
	dec := decoder{format: s.Format}
	switch s.Format {
	case "", "json", "string", "bytes":
	case formatAvro, formatProtobuf, formatJSONSchema:
		dec.sd = newSchemaDecoder(s.Registry, s.Format)
	default:
		probs.Addf("format", "%q is unknown: use json, string, bytes, avro, protobuf or json_schema", s.Format)
	}
	return dec
}

func (s JobSpec) checkOutputFormat(probs *spec.Problems) *schemaEncoder {
	switch s.OutputFormat {
	case "", "json":
		return nil
	case formatAvro, formatProtobuf, formatJSONSchema:
	default:
		probs.Addf("output_format", "%q is unknown: use json, avro, protobuf or json_schema", s.OutputFormat)
		return nil
	}
	text := s.OutputSchema
	if text == "" && s.OutputFormat == formatAvro && s.Aggregate != nil {
		text = aggregateAvroSchema(s.Window != nil)
	}
	switch {
	case s.Aggregate == nil && s.Value == "" && s.Join == nil:
		probs.Addf("output_format", "%q applies to jobs that write JSON (aggregate, value or join); this job passes its input values through as read", s.OutputFormat)
	case text == "":
		probs.Addf("output_format", "%q needs output_schema (only avro aggregates have a derived schema)", s.OutputFormat)
	default:
		return &schemaEncoder{registry: s.Registry, format: s.OutputFormat, text: text, subject: s.Output + "-value"}
	}
	return nil
}

func (s JobSpec) checkTime(probs *spec.Problems, dec decoder) TimePolicy {
	if s.Time == nil {
		return EventTime()
	}
	loc := time.UTC
	if s.Time.Zone != "" {
		l, err := time.LoadLocation(s.Time.Zone)
		if err != nil {
			probs.Addf("time.zone", "%q is not a time zone (like \"UTC\" or \"Europe/Paris\")", s.Time.Zone)
		} else {
			loc = l
		}
	}
	switch s.Time.Type {
	case "", "event":
		if s.Time.Field != "" {
			probs.Addf("time.field", "is set but time.type is %q: use type = \"field\"", s.Time.Type)
		}
	case "field":
		if s.Time.Field == "" {
			probs.Add("time.field", "is missing: time.type is field: give an expression like \"value.ts\"")
		}
		if tf := compileField(probs, "time.field", s.Time.Field); tf != nil {
			return EventTimeFrom(func(r Record) (time.Time, error) {
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
		return LogAppendTime()
	case "processing":
		return ProcessingTime()
	default:
		probs.Addf("time.type", "%q is unknown: use event, field, log_append or processing", s.Time.Type)
	}
	return EventTime()
}

func (s JobSpec) checkAggregate(probs *spec.Problems) (agg Aggregator, field *program) {
	a := s.Aggregate
	if a == nil {
		return Aggregator{}, nil
	}
	switch a.Op {
	case "count":
		agg = Count()
	case "sum", "min", "max":
		if a.Field == "" {
			probs.Addf("aggregate.field", "is missing: %s needs a number expression like \"value.amount\"", a.Op)
		}
		field = compileField(probs, "aggregate.field", a.Field)
		pre := func(r Record) (float64, error) {
			n, ok := DecodeNumber(r.Value)
			if !ok {
				return 0, fmt.Errorf("projected value is not a number")
			}
			return n, nil
		}
		agg = map[string]func(func(Record) (float64, error)) Aggregator{"sum": Sum, "min": Min, "max": Max}[a.Op](pre)
	case "":
		probs.Add("aggregate.op", "is missing: use count, sum, min or max")
	default:
		probs.Addf("aggregate.op", "%q is unknown: use count, sum, min or max", a.Op)
	}
	if s.Value != "" {
		probs.Add("value", "is set with aggregate: an aggregate's output value is {\"value\": N}; remove value")
	}
	return agg, field
}

func (s JobSpec) checkWindow(probs *spec.Problems) Windows {
	w := s.Window
	if w == nil {
		return Windows{}
	}
	if s.Aggregate == nil {
		probs.Add("window", "is set without aggregate: add aggregate = { op = ... } or remove window")
	}
	var windows Windows
	switch w.Type {
	case "tumbling":
		windows = Tumbling(w.Size)
		if w.Advance != 0 && w.Advance != w.Size {
			probs.Add("window.advance", "is set on a tumbling window: use type = \"hopping\"")
		}
	case "hopping":
		windows = Hopping(w.Size, w.Advance)
		if w.Advance == 0 {
			probs.Add("window.advance", "is missing: a hopping window needs advance = \"...\"")
		}
	case "":
		probs.Add("window.type", "is missing: use tumbling or hopping")
	default:
		probs.Addf("window.type", "%q is unknown: use tumbling or hopping", w.Type)
	}
	windows = windows.WithGrace(w.Grace)
	if w.Type != "" && (w.Type != "hopping" || w.Advance != 0) {
		if err := windows.validate(); err != nil {
			probs.Add("window", err.Error())
		}
	}
	return windows
}

func (s JobSpec) checkEmit(probs *spec.Problems) Emit {
	switch s.Emit {
	case "", "update":
	case "final":
		if s.Window == nil {
			probs.Add("emit", "\"final\" needs a window: without one an aggregate is a running total, emitted on update")
		}
		return EmitFinal
	default:
		probs.Addf("emit", "%q is unknown: use update or final", s.Emit)
	}
	return EmitUpdate
}

func (s JobSpec) checkJoin(probs *spec.Problems) (joinOn, otherOn *program) {
	j := s.Join
	if j == nil {
		return nil, nil
	}
	switch {
	case j.Table != "" && j.Stream != "":
		probs.Add("join", "has both table and stream: a join is with one table or one stream")
	case j.Table == "" && j.Stream == "":
		probs.Add("join", "needs table = \"TOPIC\" (a compacted or CDC topic) or stream = \"TOPIC\"")
	case j.Table != "":
		if j.Window != 0 || j.OtherOn != "" {
			probs.Add("join", "window and other_on apply to stream joins, not to table joins")
		}
	case j.Stream != "":
		if j.Window <= 0 {
			probs.Add("join.window", "is missing: a stream-stream join needs window = \"5m\"")
		}
		if j.CDC {
			probs.Add("join.cdc", "applies to table joins")
		}
	}
	switch j.Type {
	case "", "inner", "left":
	default:
		probs.Addf("join.type", "%q is unknown: use inner or left", j.Type)
	}
	return compileField(probs, "join.on", j.On), compileField(probs, "join.other_on", j.OtherOn)
}

// wire builds the topology of a checked spec, with fixed step names.
func (s JobSpec) wire(c *compiled) *Topology {
	top := NewTopology(s.AppID())
	st := top.Stream("input", s.Inputs, WithTime(c.time))
	if s.Join != nil {
		st = s.wireJoin(top, st, c)
	}
	if c.filter != nil {
		st = st.Filter("filter", func(r Record) (bool, error) {
			env, err := c.dec.env(r)
			if err != nil {
				return false, err
			}
			return c.filter.runBool(env)
		})
	}
	if s.Aggregate != nil {
		st = s.wireAggregate(st, c)
	} else {
		st = s.wireProjection(st, c)
	}
	if c.outEnc != nil {
		st = st.Map("encode", c.outEnc.encode)
	}
	st.To("output", s.Output)
	return top
}

// keyOf returns a key function evaluating prog on a record.
func (c *compiled) keyOf(prog *program) func(Record) ([]byte, error) {
	return func(r Record) ([]byte, error) {
		env, err := c.dec.env(r)
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

func (s JobSpec) wireJoin(top *Topology, st *Stream, c *compiled) *Stream {
	j := s.Join
	if j.Table != "" {
		var opts []SourceOpt
		if j.CDC {
			opts = append(opts, WithCDC(CDCJSON()))
		}
		tbl := top.Table("table", j.Table, opts...)
		var kf func(Record) ([]byte, error)
		if c.joinOn != nil {
			kf = c.keyOf(c.joinOn)
		}
		inner := j.Type == "inner"
		return st.JoinTable("join", tbl, kf, func(r Record, row []byte, found bool) (Record, bool, error) {
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
	}
	other := top.Stream("other", []string{j.Stream}, WithTime(c.time))
	otherOn := c.otherOn
	if c.joinOn != nil {
		st = st.Repartition("join-left", c.keyOf(c.joinOn))
		if otherOn == nil {
			otherOn = c.joinOn
		}
	}
	if otherOn != nil {
		other = other.Repartition("join-right", c.keyOf(otherOn))
	}
	kind := InnerJoin
	if j.Type == "left" {
		kind = LeftJoin
	}
	return st.Join("join", other, j.Window, j.Grace, kind, func(l Record, r *Record) (Record, error) {
		if r != nil {
			v, err := c.dec.decode(r.Value)
			if err != nil {
				return l, err
			}
			l.joined = v
		}
		return l, nil
	})
}

func (s JobSpec) wireAggregate(st *Stream, c *compiled) *Stream {
	// project computes the group key and the aggregated number before
	// repartitioning, while the whole record (and its joined row) is at
	// hand; the repartition topic carries only key and number.
	if c.aggField != nil || c.key != nil {
		st = st.Map("project", c.project)
	}
	var g *Grouped
	if c.key != nil {
		g = st.GroupBy("group-by", func(r Record) ([]byte, error) { return r.Key, nil })
	} else {
		g = st.GroupByKey()
	}
	if s.Window != nil {
		st = g.Windowed(c.windows).Aggregate("aggregate", c.agg, c.emit)
	} else {
		st = g.Aggregate("aggregate", c.agg)
	}
	return st.Map("format", FormatAggregate)
}

// project sets a record's key to the key expression and its value to the
// aggregated number.
func (c *compiled) project(r Record) (Record, error) {
	env, err := c.dec.env(r)
	if err != nil {
		return r, err
	}
	if c.key != nil {
		v, err := c.key.run(env)
		if err != nil {
			return r, err
		}
		if r.Key, err = toBytes(v); err != nil {
			return r, err
		}
	}
	if c.aggField != nil {
		v, err := c.aggField.run(env)
		if err != nil {
			return r, err
		}
		f, err := toFloat(v)
		if err != nil {
			return r, fmt.Errorf("aggregate.field %q: %w", c.aggField.src, err)
		}
		r.Value = EncodeNumber(f)
	}
	return r, nil
}

func (s JobSpec) wireProjection(st *Stream, c *compiled) *Stream {
	if c.key != nil {
		keyOf := c.keyOf(c.key)
		st = st.Map("set-key", func(r Record) (Record, error) {
			k, err := keyOf(r)
			r.Key = k
			return r, err
		})
	}
	switch {
	case c.value != nil:
		return st.Map("set-value", func(r Record) (Record, error) {
			env, err := c.dec.env(r)
			if err != nil {
				return r, err
			}
			v, err := c.value.run(env)
			if err != nil {
				return r, err
			}
			r.Value, err = toBytes(v)
			return r, err
		})
	case s.Join != nil:
		return st.Map("set-value", func(r Record) (Record, error) {
			v, err := c.dec.decode(r.Value)
			if err != nil {
				return r, err
			}
			r.Value, err = json.Marshal(map[string]any{"value": v, "joined": r.joined})
			return r, err
		})
	}
	return st
}
