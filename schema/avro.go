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
		v := r.ReadLong()
		if o.PrettyTime {
			switch logicalOf(s) {
			case avro.TimestampMillis, avro.LocalTimestampMillis:
				return appendJSONString(dst, time.UnixMilli(v).UTC().Format(time.RFC3339Nano))
			case avro.TimestampMicros, avro.LocalTimestampMicros:
				return appendJSONString(dst, time.UnixMicro(v).UTC().Format(time.RFC3339Nano))
			}
		}
		return strconv.AppendInt(dst, v, 10)
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
		es := s.(*avro.EnumSchema)
		i := int(r.ReadInt())
		sym, ok := es.Symbol(i)
		if !ok {
			r.ReportError("enum", fmt.Sprintf("symbol %d of %s does not exist", i, es.FullName()))
			return dst
		}
		return appendJSONString(dst, sym)
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
		dst = append(dst, '{')
		for i, f := range s.(*avro.RecordSchema).Fields() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f.Name())
			dst = append(dst, ':')
			dst = avroToJSON(dst, f.Type(), r, o)
		}
		return append(dst, '}')
	case avro.Union:
		u := s.(*avro.UnionSchema)
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
		// A null-or-X union prints X plainly (readable); other unions
		// follow Avro's JSON encoding, {"branch": value}.
		if u.Nullable() {
			return avroToJSON(dst, t, r, o)
		}
		dst = append(dst, '{')
		dst = appendJSONString(dst, branchName(t))
		dst = append(dst, ':')
		dst = avroToJSON(dst, t, r, o)
		return append(dst, '}')
	case avro.Ref:
		return avroToJSON(dst, s.(*avro.RefSchema).Schema(), r, o)
	}
	r.ReportError("schema", "unsupported type "+string(s.Type()))
	return dst
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

// encode appends the Avro binary form of the JSON value v (decoded with
// UseNumber) to dst.
func (c *avroCodec) encode(dst []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	w := avro.NewWriter(&buf, 512)
	if err := jsonToAvro(w, c.s, v, ""); err != nil {
		return dst, err
	}
	if err := w.Flush(); err != nil {
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}

func fieldPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func where(path string) string {
	if path == "" {
		return "the value"
	}
	return "field " + path
}

func jsonToAvro(w *avro.Writer, s avro.Schema, v any, path string) error {
	bad := func(want string) error {
		return fmt.Errorf("%s must be %s, got %s", where(path), want, jsonKind(v))
	}
	switch s.Type() {
	case avro.Null:
		if v != nil {
			return bad("null")
		}
		return nil
	case avro.Boolean:
		b, ok := v.(bool)
		if !ok {
			return bad("a boolean")
		}
		w.WriteBool(b)
		return nil
	case avro.Int:
		if str, ok := v.(string); ok && logicalOf(s) == avro.Date {
			t, err := time.Parse("2006-01-02", str)
			if err != nil {
				return fmt.Errorf("%s must be a date YYYY-MM-DD or days since 1970-01-01: %q", where(path), str)
			}
			w.WriteInt(int32(t.Unix() / 86400))
			return nil
		}
		n, ok := v.(json.Number)
		if !ok {
			return bad("an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			return fmt.Errorf("%s must be a 32-bit integer, got %s", where(path), n)
		}
		w.WriteInt(int32(i))
		return nil
	case avro.Long:
		if str, ok := v.(string); ok {
			switch logicalOf(s) {
			case avro.TimestampMillis, avro.LocalTimestampMillis, avro.TimestampMicros, avro.LocalTimestampMicros:
				t, err := time.Parse(time.RFC3339Nano, str)
				if err != nil {
					return fmt.Errorf("%s must be an RFC 3339 time or a number: %q", where(path), str)
				}
				if lt := logicalOf(s); lt == avro.TimestampMicros || lt == avro.LocalTimestampMicros {
					w.WriteLong(t.UnixMicro())
				} else {
					w.WriteLong(t.UnixMilli())
				}
				return nil
			}
		}
		n, ok := v.(json.Number)
		if !ok {
			return bad("an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return fmt.Errorf("%s must be a 64-bit integer, got %s", where(path), n)
		}
		w.WriteLong(i)
		return nil
	case avro.Float, avro.Double:
		n, ok := v.(json.Number)
		if !ok {
			return bad("a number")
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s must be a number, got %s", where(path), n)
		}
		if s.Type() == avro.Float {
			w.WriteFloat(float32(f))
		} else {
			w.WriteDouble(f)
		}
		return nil
	case avro.String:
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		w.WriteString(str)
		return nil
	case avro.Bytes, avro.Fixed:
		var b []byte
		if d, ok := decimalOf(s); ok {
			n, ok := v.(json.Number)
			if !ok {
				if str, isStr := v.(string); isStr {
					n, ok = json.Number(str), true
				}
			}
			if !ok {
				return bad("a decimal number")
			}
			var err error
			if b, err = decimalBytes(string(n), d.Scale()); err != nil {
				return fmt.Errorf("%s: %w", where(path), err)
			}
		} else {
			str, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			b = fromLatin1(str)
		}
		if fs, ok := s.(*avro.FixedSchema); ok {
			if len(b) > fs.Size() {
				return fmt.Errorf("%s holds %d bytes, more than the fixed size %d", where(path), len(b), fs.Size())
			}
			pad := byte(0)
			if _, dec := decimalOf(s); dec && len(b) > 0 && b[0]&0x80 != 0 {
				pad = 0xff
			}
			out := bytes.Repeat([]byte{pad}, fs.Size()-len(b))
			_, _ = w.Write(append(out, b...))
			return nil
		}
		w.WriteBytes(b)
		return nil
	case avro.Enum:
		es := s.(*avro.EnumSchema)
		str, ok := v.(string)
		if !ok {
			return bad("one of " + strings.Join(es.Symbols(), ", "))
		}
		for i, sym := range es.Symbols() {
			if sym == str {
				w.WriteInt(int32(i))
				return nil
			}
		}
		return fmt.Errorf("%s: %q is not a symbol of %s (one of %s)", where(path), str, es.FullName(), strings.Join(es.Symbols(), ", "))
	case avro.Array:
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		if len(arr) > 0 {
			w.WriteBlockHeader(int64(len(arr)), 0)
			for i, e := range arr {
				if err := jsonToAvro(w, s.(*avro.ArraySchema).Items(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
		w.WriteBlockHeader(0, 0)
		return nil
	case avro.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		if len(m) > 0 {
			w.WriteBlockHeader(int64(len(m)), 0)
			for k, e := range m {
				w.WriteString(k)
				if err := jsonToAvro(w, s.(*avro.MapSchema).Values(), e, fieldPath(path, k)); err != nil {
					return err
				}
			}
		}
		w.WriteBlockHeader(0, 0)
		return nil
	case avro.Record:
		rs := s.(*avro.RecordSchema)
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object (record " + rs.FullName() + ")")
		}
		known := make(map[string]bool, len(rs.Fields()))
		for _, f := range rs.Fields() {
			known[f.Name()] = true
			fv, ok := m[f.Name()]
			if !ok {
				if !f.HasDefault() {
					return fmt.Errorf("%s is missing (record %s has no default for it)", where(fieldPath(path, f.Name())), rs.FullName())
				}
				fv = defaultJSON(f.Default())
				if u, isUnion := f.Type().(*avro.UnionSchema); isUnion && len(u.Types()) > 0 {
					// A union's default is for its first branch.
					if err := encodeUnionBranch(w, u, 0, fv, fieldPath(path, f.Name())); err != nil {
						return err
					}
					continue
				}
			}
			if err := jsonToAvro(w, f.Type(), fv, fieldPath(path, f.Name())); err != nil {
				return err
			}
		}
		for k := range m {
			if !known[k] {
				return fmt.Errorf("%s is not in record %s", where(fieldPath(path, k)), rs.FullName())
			}
		}
		return nil
	case avro.Union:
		u := s.(*avro.UnionSchema)
		types := u.Types()
		if v == nil {
			for i, t := range types {
				if t.Type() == avro.Null {
					w.WriteLong(int64(i))
					return nil
				}
			}
			return bad("one of the union's types")
		}
		// Avro's JSON encoding: {"branch": value}.
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for k, bv := range m {
				for i, t := range types {
					if branchName(t) == k || string(t.Type()) == k {
						return encodeUnionBranch(w, u, i, bv, path)
					}
				}
			}
		}
		// Plain value: the first branch that takes it.
		var firstErr error
		for i, t := range types {
			if t.Type() == avro.Null {
				continue
			}
			var buf bytes.Buffer
			tw := avro.NewWriter(&buf, 64)
			if err := jsonToAvro(tw, t, v, path); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			w.WriteLong(int64(i))
			_, _ = w.Write(buf.Bytes())
			return nil
		}
		return firstErr
	case avro.Ref:
		return jsonToAvro(w, s.(*avro.RefSchema).Schema(), v, path)
	}
	return fmt.Errorf("%s: Avro type %s is not supported", where(path), s.Type())
}

func encodeUnionBranch(w *avro.Writer, u *avro.UnionSchema, i int, v any, path string) error {
	w.WriteLong(int64(i))
	return jsonToAvro(w, u.Types()[i], v, path)
}

// defaultJSON turns a field default as hamba parsed it into the form
// decoded JSON has (numbers as json.Number), so jsonToAvro takes it.
func defaultJSON(d any) any {
	b, err := json.Marshal(d)
	if err != nil {
		return d
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return d
	}
	return v
}

func decimalBytes(num string, scale int) ([]byte, error) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return nil, fmt.Errorf("%q is not a decimal number", num)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		return nil, fmt.Errorf("%s has more than %d decimal places", num, scale)
	}
	i := r.Num()
	if i.Sign() >= 0 {
		b := i.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b, nil
	}
	// Two's complement of a negative number.
	n := len(i.Bytes()) + 1
	m := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(n*8)), i)
	b := m.Bytes()
	for len(b) < n {
		b = append([]byte{0xff}, b...)
	}
	return b, nil
}

func fromLatin1(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			// Not Avro's JSON encoding of bytes: take the UTF-8 bytes.
			return []byte(s)
		}
		out = append(out, byte(r))
	}
	return out
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
