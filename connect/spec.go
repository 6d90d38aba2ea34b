package connect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kdeck/kdeck/config"
)

// FieldType is the type of a configuration field.
type FieldType string

// Field types.
const (
	TypeString   FieldType = "string"
	TypeInt      FieldType = "int"
	TypeFloat    FieldType = "float"
	TypeBool     FieldType = "bool"
	TypeDuration FieldType = "duration"
	// TypeStrings is a list of strings; a single string is accepted, split
	// at commas.
	TypeStrings FieldType = "strings"
	// TypeTables is a list of tables (transforms).
	TypeTables FieldType = "tables"
	// TypeTable is one table of any keys (a JSON shape).
	TypeTable FieldType = "table"
)

// Field declares one configuration field: its name, type, description and
// default. Build it with NewField and the chained setters; the same
// declaration parses, validates and documents the field.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Desc     string    `json:"description"`
	Def      any       `json:"default,omitempty"`
	Required bool      `json:"required"`
	Choices  []string  `json:"choices,omitempty"`
	// Min is the smallest allowed number, when set.
	Min *float64 `json:"min,omitempty"`
}

// NewField declares a required field of type t. Give it a Default to make
// it optional.
func NewField(name string, t FieldType) *Field { return &Field{Name: name, Type: t, Required: true} }

// Description sets the field's documentation.
func (f *Field) Description(d string) *Field { f.Desc = d; return f }

// Default sets the default value and makes the field optional.
func (f *Field) Default(v any) *Field { f.Def, f.Required = v, false; return f }

// Optional makes the field optional without a default (zero value).
func (f *Field) Optional() *Field { f.Required = false; return f }

// Enum restricts a string field to the given choices.
func (f *Field) Enum(choices ...string) *Field { f.Choices = choices; return f }

// AtLeast sets the smallest allowed value of a number field.
func (f *Field) AtLeast(min float64) *Field { f.Min = &min; return f }

// Spec is a configuration specification: an ordered list of fields. A Spec
// is immutable once used and safe for concurrent use.
type Spec struct {
	Summary string   `json:"summary"`
	Fields  []*Field `json:"fields"`
}

// NewSpec returns a spec with the given summary and fields.
func NewSpec(summary string, fields ...*Field) *Spec {
	return &Spec{Summary: summary, Fields: fields}
}

// With returns a new spec with s's fields followed by more's.
func (s *Spec) With(more *Spec) *Spec {
	out := &Spec{Summary: s.Summary}
	out.Fields = append(append(out.Fields, s.Fields...), more.Fields...)
	return out
}

func (s *Spec) field(name string) *Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// FieldError is one problem with one configuration field.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

// ConfigError lists every problem of a configuration, by field.
type ConfigError struct {
	// Subject names what was configured, for example `connector "app-log"`.
	Subject string
	Fields  []FieldError
}

// Error lists every problem in one sentence.
func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Msg
	}
	subj := e.Subject
	if subj == "" {
		subj = "configuration"
	}
	if len(parts) == 1 {
		return subj + ": " + parts[0]
	}
	return fmt.Sprintf("%s has %d problems: %s", subj, len(parts), strings.Join(parts, "; "))
}

// Parsed is a configuration parsed against a Spec: every field present,
// defaults applied, values in their declared Go types (string, int64,
// float64, bool, time.Duration, []string, []map[string]any,
// map[string]any).
type Parsed struct {
	vals map[string]any
}

// Parse checks table against s and returns the parsed values, or a
// *ConfigError listing every unknown key (with a suggestion), missing field
// and mistyped value.
func (s *Spec) Parse(table map[string]any) (*Parsed, error) {
	p := &Parsed{vals: map[string]any{}}
	var errs []FieldError
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	for _, k := range keys {
		if s.field(k) == nil {
			errs = append(errs, FieldError{k, "unknown key" + config.Suggest(k, names)})
		}
	}
	for _, f := range s.Fields {
		raw, ok := table[f.Name]
		if !ok {
			if f.Required {
				errs = append(errs, FieldError{f.Name, fmt.Sprintf("missing: %s", firstSentence(f.Desc))})
				continue
			}
			raw = f.Def
			if raw == nil {
				p.vals[f.Name] = zero(f.Type)
				continue
			}
		}
		v, err := coerce(f, raw)
		if err != nil {
			errs = append(errs, FieldError{f.Name, err.Error()})
			continue
		}
		p.vals[f.Name] = v
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Fields: errs}
	}
	return p, nil
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

func zero(t FieldType) any {
	switch t {
	case TypeString:
		return ""
	case TypeInt:
		return int64(0)
	case TypeFloat:
		return float64(0)
	case TypeBool:
		return false
	case TypeDuration:
		return time.Duration(0)
	case TypeStrings:
		return []string(nil)
	case TypeTables:
		return []map[string]any(nil)
	case TypeTable:
		return map[string]any(nil)
	}
	return nil
}

func coerce(f *Field, raw any) (any, error) {
	bad := func() error {
		return fmt.Errorf("must be %s, not %s %v", article(f.Type), goTypeName(raw), shortVal(raw))
	}
	var out any
	switch f.Type {
	case TypeString:
		s, ok := raw.(string)
		if !ok {
			return nil, bad()
		}
		if len(f.Choices) > 0 {
			found := false
			for _, c := range f.Choices {
				if c == s {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("%q is not one of %s%s", s, strings.Join(f.Choices, ", "), config.Suggest(s, f.Choices))
			}
		}
		out = s
	case TypeInt:
		switch v := raw.(type) {
		case int64:
			out = v
		case int:
			out = int64(v)
		case float64:
			if v != float64(int64(v)) {
				return nil, bad()
			}
			out = int64(v)
		default:
			return nil, bad()
		}
		if f.Min != nil && float64(out.(int64)) < *f.Min {
			return nil, fmt.Errorf("must be at least %v, not %v", *f.Min, out)
		}
	case TypeFloat:
		switch v := raw.(type) {
		case int64:
			out = float64(v)
		case int:
			out = float64(v)
		case float64:
			out = v
		default:
			return nil, bad()
		}
		if f.Min != nil && out.(float64) < *f.Min {
			return nil, fmt.Errorf("must be at least %v, not %v", *f.Min, out)
		}
	case TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, bad()
		}
		out = b
	case TypeDuration:
		switch v := raw.(type) {
		case string:
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("%q is not a duration (use forms like 500ms, 10s, 5m)", v)
			}
			out = d
		case time.Duration:
			out = v
		default:
			return nil, bad()
		}
	case TypeStrings:
		switch v := raw.(type) {
		case string:
			var list []string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, s)
				}
			}
			out = list
		case []string:
			out = v
		case []any:
			list := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, bad()
				}
				list = append(list, s)
			}
			out = list
		default:
			return nil, bad()
		}
	case TypeTables:
		switch v := raw.(type) {
		case []map[string]any:
			out = v
		case []any:
			list := make([]map[string]any, 0, len(v))
			for _, e := range v {
				m, ok := e.(map[string]any)
				if !ok {
					return nil, bad()
				}
				list = append(list, m)
			}
			out = list
		default:
			return nil, bad()
		}
	case TypeTable:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, bad()
		}
		out = m
	default:
		out = raw
	}
	return out, nil
}

func article(t FieldType) string {
	switch t {
	case TypeInt:
		return "an integer"
	case TypeFloat:
		return "a number"
	case TypeBool:
		return "true or false"
	case TypeDuration:
		return `a duration such as "10s"`
	case TypeStrings:
		return "a list of strings"
	case TypeTables:
		return "a list of tables"
	case TypeTable:
		return "a table"
	}
	return "a string"
}

func goTypeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64, int:
		return "integer"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

func shortVal(v any) string {
	s := fmt.Sprintf("%v", v)
	if _, ok := v.(string); ok {
		s = fmt.Sprintf("%q", v)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// String returns a string field ("" when absent).
func (p *Parsed) String(name string) string { s, _ := p.vals[name].(string); return s }

// Int returns an int field.
func (p *Parsed) Int(name string) int64 { v, _ := p.vals[name].(int64); return v }

// Float returns a float field.
func (p *Parsed) Float(name string) float64 { v, _ := p.vals[name].(float64); return v }

// Bool returns a bool field.
func (p *Parsed) Bool(name string) bool { v, _ := p.vals[name].(bool); return v }

// Duration returns a duration field.
func (p *Parsed) Duration(name string) time.Duration { v, _ := p.vals[name].(time.Duration); return v }

// Strings returns a string-list field.
func (p *Parsed) Strings(name string) []string { v, _ := p.vals[name].([]string); return v }

// Tables returns a table-list field.
func (p *Parsed) Tables(name string) []map[string]any {
	v, _ := p.vals[name].([]map[string]any)
	return v
}

// Table returns a table field.
func (p *Parsed) Table(name string) map[string]any { v, _ := p.vals[name].(map[string]any); return v }

// Conf returns the parsed values as a task configuration (a copy).
func (p *Parsed) Conf() Conf {
	c := make(Conf, len(p.vals))
	for k, v := range p.vals {
		c[k] = v
	}
	return c
}

// ParsedConf wraps a task configuration (from Tasks) for typed access.
func ParsedConf(c Conf) *Parsed { return &Parsed{vals: c} }
