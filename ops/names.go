package ops

import (
	"fmt"
	"math"
	"strings"
	"unicode"
)

// validName checks a name argument (a group, a topic, a job, a replay's
// --as group): it must not be empty or blank, nor hold control characters,
// which no terminal would show. what names the argument in the message.
func validName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		if name == "" {
			return fmt.Errorf("the %s name is empty: give a name", what)
		}
		return fmt.Errorf("the %s name %q is only blanks: give a name", what, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("the %s name %q holds a control character: names must be printable", what, name)
		}
	}
	return nil
}

// addOffset adds a shift to an offset, saturating at the int64 bounds
// instead of wrapping around.
func addOffset(o, by int64) int64 {
	s := o + by
	switch {
	case by > 0 && s < o:
		return math.MaxInt64
	case by < 0 && s > o:
		return math.MinInt64
	}
	return s
}
