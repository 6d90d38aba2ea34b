// Package spec declares the configuration of kdeck's jobs (connectors and
// their transforms, mirror flows, stream jobs) as fields with a name, a
// type, a default, a description and validation, in the manner of benthos's
// ConfigSpec: the same declaration decodes the generic table that TOML or
// the API hands over, validates it, suggests the key that was meant, and
// documents the job (kdeck connect plugins, the worker API).
//
// Every problem is reported at once in one *Error, each as a FieldError
// whose Path names the field from the table's root ("topic",
// "producer.linger", "transforms[0].type"), so that the TOML validator, the
// API and the console place and print them the same way.
//
//	s := spec.New("Appends records to a file.",
//		spec.NewField("path", spec.TypeString).Description("File to append to."),
//		spec.NewField("flush", spec.TypeDuration).Default("1s"),
//		spec.NewField("producer", spec.TypeTable).Optional().Fields(producerSpec))
//	p, err := s.Parse(table)
//	var se *spec.Error
//	if errors.As(err, &se) {
//		for _, f := range se.Fields {
//			fmt.Println(f.Path, f.Msg) // "flush" `"soon" is not a duration (...)`
//		}
//	}
//	path, flush := p.String("path"), p.Duration("flush")
//
// The package depends on nothing of kdeck but timespec (durations), so the
// runtimes (connect, mirror, streams) and the configuration loader (config)
// can all use it.
package spec

import (
	"slices"
	"strings"
)

// Type is the type of a field's value.
type Type string

// Field types. Parse hands each as the Go type written beside it.
const (
	// TypeString is a string (string).
	TypeString Type = "string"
	// TypeInt is an integer (int64); a float with no fraction is accepted.
	TypeInt Type = "int"
	// TypeFloat is a number (float64).
	TypeFloat Type = "float"
	// TypeBool is true or false (bool).
	TypeBool Type = "bool"
	// TypeDuration is a duration (time.Duration) written as a Go duration
	// ("500ms", "1h30m"), a day count ("2d") or ISO 8601 ("PT30S");
	// negative durations are refused.
	TypeDuration Type = "duration"
	// TypeStrings is a list of strings ([]string); a single string is
	// accepted, split at commas unless the field is KeepCommas.
	TypeStrings Type = "strings"
	// TypeTables is a list of tables ([]map[string]any), such as
	// transforms.
	TypeTables Type = "tables"
	// TypeTable is one table: any keys (map[string]any), or, when the field
	// declares Fields, the keys of that spec (*Parsed, read with Sub).
	TypeTable Type = "table"
)

// Field declares one field: its name, type, description, default and
// checks. Build it with NewField and the chained setters; a Field is not
// changed once a Spec using it has parsed a table.
type Field struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Desc     string `json:"description"`
	Def      any    `json:"default,omitempty"`
	Required bool   `json:"required"`
	// Choices restricts a string field to these values.
	Choices []string `json:"choices,omitempty"`
	// Min is the smallest allowed number, when set.
	Min *float64 `json:"min,omitempty"`
	// Sub declares the keys of a TypeTable field.
	Sub *Spec `json:"fields,omitempty"`

	keepCommas bool
	check      func(v any) error
}

// NewField declares a required field of type t. Give it a Default, or call
// Optional, to make it optional.
func NewField(name string, t Type) *Field { return &Field{Name: name, Type: t, Required: true} }

// Description sets the field's documentation. Its first sentence is the
// message of a missing required field.
func (f *Field) Description(d string) *Field { f.Desc = d; return f }

// Default sets the default value, in any form the field's type accepts,
// and makes the field optional.
func (f *Field) Default(v any) *Field { f.Def, f.Required = v, false; return f }

// Optional makes the field optional without a default: an absent field
// parses as its type's zero value, and Parsed.Has reports it absent.
func (f *Field) Optional() *Field { f.Required = false; return f }

// Enum restricts a string field to the given choices; any other value is
// refused with a suggestion.
func (f *Field) Enum(choices ...string) *Field { f.Choices = choices; return f }

// AtLeast sets the smallest allowed value of a number field.
func (f *Field) AtLeast(min float64) *Field { f.Min = &min; return f }

// KeepCommas makes a single string given for a TypeStrings field one
// element, commas and all (regular expressions), instead of a
// comma-separated list.
func (f *Field) KeepCommas() *Field { f.keepCommas = true; return f }

// Fields declares the keys of a TypeTable field: its table is parsed
// against sub, and its problems are reported under "NAME.KEY".
func (f *Field) Fields(sub *Spec) *Field { f.Sub = sub; return f }

// Check adds a validation of the decoded value (in the Go type of the
// field's Type), run after the type and range checks; its error's text is
// the field's message.
func (f *Field) Check(fn func(v any) error) *Field { f.check = fn; return f }

// Spec is a configuration specification: a summary and an ordered list of
// fields. A Spec is immutable once used and safe for concurrent use.
type Spec struct {
	Summary string   `json:"summary"`
	Fields  []*Field `json:"fields"`
}

// New returns a spec with the given summary and fields.
func New(summary string, fields ...*Field) *Spec {
	return &Spec{Summary: summary, Fields: fields}
}

// With returns a new spec with s's summary and fields followed by more's
// fields.
func (s *Spec) With(more *Spec) *Spec {
	out := &Spec{Summary: s.Summary}
	out.Fields = append(append(out.Fields, s.Fields...), more.Fields...)
	return out
}

// Field returns the field called name, or nil.
func (s *Spec) Field(name string) *Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Names returns the field names in declaration order.
func (s *Spec) Names() []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return names
}

// Parse checks table against s and returns the parsed values: every field
// present, defaults applied, values in their types' Go forms. Otherwise it
// returns an *Error listing every unknown key (with a suggestion), missing
// field and mistyped or out-of-range value, unknown keys first (sorted),
// then the fields in declaration order; the Error has no Subject: callers
// set it.
func (s *Spec) Parse(table map[string]any) (*Parsed, error) {
	var p Problems
	parsed := s.Decode(table, &p)
	if err := p.Err("", nil); err != nil {
		return nil, err
	}
	return parsed, nil
}

// Decode parses table as Parse does but records the problems in probs and
// returns what it could decode (a bad field reads as its zero value), so
// that a caller can add its own cross-field checks and report everything
// at once.
func (s *Spec) Decode(table map[string]any, probs *Problems) *Parsed {
	return s.parse(table, "", probs)
}

func (s *Spec) parse(table map[string]any, prefix string, probs *Problems) *Parsed {
	p := &Parsed{vals: map[string]any{}, set: map[string]bool{}}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s.Field(k) == nil {
			probs.Add(prefix+k, "unknown key"+Suggest(k, s.Names()))
		}
	}
	for _, f := range s.Fields {
		raw, ok := table[f.Name]
		p.set[f.Name] = ok
		if !ok {
			if f.Required {
				probs.Add(prefix+f.Name, "missing: "+firstSentence(f.Desc))
				continue
			}
			if raw = f.Def; raw == nil {
				p.vals[f.Name] = zero(f)
				continue
			}
		}
		v, err := decode(f, raw)
		if err != nil {
			probs.Add(prefix+f.Name, err.Error())
			continue
		}
		if f.Sub != nil {
			v = f.Sub.parse(v.(map[string]any), prefix+f.Name+".", probs)
		}
		p.vals[f.Name] = v
	}
	return p
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "required"
	}
	return strings.ToLower(s[:1]) + s[1:]
}
