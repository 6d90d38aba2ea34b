package groups

import (
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

// TestValueHintsParse checks that every example a value hint suggests is
// accepted by the parser of that mode (the to-datetime hint once suggested
// "10m ago", which was refused).
func TestValueHintsParse(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, ex := range strings.Split(valueHints[ops.ResetToDatetime], " or ") {
		if _, err := timespec.ParseTime(ex, now); err != nil {
			t.Errorf("to-datetime hint example %q is refused: %v", ex, err)
		}
	}
	_, examples, _ := strings.Cut(valueHints[ops.ResetByDuration], ": ")
	for _, ex := range strings.Split(examples, ", ") {
		if _, err := timespec.ParseDuration(ex); err != nil {
			t.Errorf("by-duration hint example %q is refused: %v", ex, err)
		}
	}
}
