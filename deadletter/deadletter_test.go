package deadletter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type decodeError struct{}

func (decodeError) Error() string { return "invalid character 'o'" }

func TestHeaders(t *testing.T) {
	err := fmt.Errorf("step filter: %w", decodeError{})
	h := map[string]string{}
	for _, x := range append(Location("in", 3, 42), Exception(err)...) {
		h[x.Key] = string(x.Value)
	}
	want := map[string]string{
		"__connect.errors.topic": "in", "__connect.errors.partition": "3", "__connect.errors.offset": "42",
		"__connect.errors.exception.class.name": "deadletter.decodeError",
		"__connect.errors.exception.message":    "step filter: invalid character 'o'",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	if tr := h[HeaderStacktrace]; !strings.Contains(tr, "caused by (deadletter.decodeError): invalid character 'o'") {
		t.Errorf("trace %q lacks the cause", tr)
	}
	if Trace(errors.New("x")) != "x" {
		t.Error("a bare error's trace is its message")
	}
}
