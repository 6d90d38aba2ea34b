package connect

import (
	"encoding/json"
	"testing"
	"time"
)

// TestChangeEventJSON: the hand encoder writes valid JSON equal to
// encoding/json's reading of the same values, in Debezium's field order.
func TestChangeEventJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quo"te \ back`, "tab\tnl\nctl\x01", "ünï©ødé ☃", "bad\xffutf8", "<html>&"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes as %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q round-trips as %q, encoding/json as %q", s, back, wantBack)
		}
	}
	ev := &changeEvent{
		before: nil,
		after:  &pgRow{cols: []string{"id", "b", "f", "bytes", "arr", "n"}, vals: []any{int64(7), true, 0.25, []byte{0xde, 0xad}, []any{"x", nil, int64(2)}, nil}},
		op:     "c", prefix: "shop", db: "db", schema: "public", table: "t", lsn: 42, lastCommit: 40, xid: 9, ts: time.UnixMilli(1000), snapshot: "false", at: time.UnixMilli(2000),
	}
	v := ev.value()
	want := `{"before":null,"after":{"id":7,"b":true,"f":0.25,"bytes":"3q0=","arr":["x",null,2],"n":null},"source":{"version":"kdeck-1.0","connector":"postgresql","name":"shop","ts_ms":1000,"ts_us":1000000,"ts_ns":1000000000,"snapshot":"false","db":"db","schema":"public","table":"t","sequence":"[\"40\",\"42\"]","txId":9,"lsn":42,"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":"c","ts_ms":2000,"ts_us":2000000,"ts_ns":2000000000}`
	if string(v) != want {
		t.Errorf("value\n got %s\nwant %s", v, want)
	}
	if k := ev.key([]string{"id"}); string(k) != `{"id":7}` {
		t.Errorf("key %s", k)
	}
}

func TestParseArray(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`{}`, `[]`},
		{`{1,2,3}`, `["1","2","3"]`},
		{`{"a b","c\"d",NULL,"NULL"}`, `["a b","c\"d",null,"NULL"]`},
		{`{{1,2},{3,4}}`, `[["1","2"],["3","4"]]`},
		{`[0:1]={7,8}`, `["7","8"]`},
	} {
		got, err := parseArray(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tc.want {
			t.Errorf("%s = %s, want %s", tc.in, b, tc.want)
		}
	}
	for _, bad := range []string{`{1,2`, `1,2}`, `{"x}`, `{1}x`} {
		if _, err := parseArray(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// TestCollapseMatchesOneByOne: a batch's changes of one key collapse to
// what applying them one by one gives.
func TestCollapseMatchesOneByOne(t *testing.T) {
	up := func(id int64, kv ...any) rowChange {
		row := map[string]any{"id": id}
		for i := 0; i < len(kv); i += 2 {
			row[kv[i].(string)] = kv[i+1]
		}
		return rowChange{row: row, pk: []string{"id"}}
	}
	del := func(id int64) rowChange {
		return rowChange{row: map[string]any{"id": id}, pk: []string{"id"}, delete: true}
	}
	dels, writes := collapse([]rowChange{
		up(1, "a", "x", "b", "y"), up(1, "a", "x2"), // merged: a=x2, b=y
		up(2, "a", "p"), del(2), up(2, "b", "q"), // deleted, then only b=q
		up(3, "a", "r"), del(3), // deleted
	}, true)
	gotDels, _ := json.Marshal(dels)
	if len(dels) != 2 || dels[0].row["id"] != int64(2) || dels[1].row["id"] != int64(3) {
		t.Errorf("deletes %s", gotDels)
	}
	b, _ := json.Marshal([]map[string]any{writes[0].row, writes[1].row})
	if len(writes) != 2 || string(b) != `[{"a":"x2","b":"y","id":1},{"b":"q","id":2}]` {
		t.Errorf("writes %s", b)
	}
	_, writes = collapse([]rowChange{up(1, "a", "x"), up(1, "a", "y")}, false)
	if len(writes) != 2 {
		t.Errorf("insert mode kept %d of 2 inserts of one key (one by one, the second fails)", len(writes))
	}
}

// FuzzAppendJSONString: any text (column values come from any database)
// encodes as valid JSON that decodes to what encoding/json makes of it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\u2028", "bad\xff", "☃"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: invalid JSON: %v", s, err)
		}
		b, _ := json.Marshal(s)
		json.Unmarshal(b, &want)
		if got != want {
			t.Fatalf("%q decodes as %q, encoding/json's as %q", s, got, want)
		}
	})
}
