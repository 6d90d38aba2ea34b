package connect

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgType is what the CDC source knows of a PostgreSQL type.
type pgType struct {
	name     string
	elem     uint32 // element type of an array type, else 0
	category byte   // pg_type.typcategory
}

// loadTypes reads pg_type once per connection.
func loadTypes(ctx context.Context, c *pgx.Conn) (map[uint32]pgType, error) {
	rows, err := c.Query(ctx, "SELECT oid, typname, typelem, typcategory FROM pg_type")
	if err != nil {
		return nil, fmt.Errorf("reading pg_type: %w", err)
	}
	defer rows.Close()
	out := map[uint32]pgType{}
	for rows.Next() {
		var oid, elem uint32
		var name string
		var cat byte
		if err := rows.Scan(&oid, &name, &elem, &cat); err != nil {
			return nil, err
		}
		out[oid] = pgType{name: name, elem: elem, category: cat}
	}
	return out, rows.Err()
}

// debeziumValue maps a column's text representation to the JSON value
// Debezium's PostgreSQL connector writes with a schemaless JSON converter
// and its default settings (time.precision.mode adaptive,
// binary.handling.mode bytes), except numeric, which is written as text
// (Debezium's decimal.handling.mode string; its default, precise, is bytes
// that mean nothing without the schema).
func debeziumValue(text string, oid uint32, typmod int32, types map[uint32]pgType) (any, error) {
	ty := types[oid]
	if ty.category == 'A' && ty.elem != 0 {
		elems, err := parseArray(text)
		if err != nil {
			return nil, fmt.Errorf("array %s: %w", ty.name, err)
		}
		return mapArray(elems, ty.elem, types)
	}
	switch ty.name {
	case "bool":
		return text == "t", nil
	case "int2", "int4", "int8", "oid":
		return strconv.ParseInt(text, 10, 64)
	case "float4", "float8":
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return text, nil // NaN, Infinity: JSON has no number for them
		}
		return f, nil
	case "bytea":
		b, err := hex.DecodeString(strings.TrimPrefix(text, `\x`))
		if err != nil {
			return nil, fmt.Errorf("bytea: %w", err)
		}
		return b, nil // the json converter writes base64, as Debezium's bytes
	case "date", "timestamp", "timestamptz", "time", "timetz", "interval":
		return debeziumTime(ty.name, text, typmod), nil
	case "money":
		// Debezium's string mode: the amount without currency symbol or
		// group separators.
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '.' || r == '-' {
				return r
			}
			return -1
		}, text), nil
	}
	// numeric, json, jsonb (io.debezium.data.Json: the JSON text), uuid,
	// text types, enums and the rest: text.
	return text, nil
}

// debeziumTime converts a date, time, timestamp or interval column's text
// as Debezium does (io.debezium.time.*); a value it cannot parse (infinity,
// BC dates) stays text.
func debeziumTime(name, text string, typmod int32) any {
	switch name {
	case "date":
		d, err := time.Parse("2006-01-02", text)
		if err != nil {
			return text // infinity, BC dates
		}
		return d.Unix() / 86400 // io.debezium.time.Date
	case "timestamp":
		ts, err := time.Parse("2006-01-02 15:04:05.999999", text)
		if err != nil {
			return text
		}
		if typmod >= 0 && typmod <= 3 {
			return ts.UnixMilli() // io.debezium.time.Timestamp
		}
		return ts.UnixMicro() // io.debezium.time.MicroTimestamp
	case "timestamptz":
		ts, err := time.Parse("2006-01-02 15:04:05.999999-07", text)
		if err != nil {
			if ts, err = time.Parse("2006-01-02 15:04:05.999999-07:00", text); err != nil {
				return text
			}
		}
		// io.debezium.time.ZonedTimestamp: as many fraction digits as the
		// column's precision (6 by default).
		return ts.UTC().Format("2006-01-02T15:04:05" + fraction(typmod) + "Z")
	case "time":
		tm, err := time.Parse("15:04:05.999999", text)
		if err != nil {
			return text
		}
		micros := int64(tm.Hour())*3600e6 + int64(tm.Minute())*60e6 + int64(tm.Second())*1e6 + int64(tm.Nanosecond()/1000)
		if typmod >= 0 && typmod <= 3 {
			return micros / 1000 // io.debezium.time.Time
		}
		return micros // io.debezium.time.MicroTime
	case "timetz":
		for _, layout := range []string{"15:04:05.999999-07", "15:04:05.999999-07:00"} {
			if tm, err := time.Parse(layout, text); err == nil {
				return tm.UTC().Format("15:04:05.999999999Z") // io.debezium.time.ZonedTime
			}
		}
		return text
	case "interval":
		var iv pgtype.Interval
		if err := iv.Scan(text); err != nil || !iv.Valid {
			return text
		}
		// io.debezium.time.MicroDuration: a month is 30.4375 days.
		return iv.Microseconds + int64(iv.Days)*86400e6 + int64(float64(iv.Months)*30.4375*86400e6)
	}
	return text
}

// fraction is the time layout's fraction for a precision typmod: -1 (none
// given) means 6 digits.
func fraction(typmod int32) string {
	p := 6
	if typmod >= 0 && typmod < 6 {
		p = int(typmod)
	}
	if p == 0 {
		return ""
	}
	return "." + strings.Repeat("0", p)
}

func mapArray(elems []any, elemOID uint32, types map[uint32]pgType) ([]any, error) {
	out := make([]any, len(elems))
	for i, e := range elems {
		switch x := e.(type) {
		case nil:
		case []any:
			v, err := mapArray(x, elemOID, types)
			if err != nil {
				return nil, err
			}
			out[i] = v
		case string:
			v, err := debeziumValue(x, elemOID, -1, types)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
	}
	return out, nil
}

// parseArray parses a PostgreSQL array literal ({1,2,"a b",NULL,{3}})
// into strings, nils and nested lists.
func parseArray(s string) ([]any, error) {
	if i := strings.Index(s, "={"); i >= 0 && strings.HasPrefix(s, "[") {
		s = s[i+1:] // dimension decoration [0:2]={...}
	}
	v, rest, err := parseArrayAt(s)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("trailing text %q", rest)
	}
	return v, nil
}

func parseArrayAt(s string) ([]any, string, error) {
	if !strings.HasPrefix(s, "{") {
		return nil, s, fmt.Errorf("not an array literal: %q", s)
	}
	s = s[1:]
	out := []any{}
	if strings.HasPrefix(s, "}") {
		return out, s[1:], nil
	}
	for {
		switch {
		case strings.HasPrefix(s, "{"):
			sub, rest, err := parseArrayAt(s)
			if err != nil {
				return nil, s, err
			}
			out, s = append(out, sub), rest
		case strings.HasPrefix(s, `"`):
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, s, fmt.Errorf("unterminated quoted element")
			}
			out, s = append(out, b.String()), s[i+1:]
		default:
			i := strings.IndexAny(s, ",}")
			if i < 0 {
				return nil, s, fmt.Errorf("unterminated array")
			}
			el := s[:i]
			if el == "NULL" {
				out = append(out, nil)
			} else {
				out = append(out, el)
			}
			s = s[i:]
		}
		if s == "" {
			return nil, s, fmt.Errorf("unterminated array")
		}
		if s[0] == '}' {
			return out, s[1:], nil
		}
		if s[0] != ',' {
			return nil, s, fmt.Errorf("unexpected %q", s[0])
		}
		s = s[1:]
	}
}
