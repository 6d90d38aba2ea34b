package connect

import "fmt"

// Field names of the header transforms.
const (
	fieldHeader       = "header"
	fieldValueLiteral = "value_literal"
	fieldHeaders      = "headers"
)

func insertHeaderTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "insert_header",
		Aliases: kafkaAliases("InsertHeader", false),
		Spec: NewSpec("Add a header with a literal value (Kafka Connect's InsertHeader).",
			NewField(fieldHeader, TypeString).Description("Header name."),
			NewField(fieldValueLiteral, TypeString).Description("Header value."),
		),
		New: func(p *Parsed) (Transform, error) {
			h, v := p.String(fieldHeader), []byte(p.String(fieldValueLiteral))
			if h == "" {
				return nil, fmt.Errorf("header: must not be empty")
			}
			return TransformFunc(func(r *Record) (*Record, error) {
				r.Headers = append(r.Headers[:len(r.Headers):len(r.Headers)], Header{Key: h, Value: v})
				return r, nil
			}), nil
		},
	}
}

func dropHeadersTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "drop_headers",
		Aliases: kafkaAliases("DropHeaders", false),
		Spec: NewSpec("Remove headers by name (Kafka Connect's DropHeaders).",
			NewField(fieldHeaders, TypeStrings).Description("Header names to remove.")),
		New: func(p *Parsed) (Transform, error) {
			drop := set(p.Strings(fieldHeaders))
			return TransformFunc(func(r *Record) (*Record, error) {
				out := make([]Header, 0, len(r.Headers))
				for _, h := range r.Headers {
					if !drop[h.Key] {
						out = append(out, h)
					}
				}
				r.Headers = out
				return r, nil
			}), nil
		},
	}
}
