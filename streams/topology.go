package streams

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Topology is a graph of steps built with Stream, Table and the methods of
// Stream and Grouped. Every step has a name given by the user; names are
// unique within a topology and become part of internal topic and store names,
// so renaming a step orphans its state while adding one does not.
//
// A Topology is not safe for concurrent building; once passed to New it must
// not be changed.
type Topology struct {
	appID   string
	nodes   []*node
	names   map[string]string // step name -> kind
	sources map[string][]*node
	inputs  []string // input topics, in order of first use
	// repartition topics, in creation order.
	repartitions []string
	sinks        []string // output topics
	stores       []*storeDef
	tables       []*tableDef
	errs         []error
}

// NewTopology returns an empty topology for the application id appID, which
// is the consumer group of the job and the prefix of its internal topics.
func NewTopology(appID string) *Topology {
	t := &Topology{appID: appID, names: map[string]string{}, sources: map[string][]*node{}}
	if !validName.MatchString(appID) {
		t.errs = append(t.errs, fmt.Errorf("application id %q is invalid: use letters, digits, '.', '_' and '-'", appID))
	}
	return t
}

// AppID returns the topology's application id.
func (t *Topology) AppID() string { return t.appID }

var validName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// node is one step. proc handles a record and calls forward for each output;
// flush, for stateful steps, runs at the end of every batch of records.
type node struct {
	name  string
	kind  string
	proc  func(t *task, r Record) error
	flush func(t *task) error
	next  []*node
}

func (n *node) forward(t *task, r Record) error {
	for _, c := range n.next {
		if err := c.proc(t, r); err != nil {
			return err
		}
	}
	return nil
}

func (t *Topology) step(parent *node, name, kind string) *node {
	if !validName.MatchString(name) {
		t.errs = append(t.errs, fmt.Errorf("%s step name %q is invalid: use 1 to 200 letters, digits, '.', '_' and '-'", kind, name))
	} else if k, dup := t.names[name]; dup {
		t.errs = append(t.errs, fmt.Errorf("%s step name %q is already used by a %s step: give every step its own name", kind, name, k))
	}
	t.names[name] = kind
	n := &node{name: name, kind: kind}
	if parent != nil {
		parent.next = append(parent.next, n)
	}
	t.nodes = append(t.nodes, n)
	return n
}

// Stream is a stream of records: the output of a source or of a step.
type Stream struct {
	top *Topology
	n   *node
}

// SourceOpt configures a source (Stream or Table).
type SourceOpt interface{ applySource(*sourceCfg) }

type sourceCfg struct {
	time TimePolicy
	cdc  CDCDecoder
}

type sourceOptFunc func(*sourceCfg)

func (f sourceOptFunc) applySource(c *sourceCfg) { f(c) }

// WithTime sets how a source assigns event time; the default is EventTime
// (the record's timestamp).
func WithTime(p TimePolicy) SourceOpt { return sourceOptFunc(func(c *sourceCfg) { c.time = p }) }

// Stream adds a source step named name reading topics, which must exist and
// (when several) have the same number of partitions.
func (t *Topology) Stream(name string, topics []string, opts ...SourceOpt) *Stream {
	var cfg sourceCfg
	for _, o := range opts {
		o.applySource(&cfg)
	}
	n := t.step(nil, name, "source")
	if len(topics) == 0 {
		t.errs = append(t.errs, fmt.Errorf("source %q has no input topic: name at least one", name))
	}
	tp := cfg.time
	n.proc = func(tk *task, r Record) error {
		if err := tp.assign(&r); err != nil {
			return fmt.Errorf("source %s: event time: %w", name, err)
		}
		return n.forward(tk, r)
	}
	for _, topic := range topics {
		if len(t.sources[topic]) == 0 {
			t.inputs = append(t.inputs, topic)
		}
		t.sources[topic] = append(t.sources[topic], n)
	}
	return &Stream{top: t, n: n}
}

// Filter keeps the records for which fn returns true.
func (s *Stream) Filter(name string, fn func(Record) (bool, error)) *Stream {
	n := s.top.step(s.n, name, "filter")
	n.proc = func(t *task, r Record) error {
		ok, err := fn(r)
		if err != nil {
			return fmt.Errorf("filter %s: %w", name, err)
		}
		if !ok {
			return nil
		}
		return n.forward(t, r)
	}
	return &Stream{top: s.top, n: n}
}

// Map replaces every record by fn's result. A Map that changes keys before
// an aggregation should be followed by GroupByKey only if the records are
// already partitioned by the new key; otherwise use GroupBy.
func (s *Stream) Map(name string, fn func(Record) (Record, error)) *Stream {
	n := s.top.step(s.n, name, "map")
	n.proc = func(t *task, r Record) error {
		out, err := fn(r)
		if err != nil {
			return fmt.Errorf("map %s: %w", name, err)
		}
		return n.forward(t, out)
	}
	return &Stream{top: s.top, n: n}
}

// FlatMap replaces every record by zero or more records.
func (s *Stream) FlatMap(name string, fn func(Record) ([]Record, error)) *Stream {
	n := s.top.step(s.n, name, "flat-map")
	n.proc = func(t *task, r Record) error {
		outs, err := fn(r)
		if err != nil {
			return fmt.Errorf("flat-map %s: %w", name, err)
		}
		for _, o := range outs {
			if err := n.forward(t, o); err != nil {
				return err
			}
		}
		return nil
	}
	return &Stream{top: s.top, n: n}
}

// Branch splits the stream: a record goes to the first branch whose
// predicate returns true, and is dropped when none does. names gives each
// branch its step name, one per predicate.
func (s *Stream) Branch(names []string, preds ...func(Record) (bool, error)) []*Stream {
	if len(names) != len(preds) {
		s.top.errs = append(s.top.errs, fmt.Errorf("branch has %d names for %d predicates: give one name per branch", len(names), len(preds)))
		return nil
	}
	outs := make([]*Stream, len(preds))
	nodes := make([]*node, len(preds))
	for i := range preds {
		nodes[i] = s.top.step(nil, names[i], "branch")
		nodes[i].proc = func(t *task, r Record) error { return nodes[i].forward(t, r) }
		outs[i] = &Stream{top: s.top, n: nodes[i]}
	}
	// The router is not a named step: it has no state and no internal
	// topic, so its identity does not matter.
	router := &node{kind: "branch-router"}
	router.proc = func(t *task, r Record) error {
		for i, p := range preds {
			ok, err := p(r)
			if err != nil {
				return fmt.Errorf("branch %s: %w", names[i], err)
			}
			if ok {
				return nodes[i].proc(t, r)
			}
		}
		return nil
	}
	s.n.next = append(s.n.next, router)
	return outs
}

// Merge returns a stream of the records of all the given streams.
func (t *Topology) Merge(name string, ss ...*Stream) *Stream {
	n := t.step(nil, name, "merge")
	n.proc = func(tk *task, r Record) error { return n.forward(tk, r) }
	for _, s := range ss {
		s.n.next = append(s.n.next, n)
	}
	return &Stream{top: t, n: n}
}

// Peek calls fn for every record and passes the record on unchanged.
func (s *Stream) Peek(name string, fn func(Record)) *Stream {
	n := s.top.step(s.n, name, "peek")
	n.proc = func(t *task, r Record) error {
		fn(r)
		return n.forward(t, r)
	}
	return &Stream{top: s.top, n: n}
}

// To produces the stream's records to topic, partitioned by key (records
// without a key are spread). The record's Time is the produced timestamp.
func (s *Stream) To(name, topic string) {
	n := s.top.step(s.n, name, "sink")
	if topic == "" {
		s.top.errs = append(s.top.errs, fmt.Errorf("sink %q has no topic: name the output topic", name))
	}
	s.top.sinks = append(s.top.sinks, topic)
	n.proc = func(t *task, r Record) error {
		t.produce(topic, -1, r)
		return nil
	}
}

// validate returns every problem of the topology at once.
func (t *Topology) validate() error {
	errs := append([]error(nil), t.errs...)
	if len(t.sources) == 0 && len(t.tables) == 0 {
		errs = append(errs, errors.New("topology has no source: add a Stream"))
	}
	return errors.Join(errs...)
}

// timeKind is how event time is assigned.
type timeKind int

const (
	timeRecord timeKind = iota
	timeField
	timeLogAppend
	timeProcessing
)

// TimePolicy assigns a record's event time at its source.
type TimePolicy struct {
	kind  timeKind
	field func(Record) (time.Time, error)
}

// EventTime uses the record's timestamp (its CreateTime, or the broker's
// time on LogAppendTime topics). It is the default.
func EventTime() TimePolicy { return TimePolicy{kind: timeRecord} }

// EventTimeFrom takes event time from the record itself, for example from a
// field of its value; fn must state the time zone of what it parses (see
// ParseTime).
func EventTimeFrom(fn func(Record) (time.Time, error)) TimePolicy {
	return TimePolicy{kind: timeField, field: fn}
}

// LogAppendTime uses the time the broker appended the record: the record's
// timestamp when its topic has message.timestamp.type=LogAppendTime. On a
// CreateTime topic the broker's append time is not kept, so the record's
// timestamp is used as the closest available time.
func LogAppendTime() TimePolicy { return TimePolicy{kind: timeLogAppend} }

// ProcessingTime uses the wall clock when the record is processed.
func ProcessingTime() TimePolicy { return TimePolicy{kind: timeProcessing} }

func (p TimePolicy) assign(r *Record) error {
	switch p.kind {
	case timeField:
		ts, err := p.field(*r)
		if err != nil {
			return err
		}
		r.Time = ts.UTC()
	case timeProcessing:
		r.Time = time.Now().UTC()
	}
	return nil
}

// ParseTime parses s as RFC 3339; a time without an offset
// ("2006-01-02T15:04:05" or "2006-01-02 15:04:05") is read in loc, which
// must be given explicitly (time.UTC for UTC). The result is in UTC.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ts.UTC(), nil
	}
	if loc == nil {
		return time.Time{}, fmt.Errorf("time %q has no UTC offset and no time zone was given", s)
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if ts, err := time.ParseInLocation(layout, s, loc); err == nil {
			return ts.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not RFC 3339 (2006-01-02T15:04:05Z07:00)", s)
}
