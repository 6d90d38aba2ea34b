package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kdeck/kdeck/timespec"
)

// zero is the value of an absent optional field without a default.
func zero(f *Field) any {
	switch f.Type {
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
		if f.Sub != nil {
			return (*Parsed)(nil)
		}
		return map[string]any(nil)
	}
	return nil
}

// decode turns raw (as TOML or JSON decoded it, or as a Go caller wrote
// it) into the Go form of f's type and runs f's checks.
func decode(f *Field, raw any) (any, error) {
	var (
		v   any
		err error
	)
	switch f.Type {
	case TypeString:
		v, err = decodeString(f, raw)
	case TypeInt, TypeFloat:
		v, err = decodeNumber(f, raw)
	case TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, mistyped(f, raw)
		}
		v = b
	case TypeDuration:
		v, err = decodeDuration(f, raw)
	case TypeStrings:
		v, err = decodeStrings(f, raw)
	case TypeTables:
		v, err = decodeTables(f, raw)
	case TypeTable:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, mistyped(f, raw)
		}
		v = m
	default:
		v = raw
	}
	if err == nil && f.check != nil {
		err = f.check(v)
	}
	return v, err
}

func decodeString(f *Field, raw any) (any, error) {
	s, ok := raw.(string)
	if !ok {
		return nil, mistyped(f, raw)
	}
	if len(f.Choices) > 0 && !slices.Contains(f.Choices, s) {
		return nil, fmt.Errorf("%q is not one of %s%s", s, strings.Join(f.Choices, ", "), Suggest(s, f.Choices))
	}
	return s, nil
}

func decodeNumber(f *Field, raw any) (any, error) {
	var n float64
	switch v := raw.(type) {
	case int64:
		n = float64(v)
	case int:
		n = float64(v)
	case float64:
		if f.Type == TypeInt && v != float64(int64(v)) {
			return nil, mistyped(f, raw)
		}
		n = v
	default:
		return nil, mistyped(f, raw)
	}
	var out any = n
	if f.Type == TypeInt {
		i := int64(n)
		if v, ok := raw.(int64); ok {
			i = v // exact beyond 2^53
		}
		out = i
	}
	if f.Min != nil && n < *f.Min {
		return nil, fmt.Errorf("must be at least %v, not %v", *f.Min, out)
	}
	return out, nil
}

func decodeDuration(f *Field, raw any) (any, error) {
	switch v := raw.(type) {
	case string:
		d, err := timespec.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (use forms like 500ms, 10s, 5m or PT30S)", v)
		}
		return d, nil
	case time.Duration:
		return v, nil
	}
	return nil, mistyped(f, raw)
}

func decodeStrings(f *Field, raw any) (any, error) {
	switch v := raw.(type) {
	case string:
		if f.keepCommas {
			return []string{v}, nil
		}
		var list []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return list, nil
	case []string:
		return v, nil
	case []any:
		list := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, mistyped(f, raw)
			}
			list = append(list, s)
		}
		return list, nil
	}
	return nil, mistyped(f, raw)
}

func decodeTables(f *Field, raw any) (any, error) {
	switch v := raw.(type) {
	case []map[string]any:
		return v, nil
	case []any:
		list := make([]map[string]any, 0, len(v))
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, mistyped(f, raw)
			}
			list = append(list, m)
		}
		return list, nil
	}
	return nil, mistyped(f, raw)
}

// mistyped is the message of a value of the wrong type: `must be an
// integer, not string "two"`.
func mistyped(f *Field, raw any) error {
	return fmt.Errorf("must be %s, not %s %s", article(f.Type), TypeName(raw), shortValue(raw))
}

func article(t Type) string {
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

// TypeName names the type of a decoded TOML or JSON value in words:
// "string", "integer", "number", "boolean", "list", "table" (else its Go
// type).
func TypeName(v any) string {
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

func shortValue(v any) string {
	s := fmt.Sprintf("%v", v)
	if _, ok := v.(string); ok {
		s = fmt.Sprintf("%q", v)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}
