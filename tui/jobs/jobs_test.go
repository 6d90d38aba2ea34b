package jobs

import (
	"testing"

	"github.com/kdeck/kdeck/ops"
)

func TestTraceOrDetail(t *testing.T) {
	for _, tc := range []struct {
		ts   ops.TaskStatus
		want string
	}{
		{ops.TaskStatus{Trace: "boom"}, "boom"},
		{ops.TaskStatus{Trace: "boom", Detail: map[string]string{"slot": "s"}}, "boom"},
		{ops.TaskStatus{Detail: map[string]string{"slot": "s", "confirmed_lsn": "0/1"}}, "confirmed_lsn=0/1 slot=s"},
		{ops.TaskStatus{Detail: map[string]string{"slot": "s", "warning": "too much WAL"}}, "WARNING: too much WAL slot=s"},
		{ops.TaskStatus{}, ""},
	} {
		if got := traceOrDetail(tc.ts); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.ts, got, tc.want)
		}
	}
}
