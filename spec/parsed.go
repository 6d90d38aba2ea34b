package spec

import "time"

// Parsed is a table parsed against a Spec: every field present, defaults
// applied, values in their types' Go forms (string, int64, float64, bool,
// time.Duration, []string, []map[string]any, map[string]any, or *Parsed for
// a table with declared Fields). A getter of a field that is not declared,
// or of another type, or of a nil *Parsed (an absent Sub), returns the zero
// value. Parsed is safe for concurrent
// reads.
type Parsed struct {
	vals map[string]any
	set  map[string]bool
}

// FromValues wraps values that were parsed earlier (for example a
// connector task's configuration, a copy of Values) for typed access.
func FromValues(vals map[string]any) *Parsed { return &Parsed{vals: vals} }

// Values returns a copy of the parsed values by field name.
func (p *Parsed) Values() map[string]any {
	c := make(map[string]any, len(p.vals))
	for k, v := range p.vals {
		c[k] = v
	}
	return c
}

func (p *Parsed) get(name string) any {
	if p == nil {
		return nil
	}
	return p.vals[name]
}

// Has reports whether the table set the field (rather than its default
// applying).
func (p *Parsed) Has(name string) bool { return p != nil && p.set[name] }

// String returns a string field ("" when absent).
func (p *Parsed) String(name string) string { s, _ := p.get(name).(string); return s }

// Int returns an int field.
func (p *Parsed) Int(name string) int64 { v, _ := p.get(name).(int64); return v }

// Float returns a float field.
func (p *Parsed) Float(name string) float64 { v, _ := p.get(name).(float64); return v }

// Bool returns a bool field.
func (p *Parsed) Bool(name string) bool { v, _ := p.get(name).(bool); return v }

// Duration returns a duration field.
func (p *Parsed) Duration(name string) time.Duration { v, _ := p.get(name).(time.Duration); return v }

// Strings returns a string-list field.
func (p *Parsed) Strings(name string) []string { v, _ := p.get(name).([]string); return v }

// Tables returns a table-list field.
func (p *Parsed) Tables(name string) []map[string]any {
	v, _ := p.get(name).([]map[string]any)
	return v
}

// Table returns a table field without declared Fields.
func (p *Parsed) Table(name string) map[string]any { v, _ := p.get(name).(map[string]any); return v }

// Sub returns a table field with declared Fields, or nil when the table
// did not set it (and its getters then return zero values).
func (p *Parsed) Sub(name string) *Parsed { v, _ := p.get(name).(*Parsed); return v }
