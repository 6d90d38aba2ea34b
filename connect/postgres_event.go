package connect

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pglogrepl"
)

// pgRow is a row in column order, as Debezium writes it.
type pgRow struct {
	cols []string
	vals []any
}

// changeEvent is one Debezium change event of postgres-cdc. It is encoded
// as JSON by hand, in Debezium's field order (before, after, source, op,
// ts_ms, transaction; columns in table order), which encoding/json cannot
// do for maps and which costs a fraction of its time.
type changeEvent struct {
	before, after *pgRow
	op            string
	prefix, db    string
	schema, table string
	lsn           pglogrepl.LSN
	lastCommit    pglogrepl.LSN // end of the previous transaction (0: none seen), for source.sequence
	xid           uint32
	ts            time.Time // commit time (snapshot: read time)
	snapshot      string    // "true", "last" or "false"
	at            time.Time // when kdeck built the event
}

// key returns the event's key: the primary key columns of the after image
// (the before image for a delete), as RawJSON.
func (e *changeEvent) key(keyCols []string) RawJSON {
	img := e.after
	if img == nil {
		img = e.before
	}
	b := make([]byte, 0, 32)
	b = append(b, '{')
	for i, k := range keyCols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var v any
		for j, c := range img.cols {
			if c == k {
				v = img.vals[j]
				break
			}
		}
		b = appendJSONValue(b, v)
	}
	return append(b, '}')
}

// value encodes the envelope.
func (e *changeEvent) value() RawJSON {
	b := make([]byte, 0, 512)
	b = append(b, `{"before":`...)
	b = appendRow(b, e.before)
	b = append(b, `,"after":`...)
	b = appendRow(b, e.after)
	b = append(b, `,"source":{"version":"kdeck-1.0","connector":"postgresql","name":`...)
	b = appendJSONString(b, e.prefix)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, e.ts.UnixMilli(), 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, e.ts.UnixMicro(), 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, e.ts.UnixMicro()*1000, 10)
	b = append(b, `,"snapshot":`...)
	b = appendJSONString(b, e.snapshot)
	b = append(b, `,"db":`...)
	b = appendJSONString(b, e.db)
	b = append(b, `,"schema":`...)
	b = appendJSONString(b, e.schema)
	b = append(b, `,"table":`...)
	b = appendJSONString(b, e.table)
	// sequence is Debezium's ["last commit LSN", "LSN"] as a JSON string.
	b = append(b, `,"sequence":"[`...)
	if e.lastCommit != 0 {
		b = append(b, `\"`...)
		b = strconv.AppendUint(b, uint64(e.lastCommit), 10)
		b = append(b, `\"`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,\"`...)
	b = strconv.AppendUint(b, uint64(e.lsn), 10)
	b = append(b, `\"]"`...)
	b = append(b, `,"txId":`...)
	if e.xid != 0 {
		b = strconv.AppendUint(b, uint64(e.xid), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"lsn":`...)
	b = strconv.AppendUint(b, uint64(e.lsn), 10)
	b = append(b, `,"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":`...)
	b = appendJSONString(b, e.op)
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, e.at.UnixMilli(), 10)
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, e.at.UnixMicro(), 10)
	b = append(b, `,"ts_ns":`...)
	b = strconv.AppendInt(b, e.at.UnixNano(), 10)
	return append(b, '}')
}

func appendRow(b []byte, r *pgRow) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, c := range r.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, c)
		b = append(b, ':')
		b = appendJSONValue(b, r.vals[i])
	}
	return append(b, '}')
}

// appendJSONValue encodes the values debeziumValue returns.
func appendJSONValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return appendJSONString(b, x)
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, '"')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, e)
		}
		return append(b, ']')
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
