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
		op:     "c", prefix: "shop", db: "db", schema: "public", table: "t", lsn: 42, xid: 9, ts: time.UnixMilli(1000), snapshot: "false", at: time.UnixMilli(2000),
	}
	v := ev.value()
	want := `{"before":null,"after":{"id":7,"b":true,"f":0.25,"bytes":"3q0=","arr":["x",null,2],"n":null},"source":{"version":"kdeck-1.0","connector":"postgresql","name":"shop","ts_ms":1000,"snapshot":"false","db":"db","schema":"public","table":"t","txId":9,"lsn":42,"xmin":null},"op":"c","ts_ms":2000,"transaction":null}`
	if string(v) != want {
		t.Errorf("value\n got %s\nwant %s", v, want)
	}
	if k := ev.key([]string{"id"}); string(k) != `{"id":7}` {
		t.Errorf("key %s", k)
	}
}
