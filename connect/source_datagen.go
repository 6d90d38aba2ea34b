package connect

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Keys of datagen.
const (
	fieldRate      = "rate"
	fieldCount     = "count"
	fieldKeys      = "keys"
	fieldKeyPrefix = "key_prefix"
	fieldShape     = "shape"
	fieldValueSize = "value_size"
	fieldSeed      = "seed"
	fieldBatch     = "batch"
)

// DefaultDatagenShape is the JSON shape datagen generates unless shape is
// set: a demo order.
var DefaultDatagenShape = map[string]any{
	"id":       "seq",
	"customer": "key",
	"amount":   "float:1:200",
	"currency": "choice:EUR,USD,GBP",
	"time":     "now",
}

func datagenPlugin() *Plugin {
	return &Plugin{
		Name:           "datagen",
		Version:        "1.0",
		ValueConverter: ConverterJSON,
		KeyConverter:   ConverterString,
		Spec: NewSpec("Generate JSON records: a sequence of values shaped by shape, keyed over a fixed number of keys, at a rate or as fast as possible, deterministic for a seed (except \"now\" fields). Each task resumes its sequence from its saved offset, so count holds across restarts.",
			NewField(fieldTopic, TypeString).Description("Topic to produce to."),
			NewField(fieldRate, TypeFloat).Default(float64(0)).AtLeast(0).Description("Records per second over all tasks; 0 for as fast as possible."),
			NewField(fieldCount, TypeInt).Default(int64(0)).AtLeast(0).Description("Records to generate over all tasks, then stop; 0 for endless."),
			NewField(fieldKeys, TypeInt).Default(int64(20)).AtLeast(0).Description("Key cardinality: keys are key_prefix-00 ... key_prefix-(keys-1); 0 for null keys."),
			NewField(fieldKeyPrefix, TypeString).Default("customer").Description("Prefix of generated keys."),
			NewField(fieldShape, TypeTable).Optional().Description(`Fields of the JSON value and their generators: "seq" (sequence number), "key" (the record key), "int:MIN:MAX", "float:MIN:MAX", "choice:A,B,C", "string:N" (N random letters), "bool", "now" (RFC 3339 time), or any other text as a constant. Default: an order with id, customer, amount, currency, time.`),
			NewField(fieldValueSize, TypeInt).Default(int64(0)).AtLeast(0).Description(`Pad each value with a "pad" field to at least this many bytes (benchmarks).`),
			NewField(fieldSeed, TypeInt).Default(int64(1)).Description("Seed of the generator: the same seed gives the same records."),
			NewField(fieldBatch, TypeInt).Default(int64(1000)).AtLeast(1).Description("Records per poll."),
		),
		NewSource: func(p *Parsed) (SourceConnector, error) {
			var errs []FieldError
			if p.String(fieldTopic) == "" {
				errs = append(errs, FieldError{Path: fieldTopic, Msg: "must not be empty"})
			}
			shape := p.Table(fieldShape)
			if shape == nil {
				shape = DefaultDatagenShape
			}
			gens, err := compileShape(shape)
			if err != nil {
				errs = append(errs, FieldError{Path: fieldShape, Msg: err.Error()})
			}
			if len(errs) > 0 {
				return nil, &ConfigError{Fields: errs}
			}
			return &datagen{p: p, gens: gens}, nil
		},
	}
}

type datagen struct {
	p    *Parsed
	gens []fieldGen
}

// Tasks splits rate and count evenly; task i generates sequence numbers
// i, i+n, i+2n, ...
func (d *datagen) Tasks(max int) ([]Conf, error) {
	out := make([]Conf, max)
	for i := range out {
		c := confOf(d.p)
		c[confTask], c[confTasks] = int64(i), int64(max)
		out[i] = c
	}
	return out, nil
}

func (d *datagen) NewTask(c Conf) (SourceTask, error) {
	p := ParsedConf(c)
	n := p.Int(confTasks)
	idx := p.Int(confTask)
	t := &datagenTask{
		topic: p.String(fieldTopic), keys: p.Int(fieldKeys), prefix: p.String(fieldKeyPrefix), gens: d.gens,
		size: int(p.Int(fieldValueSize)), seed: uint64(p.Int(fieldSeed)), batch: int(p.Int(fieldBatch)),
		idx: idx, n: n, part: map[string]any{"task": idx},
	}
	if total := p.Int(fieldCount); total > 0 {
		// Task idx generates the sequence numbers idx, idx+n, ... below total.
		t.limit = (total - idx + n - 1) / n
		if t.limit <= 0 {
			t.limit = 0
			t.done = true
		}
	}
	if rate := p.Float(fieldRate); rate > 0 {
		t.rate = rate / float64(n)
	}
	t.keyNames = make([][]byte, t.keys)
	for i := range t.keyNames {
		t.keyNames[i] = []byte(t.prefix + "-" + pad2(i))
	}
	return t, nil
}

func pad2(i int) string {
	if i < 10 {
		return "0" + strconv.Itoa(i)
	}
	return strconv.Itoa(i)
}

type datagenTask struct {
	topic    string
	keys     int64
	prefix   string
	keyNames [][]byte
	gens     []fieldGen
	size     int
	seed     uint64
	batch    int
	idx, n   int64
	part     map[string]any
	limit    int64 // records this task generates; 0 = endless
	done     bool
	rate     float64

	next    int64 // this task's count so far
	started time.Time
	base    int64
}

func (t *datagenTask) Start(ctx context.Context, tc TaskContext) error {
	if off := tc.Offset(t.part); off != nil {
		if n, ok := toInt64(off["generated"]); ok {
			t.next = n
		}
	}
	t.started, t.base = time.Now(), t.next
	return nil
}

func (t *datagenTask) Poll(ctx context.Context) ([]*Record, error) {
	if t.done || (t.limit > 0 && t.next >= t.limit) {
		return nil, ErrEndOfInput
	}
	n := int64(t.batch)
	if t.limit > 0 {
		n = min(n, t.limit-t.next)
	}
	if t.rate > 0 {
		// Generate what the rate allows by now; wait for at least one.
		allowed := int64(time.Since(t.started).Seconds()*t.rate) - (t.next - t.base)
		if allowed <= 0 {
			wait := time.Duration(float64(time.Second) / t.rate)
			tm := time.NewTimer(min(max(wait, time.Millisecond), 200*time.Millisecond))
			defer tm.Stop()
			select {
			case <-ctx.Done():
			case <-tm.C:
			}
			return nil, nil
		}
		n = min(n, allowed)
	}
	recs := make([]Record, n)
	out := make([]*Record, n)
	arena := make([]byte, 0, int(n)*max(t.size+16, 128))
	now := time.Now()
	nowText := now.UTC().Format(time.RFC3339Nano)
	for i := range recs {
		seq := t.idx + (t.next+int64(i))*t.n
		rng := splitmix(t.seed ^ uint64(seq)*0x9e3779b97f4a7c15)
		var key []byte
		if t.keys > 0 {
			key = t.keyNames[rng%uint64(t.keys)]
		}
		start := len(arena)
		arena = t.value(arena, seq, key, rng, nowText)
		r := &recs[i]
		r.Topic, r.Partition, r.Offset, r.Timestamp = t.topic, -1, -1, now
		if key != nil {
			r.Key = key
		}
		r.Value = RawJSON(arena[start:len(arena):len(arena)])
		r.SourcePartition = t.part
		out[i] = r
	}
	t.next += n
	out[n-1].SourceOffset = map[string]any{"generated": t.next}
	return out, nil
}

func (t *datagenTask) value(b []byte, seq int64, key []byte, rng uint64, now string) []byte {
	start := len(b)
	b = append(b, '{')
	for i, g := range t.gens {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, g.quoted...)
		rng = splitmix(rng + uint64(i))
		b = g.gen(b, seq, key, rng, now)
	}
	if pad := t.size - (len(b) - start) - 1; pad > 0 {
		if len(t.gens) > 0 {
			b = append(b, ',')
			pad--
		}
		b = append(b, `"pad":"`...)
		pad -= 8
		for range max(pad, 0) {
			b = append(b, 'x')
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

func (t *datagenTask) Close() error { return nil }

// splitmix is SplitMix64: a fast, well-mixed hash of its input.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type fieldGen struct {
	name   string
	quoted []byte // "name":
	gen    func(b []byte, seq int64, key []byte, rng uint64, now string) []byte
}

// compileShape turns a shape table into generators, sorted by field name.
func compileShape(shape map[string]any) ([]fieldGen, error) {
	names := make([]string, 0, len(shape))
	for k := range shape {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []fieldGen
	for _, name := range names {
		spec, ok := shape[name].(string)
		if !ok {
			return nil, fmt.Errorf("field %q: the generator must be a string such as \"seq\" or \"int:1:100\"", name)
		}
		g, err := compileGen(spec)
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", name, err)
		}
		out = append(out, fieldGen{name: name, quoted: append(strconv.AppendQuote(nil, name), ':'), gen: g})
	}
	return out, nil
}

func compileGen(spec string) (func(b []byte, seq int64, key []byte, rng uint64, now string) []byte, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "seq":
		return func(b []byte, seq int64, _ []byte, _ uint64, _ string) []byte { return strconv.AppendInt(b, seq, 10) }, nil
	case "key":
		return func(b []byte, _ int64, key []byte, _ uint64, _ string) []byte {
			if key == nil {
				return append(b, "null"...)
			}
			b = append(b, '"')
			b = append(b, key...)
			return append(b, '"')
		}, nil
	case "now":
		return func(b []byte, _ int64, _ []byte, _ uint64, now string) []byte {
			b = append(b, '"')
			b = append(b, now...)
			return append(b, '"')
		}, nil
	case "bool":
		return func(b []byte, _ int64, _ []byte, rng uint64, _ string) []byte {
			return strconv.AppendBool(b, rng&1 == 1)
		}, nil
	case "int", "float":
		lo, hi, err := bounds(arg)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", spec, err)
		}
		if kind == "int" {
			span := uint64(hi-lo) + 1
			return func(b []byte, _ int64, _ []byte, rng uint64, _ string) []byte {
				return strconv.AppendInt(b, int64(lo)+int64(rng%span), 10)
			}, nil
		}
		return func(b []byte, _ int64, _ []byte, rng uint64, _ string) []byte {
			f := lo + (hi-lo)*float64(rng>>11)/float64(1<<53)
			return strconv.AppendFloat(b, math.Round(f*100)/100, 'f', -1, 64)
		}, nil
	case "choice":
		choices := strings.Split(arg, ",")
		if arg == "" {
			return nil, fmt.Errorf("%q: list the choices, as choice:A,B,C", spec)
		}
		quoted := make([][]byte, len(choices))
		for i, c := range choices {
			quoted[i] = strconv.AppendQuote(nil, c)
		}
		return func(b []byte, _ int64, _ []byte, rng uint64, _ string) []byte {
			return append(b, quoted[rng%uint64(len(quoted))]...)
		}, nil
	case "string":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: give a length, as string:12", spec)
		}
		return func(b []byte, _ int64, _ []byte, rng uint64, _ string) []byte {
			b = append(b, '"')
			for i := range n {
				if i%10 == 0 && i > 0 {
					rng = splitmix(rng)
				}
				b = append(b, byte('a'+(rng>>(6*(i%10)))%26))
			}
			return append(b, '"')
		}, nil
	}
	constant := strconv.AppendQuote(nil, spec)
	return func(b []byte, _ int64, _ []byte, _ uint64, _ string) []byte { return append(b, constant...) }, nil
}

func bounds(arg string) (float64, float64, error) {
	a, b, ok := strings.Cut(arg, ":")
	if !ok {
		return 0, 0, fmt.Errorf("give bounds as MIN:MAX")
	}
	lo, err1 := strconv.ParseFloat(a, 64)
	hi, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || hi < lo {
		return 0, 0, fmt.Errorf("bounds %q are not MIN:MAX numbers with MIN <= MAX", arg)
	}
	return lo, hi, nil
}
