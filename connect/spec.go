package connect

import "github.com/kdeck/kdeck/spec"

// A connector's or transform's configuration is declared with package
// spec, the mechanism mirror flows and stream jobs use too; the names below
// are spec's, kept in connect so that a plugin reads connect.NewField and
// connect.TypeString.
type (
	// FieldType is spec.Type.
	FieldType = spec.Type
	// Field is spec.Field: one declared configuration field.
	Field = spec.Field
	// Spec is spec.Spec: a summary and an ordered list of fields.
	Spec = spec.Spec
	// Parsed is spec.Parsed: a configuration parsed against a Spec.
	Parsed = spec.Parsed
	// FieldError is spec.FieldError: one problem with one field, by path.
	FieldError = spec.FieldError
	// ConfigError is spec.Error: every problem of a configuration. Its
	// Subject is `connector "NAME"` once the connector's name is known.
	ConfigError = spec.Error
)

// Field types (spec's).
const (
	TypeString   = spec.TypeString
	TypeInt      = spec.TypeInt
	TypeFloat    = spec.TypeFloat
	TypeBool     = spec.TypeBool
	TypeDuration = spec.TypeDuration
	// TypeStrings is a list of strings; a single string is accepted, split
	// at commas.
	TypeStrings = spec.TypeStrings
	// TypeTables is a list of tables (transforms).
	TypeTables = spec.TypeTables
	// TypeTable is one table of any keys (a JSON shape).
	TypeTable = spec.TypeTable
)

// NewField declares a required field of type t (spec.NewField). Give it a
// Default to make it optional.
func NewField(name string, t FieldType) *Field { return spec.NewField(name, t) }

// NewSpec returns a spec with the given summary and fields (spec.New).
func NewSpec(summary string, fields ...*Field) *Spec { return spec.New(summary, fields...) }

// ParsedConf wraps a task configuration (from Tasks) for typed access.
func ParsedConf(c Conf) *Parsed { return spec.FromValues(c) }

// confOf returns parsed values as a task configuration (a copy).
func confOf(p *Parsed) Conf { return Conf(p.Values()) }
