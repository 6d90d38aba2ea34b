package records

import (
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
)

func TestParseFrom(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    ops.ReadRequest
		wantErr bool
	}{
		{in: "earliest", want: ops.ReadRequest{From: ops.FromEarliest}},
		{in: "latest", want: ops.ReadRequest{From: ops.FromLatest}},
		{in: "", want: ops.ReadRequest{From: ops.FromLatest}},
		{in: "1500", want: ops.ReadRequest{From: ops.FromOffset, Offset: 1500}},
		{in: "-50", want: ops.ReadRequest{From: ops.FromTail, Offset: 50}},
		{in: "2026-11-25T10:00:00Z", want: ops.ReadRequest{From: ops.FromTime, Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}},
		{in: "soon", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFrom(tt.in, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && (got.From != tt.want.From || got.Offset != tt.want.Offset || !got.Time.Equal(tt.want.Time)) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPretty(t *testing.T) {
	tests := map[string]string{
		`{"a":1,"b":[2]}`: "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}",
		"plain":           "plain",
		"\xff\x00":        "ff00",
	}
	for in, want := range tests {
		if got := Pretty([]byte(in)); got != want {
			t.Errorf("Pretty(%q) = %q, want %q", in, got, want)
		}
	}
	if Pretty(nil) != "(null)" {
		t.Error("nil should show as (null)")
	}
}
