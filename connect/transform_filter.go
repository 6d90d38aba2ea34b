package connect

import (
	"github.com/kdeck/kdeck/expression"
)

// Field names of the filter transform.
const (
	fieldExpr   = "expr"
	fieldNegate = "negate"
)

// FilterVars are the variables a filter expression may use.
var FilterVars = []string{"key", "value", "topic", "partition", "offset", "timestamp", "headers"}

func filterTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "filter",
		Aliases: kafkaAliases("Filter", false),
		Spec: NewSpec("Drop the records for which an expression is true (Kafka Connect's Filter with a predicate); negate keeps only those. The expression (expr-lang.org) sees key, value (decoded JSON for the json converter), topic, partition, offset, timestamp (time) and headers (a table of strings).",
			NewField(fieldExpr, TypeString).Description(`Expression, for example value.amount < 10 or headers["type"] == "test".`),
			NewField(fieldNegate, TypeBool).Default(false).Description("Keep the records for which the expression is true, drop the others."),
		),
		New: func(p *Parsed) (Transform, error) {
			prog, err := expression.Compile(p.String(fieldExpr), FilterVars...)
			if err != nil {
				return nil, err
			}
			negate := p.Bool(fieldNegate)
			return TransformFunc(func(r *Record) (*Record, error) {
				v := r.Value
				switch x := v.(type) {
				case []byte:
					v = string(x) // lines and string-converted values compare as text
				default:
					if m, ok, err := asMap(v); err == nil && ok {
						v = m
						r.Value = m
					}
				}
				k := r.Key
				if b, ok := k.([]byte); ok {
					k = string(b)
				}
				hs := make(map[string]string, len(r.Headers))
				for _, h := range r.Headers {
					hs[h.Key] = string(h.Value)
				}
				match, err := prog.Bool(map[string]any{
					"key": k, "value": v, "topic": r.Topic, "partition": int64(r.Partition),
					"offset": r.Offset, "timestamp": r.Timestamp, "headers": hs,
				})
				if err != nil {
					return nil, err
				}
				if match != negate {
					return nil, nil
				}
				return r, nil
			}), nil
		},
	}
}
