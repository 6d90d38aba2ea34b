package connect

import (
	"fmt"

	"github.com/kdeck/kdeck/spec"
)

// Transform is a single message transform. Apply returns the record to
// pass on (the same or a new one), nil to drop it, or an error (the record
// then goes to the dead-letter topic with errors_tolerance = "all", or fails
// the task). Transforms are called from one goroutine per task.
type Transform interface {
	Apply(r *Record) (*Record, error)
}

// TransformFunc adapts a function to Transform.
type TransformFunc func(r *Record) (*Record, error)

// Apply calls f.
func (f TransformFunc) Apply(r *Record) (*Record, error) { return f(r) }

// Transform keys shared by every transform.
const (
	fieldTransformType = "type"
	fieldOn            = "on"
)

func onField() *Field {
	return NewField(fieldOn, TypeString).Default("value").Enum("value", "key").
		Description("Whether the transform applies to the record's value or key (Kafka Connect's $Value and $Key variants).")
}

// chain is a parsed list of transforms.
type chain []namedTransform

type namedTransform struct {
	typ string
	t   Transform
}

// apply runs every transform in order; a nil record stops the chain. The
// error names the transform that failed.
func (c chain) apply(r *Record) (*Record, string, error) {
	for _, nt := range c {
		out, err := nt.t.Apply(r)
		if err != nil {
			return r, nt.typ, err
		}
		if out == nil {
			return nil, "", nil
		}
		r = out
	}
	return r, "", nil
}

// buildChain builds the transforms of a connector from its transforms
// tables; problems are named by path ("transforms[0].type").
func (r *Registry) buildChain(tables []map[string]any) (chain, []FieldError) {
	var probs spec.Problems
	ch := r.addChain(tables, &probs)
	return ch, probs.List()
}

// addChain builds the transforms of a connector, recording problems.
func (r *Registry) addChain(tables []map[string]any, probs *spec.Problems) chain {
	var out chain
	for i, tab := range tables {
		at := fmt.Sprintf("%s[%d]", FieldTransforms, i)
		typ, _ := tab[fieldTransformType].(string)
		if typ == "" {
			probs.Add(at+".type", "missing: name the transform type, for example insert_field or filter")
			continue
		}
		tp, err := r.transform(typ)
		if err != nil {
			probs.Add(at+".type", err.Error())
			continue
		}
		p, err := NewSpec("", NewField(fieldTransformType, TypeString)).With(tp.Spec).Parse(tab)
		if probs.Merge(at, err) {
			continue
		}
		t, err := tp.New(p)
		if err != nil {
			probs.Addf(at, "%s: %v", typ, err)
			continue
		}
		out = append(out, namedTransform{typ: tp.Name, t: t})
	}
	return out
}

func builtinTransforms() []*TransformPlugin {
	return []*TransformPlugin{
		insertFieldTransform(),
		replaceFieldTransform(),
		maskFieldTransform(),
		valueToKeyTransform(),
		extractFieldTransform(),
		regexRouterTransform(),
		timestampRouterTransform(),
		insertHeaderTransform(),
		dropHeadersTransform(),
		filterTransform(),
	}
}

// kafkaAliases returns Kafka Connect's class names for a transform.
func kafkaAliases(class string, keyValue bool) []string {
	full := "org.apache.kafka.connect.transforms." + class
	if !keyValue {
		return []string{class, full}
	}
	return []string{class + "$Value", full + "$Value"}
}

// operand returns the key or the value of r, per on.
func operand(r *Record, on string) any {
	if on == "key" {
		return r.Key
	}
	return r.Value
}

func setOperand(r *Record, on string, v any) {
	if on == "key" {
		r.Key = v
	} else {
		r.Value = v
	}
}

// operandMap returns the key or value as a map, decoding JSON; an error
// when it is not a map (Kafka Connect: "only Map objects supported in
// absence of schema").
func operandMap(r *Record, on, transform string) (map[string]any, error) {
	v := operand(r, on)
	m, ok, err := asMap(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", transform, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: the record %s is %s, not a JSON object", transform, on, describe(v))
	}
	return m, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []byte:
		return fmt.Sprintf("%d bytes", len(x))
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

// copyMap returns a shallow copy, so a transform never changes a map a
// previous stage still holds.
func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
