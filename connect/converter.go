package connect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Converter turns data into bytes (source records, before producing) and
// bytes into data (sink records, after consuming), as Kafka Connect's
// converters do. Converters are safe for concurrent use.
type Converter interface {
	// FromBytes decodes a record key or value; nil bytes give nil.
	FromBytes(b []byte) (any, error)
	// ToBytes encodes a record key or value; nil gives nil.
	ToBytes(v any) ([]byte, error)
}

// Converter names.
const (
	ConverterJSON   = "json"
	ConverterString = "string"
	ConverterBytes  = "bytes"
)

// NewConverter returns the named converter: json (schemaless, as Kafka
// Connect's JsonConverter with schemas.enable=false), string or bytes.
func NewConverter(name string) (Converter, error) {
	switch name {
	case ConverterJSON, "":
		return jsonConverter{}, nil
	case ConverterString:
		return stringConverter{}, nil
	case ConverterBytes:
		return bytesConverter{}, nil
	}
	return nil, fmt.Errorf("unknown converter %q: use json, string or bytes", name)
}

type jsonConverter struct{}

// FromBytes parses JSON, keeping numbers exact (json.Number).
func (jsonConverter) FromBytes(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if d.More() {
		return nil, fmt.Errorf("not JSON: data after the first value")
	}
	return numbers(v), nil
}

// numbers turns json.Number into int64 (when integral) or float64, so that
// expressions and transforms compare numbers as numbers.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func (jsonConverter) ToBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case RawJSON:
		return x, nil
	case []byte:
		// Kafka Connect writes bytes as a base64 JSON string; so does
		// encoding/json.
	}
	return json.Marshal(v)
}

type stringConverter struct{}

func (stringConverter) FromBytes(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	return string(b), nil
}

func (stringConverter) ToBytes(v any) ([]byte, error) { return toBytes(v) }

type bytesConverter struct{}

func (bytesConverter) FromBytes(b []byte) (any, error) { return b, nil }

func (bytesConverter) ToBytes(v any) ([]byte, error) { return toBytes(v) }

// toBytes renders data as bytes: strings and bytes as they are, numbers
// and booleans as text, structures as JSON.
func toBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return x, nil
	case RawJSON:
		return x, nil
	case string:
		return []byte(x), nil
	case json.Number:
		return []byte(x), nil
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	}
	return json.Marshal(v)
}

// asMap returns v as a map for field transforms: a map as is, RawJSON or a
// JSON string decoded. ok is false for anything else (nil included).
func asMap(v any) (map[string]any, bool, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, true, nil
	case RawJSON:
		d := json.NewDecoder(bytes.NewReader(x))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			return nil, false, fmt.Errorf("value is not a JSON object: %v", err)
		}
		numbers(m)
		return m, true, nil
	}
	return nil, false, nil
}
