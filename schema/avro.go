package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// avroCodec decodes Avro binary straight to JSON text and encodes JSON
// values to Avro binary, walking the parsed schema (hamba/avro parses the
// schema and reads and writes the primitives). Working on the schema rather
// than on hamba's generic Go values keeps unions, bytes, decimals and logical
// types under our control and avoids an intermediate map per record.
type avroCodec struct {
	s avro.Schema
}

func newAvroCodec(text string, refs []string) (*avroCodec, error) {
	cache := &avro.SchemaCache{}
	for _, r := range refs {
		if _, err := avro.ParseWithCache(r, "", cache); err != nil {
			return nil, fmt.Errorf("a referenced Avro schema does not parse: %w", err)
		}
	}
	s, err := avro.ParseWithCache(text, "", cache)
	if err != nil {
		return nil, fmt.Errorf("the Avro schema does not parse: %w", err)
	}
	return &avroCodec{s: s}, nil
}

// decode appends the JSON form of the Avro payload b to dst; r is a reader
// to reuse (nil: a new one).
func (c *avroCodec) decode(dst, b []byte, o DecodeOptions, r *avro.Reader) ([]byte, error) {
	if r == nil {
		r = avro.NewReader(nil, 0)
	}
	r.Error = nil
	r.Reset(b)
	dst = avroToJSON(dst, c.s, r, o)
	if r.Error != nil {
		return dst, fmt.Errorf("the Avro payload does not match the schema: %w", r.Error)
	}
	if r.Peek(); r.Error == nil {
		return dst, errors.New("the Avro payload has bytes left after the record: it was written with another schema")
	}
	return dst, nil
}

// avroToJSON appends the JSON form of the next value of schema s in r to
// dst; a payload that does not match sets r.Error.
func avroToJSON(dst []byte, s avro.Schema, r *avro.Reader, o DecodeOptions) []byte {
	if r.Error != nil {
		return dst
	}
	switch s.Type() {
	case avro.Null:
		return append(dst, "null"...)
	case avro.Boolean:
		return strconv.AppendBool(dst, r.ReadBool())
	case avro.Int:
		v := r.ReadInt()
		if o.PrettyTime && logicalOf(s) == avro.Date {
			return appendJSONString(dst, time.Unix(int64(v)*86400, 0).UTC().Format("2006-01-02"))
		}
		return strconv.AppendInt(dst, int64(v), 10)
	case avro.Long:
		return appendLong(dst, s, r.ReadLong(), o)
	case avro.Float:
		return appendFloat(dst, float64(r.ReadFloat()), 32)
	case avro.Double:
		return appendFloat(dst, r.ReadDouble(), 64)
	case avro.String:
		return appendJSONString(dst, r.ReadString())
	case avro.Bytes:
		b := r.ReadBytes()
		if d, ok := decimalOf(s); ok {
			return appendDecimal(dst, b, d.Scale())
		}
		return appendJSONString(dst, latin1(b))
	case avro.Fixed:
		fs := s.(*avro.FixedSchema)
		b := make([]byte, fs.Size())
		r.Read(b)
		if d, ok := decimalOf(s); ok {
			return appendDecimal(dst, b, d.Scale())
		}
		return appendJSONString(dst, latin1(b))
	case avro.Enum:
		return appendEnum(dst, s.(*avro.EnumSchema), r)
	case avro.Array:
		items := s.(*avro.ArraySchema).Items()
		dst = append(dst, '[')
		dst = avroBlocks(dst, r, func(dst []byte) []byte { return avroToJSON(dst, items, r, o) })
		return append(dst, ']')
	case avro.Map:
		vals := s.(*avro.MapSchema).Values()
		dst = append(dst, '{')
		dst = avroBlocks(dst, r, func(dst []byte) []byte {
			dst = appendJSONString(dst, r.ReadString())
			dst = append(dst, ':')
			return avroToJSON(dst, vals, r, o)
		})
		return append(dst, '}')
	case avro.Record:
		return appendRecord(dst, s.(*avro.RecordSchema), r, o)
	case avro.Union:
		return appendUnion(dst, s.(*avro.UnionSchema), r, o)
	case avro.Ref:
		return avroToJSON(dst, s.(*avro.RefSchema).Schema(), r, o)
	}
	r.ReportError("schema", "unsupported type "+string(s.Type()))
	return dst
}

// appendLong appends a long, as an RFC 3339 time for a timestamp with
// PrettyTime.
func appendLong(dst []byte, s avro.Schema, v int64, o DecodeOptions) []byte {
	if o.PrettyTime {
		switch logicalOf(s) {
		case avro.TimestampMillis, avro.LocalTimestampMillis:
			return appendJSONString(dst, time.UnixMilli(v).UTC().Format(time.RFC3339Nano))
		case avro.TimestampMicros, avro.LocalTimestampMicros:
			return appendJSONString(dst, time.UnixMicro(v).UTC().Format(time.RFC3339Nano))
		}
	}
	return strconv.AppendInt(dst, v, 10)
}

// appendEnum appends an enum's symbol.
func appendEnum(dst []byte, es *avro.EnumSchema, r *avro.Reader) []byte {
	i := int(r.ReadInt())
	sym, ok := es.Symbol(i)
	if !ok {
		r.ReportError("enum", fmt.Sprintf("symbol %d of %s does not exist", i, es.FullName()))
		return dst
	}
	return appendJSONString(dst, sym)
}

// appendRecord appends a record as a JSON object, fields in schema order.
func appendRecord(dst []byte, rs *avro.RecordSchema, r *avro.Reader, o DecodeOptions) []byte {
	dst = append(dst, '{')
	for i, f := range rs.Fields() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.Name())
		dst = append(dst, ':')
		dst = avroToJSON(dst, f.Type(), r, o)
	}
	return append(dst, '}')
}

// appendUnion appends a union's branch: a null-or-X union prints X plainly
// (readable); other unions follow Avro's JSON encoding, {"branch": value}.
func appendUnion(dst []byte, u *avro.UnionSchema, r *avro.Reader, o DecodeOptions) []byte {
	i := int(r.ReadLong())
	types := u.Types()
	if i < 0 || i >= len(types) {
		r.ReportError("union", fmt.Sprintf("branch %d does not exist (the union has %d)", i, len(types)))
		return dst
	}
	t := types[i]
	if t.Type() == avro.Null {
		return append(dst, "null"...)
	}
	if u.Nullable() {
		return avroToJSON(dst, t, r, o)
	}
	dst = append(dst, '{')
	dst = appendJSONString(dst, branchName(t))
	dst = append(dst, ':')
	dst = avroToJSON(dst, t, r, o)
	return append(dst, '}')
}

// avroBlocks reads the blocks of an array or map, appending each item with
// item, separated by commas.
func avroBlocks(dst []byte, r *avro.Reader, item func([]byte) []byte) []byte {
	first := true
	for {
		n, _ := r.ReadBlockHeader()
		if n == 0 || r.Error != nil {
			return dst
		}
		for range n {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = item(dst)
			if r.Error != nil {
				return dst
			}
		}
	}
}

func logicalOf(s avro.Schema) avro.LogicalType {
	if l, ok := s.(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		return l.Logical().Type()
	}
	return ""
}

func decimalOf(s avro.Schema) (*avro.DecimalLogicalSchema, bool) {
	if l, ok := s.(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		d, ok := l.Logical().(*avro.DecimalLogicalSchema)
		return d, ok
	}
	return nil, false
}

// branchName is a union branch's name in Avro's JSON encoding: the full
// name of a named type, else the type's name.
func branchName(s avro.Schema) string {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

// appendDecimal writes a two's-complement big-endian unscaled value with
// the given scale as a JSON number.
func appendDecimal(dst, b []byte, scale int) []byte {
	var s string
	if len(b) <= 8 {
		// Fits an int64: no big.Int.
		var v int64
		if len(b) > 0 && b[0]&0x80 != 0 {
			v = -1
		}
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		s = strconv.FormatInt(v, 10)
	} else {
		i := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			i.Sub(i, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
		}
		s = i.String()
	}
	if scale <= 0 {
		return append(dst, s...)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= scale {
		s = "0" + s
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, s[:len(s)-scale]...)
	dst = append(dst, '.')
	return append(dst, s[len(s)-scale:]...)
}

// latin1 maps each byte to the code point of the same value: Avro's JSON
// encoding of bytes and fixed.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendJSONString(dst, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does without HTML escaping.
func appendJSONString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + string(x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return strconv.Quote(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// avroCompatible reports whether a reader with schema reader can read data
// written with schema writer (Avro's schema resolution rules).
func avroCompatible(reader, writer avro.Schema) error {
	return avro.NewSchemaCompatibility().Compatible(reader, writer)
}
