package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
)

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

// jsonToAvro writes the JSON value v (decoded with UseNumber) as Avro
// binary of schema s; path names the field for errors ("" is the value).
func jsonToAvro(w *avro.Writer, s avro.Schema, v any, path string) error {
	switch s.Type() {
	case avro.Null:
		if v != nil {
			return mismatch(path, "null", v)
		}
		return nil
	case avro.Boolean:
		b, ok := v.(bool)
		if !ok {
			return mismatch(path, "a boolean", v)
		}
		w.WriteBool(b)
		return nil
	case avro.Int:
		return encodeInt(w, s, v, path)
	case avro.Long:
		return encodeLong(w, s, v, path)
	case avro.Float, avro.Double:
		return encodeFloat(w, s, v, path)
	case avro.String:
		str, ok := v.(string)
		if !ok {
			return mismatch(path, "a string", v)
		}
		w.WriteString(str)
		return nil
	case avro.Bytes, avro.Fixed:
		return encodeBytes(w, s, v, path)
	case avro.Enum:
		return encodeEnum(w, s.(*avro.EnumSchema), v, path)
	case avro.Array:
		return encodeArray(w, s.(*avro.ArraySchema), v, path)
	case avro.Map:
		return encodeMap(w, s.(*avro.MapSchema), v, path)
	case avro.Record:
		return encodeRecord(w, s.(*avro.RecordSchema), v, path)
	case avro.Union:
		return encodeUnion(w, s.(*avro.UnionSchema), v, path)
	case avro.Ref:
		return jsonToAvro(w, s.(*avro.RefSchema).Schema(), v, path)
	}
	return fmt.Errorf("%s: Avro type %s is not supported", where(path), s.Type())
}

// mismatch says that the value at path is not of the wanted kind.
func mismatch(path, want string, v any) error {
	return fmt.Errorf("%s must be %s, got %s", where(path), want, jsonKind(v))
}

// encodeInt writes an int, or a date given as YYYY-MM-DD.
func encodeInt(w *avro.Writer, s avro.Schema, v any, path string) error {
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
		return mismatch(path, "an integer", v)
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		return fmt.Errorf("%s must be a 32-bit integer, got %s", where(path), n)
	}
	w.WriteInt(int32(i))
	return nil
}

// encodeLong writes a long, or a timestamp given as an RFC 3339 time.
func encodeLong(w *avro.Writer, s avro.Schema, v any, path string) error {
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
		return mismatch(path, "an integer", v)
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return fmt.Errorf("%s must be a 64-bit integer, got %s", where(path), n)
	}
	w.WriteLong(i)
	return nil
}

// encodeFloat writes a float or a double.
func encodeFloat(w *avro.Writer, s avro.Schema, v any, path string) error {
	n, ok := v.(json.Number)
	if !ok {
		return mismatch(path, "a number", v)
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
}

// encodeBytes writes bytes or fixed: a decimal from a number (or a
// numeric string), else the string's Latin-1 bytes (Avro's JSON encoding
// of bytes). A fixed is padded on the left to its size (with 0xff for a
// negative decimal).
func encodeBytes(w *avro.Writer, s avro.Schema, v any, path string) error {
	var b []byte
	if d, ok := decimalOf(s); ok {
		n, ok := v.(json.Number)
		if !ok {
			if str, isStr := v.(string); isStr {
				n, ok = json.Number(str), true
			}
		}
		if !ok {
			return mismatch(path, "a decimal number", v)
		}
		var err error
		if b, err = decimalBytes(string(n), d.Scale()); err != nil {
			return fmt.Errorf("%s: %w", where(path), err)
		}
	} else {
		str, ok := v.(string)
		if !ok {
			return mismatch(path, "a string", v)
		}
		b = fromLatin1(str)
	}
	fs, ok := s.(*avro.FixedSchema)
	if !ok {
		w.WriteBytes(b)
		return nil
	}
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

// encodeEnum writes a symbol's index.
func encodeEnum(w *avro.Writer, es *avro.EnumSchema, v any, path string) error {
	str, ok := v.(string)
	if !ok {
		return mismatch(path, "one of "+strings.Join(es.Symbols(), ", "), v)
	}
	for i, sym := range es.Symbols() {
		if sym == str {
			w.WriteInt(int32(i))
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not a symbol of %s (one of %s)", where(path), str, es.FullName(), strings.Join(es.Symbols(), ", "))
}

// encodeArray writes an array as one block.
func encodeArray(w *avro.Writer, as *avro.ArraySchema, v any, path string) error {
	arr, ok := v.([]any)
	if !ok {
		return mismatch(path, "an array", v)
	}
	if len(arr) > 0 {
		w.WriteBlockHeader(int64(len(arr)), 0)
		for i, e := range arr {
			if err := jsonToAvro(w, as.Items(), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	w.WriteBlockHeader(0, 0)
	return nil
}

// encodeMap writes a map as one block.
func encodeMap(w *avro.Writer, ms *avro.MapSchema, v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	if len(m) > 0 {
		w.WriteBlockHeader(int64(len(m)), 0)
		for k, e := range m {
			w.WriteString(k)
			if err := jsonToAvro(w, ms.Values(), e, fieldPath(path, k)); err != nil {
				return err
			}
		}
	}
	w.WriteBlockHeader(0, 0)
	return nil
}

// encodeRecord writes a record's fields in schema order, taking a missing
// field's default; a key the record does not have is an error.
func encodeRecord(w *avro.Writer, rs *avro.RecordSchema, v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object (record "+rs.FullName()+")", v)
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
}

// encodeUnion writes null as the null branch, {"branch": value} (Avro's
// JSON encoding) as that branch, and a plain value as the first branch
// that takes it (the first branch's error when none does).
func encodeUnion(w *avro.Writer, u *avro.UnionSchema, v any, path string) error {
	types := u.Types()
	if v == nil {
		for i, t := range types {
			if t.Type() == avro.Null {
				w.WriteLong(int64(i))
				return nil
			}
		}
		return mismatch(path, "one of the union's types", v)
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, bv := range m {
			for i, t := range types {
				if branchName(t) == k || string(t.Type()) == k {
					return encodeUnionBranch(w, u, i, bv, path)
				}
			}
		}
	}
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
