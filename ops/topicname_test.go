package ops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/ops"
)

// TestValidateTopicName checks Apache Kafka's rule for topic names.
func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"orders", "demo.orders", "a_b-c.D9", strings.Repeat("x", 249)} {
		if err := ops.ValidateTopicName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"", "a topic name is required"},
		{".", `topic name "." is not legal`},
		{"..", `topic name ".." is not legal`},
		{"bad/name", `has the character '/' at byte 3`},
		{"tab\there", `"tab\there" has the character '\t'`},
		{"esc\x1b[31m", `"esc\x1b[31m" has the character '\x1b'`},
		{strings.Repeat("x", 250), "is 250 characters long"},
	} {
		err := ops.ValidateTopicName(tc.name)
		if !errors.Is(err, ops.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "a-z, A-Z, 0-9, '.', '_' and '-'") {
			t.Errorf("%q: err = %v, want ErrInvalid with %q and the rule", tc.name, err, tc.want)
		}
	}
}
