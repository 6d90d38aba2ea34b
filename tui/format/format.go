// Package format turns ops values into the short strings the TUI shows:
// counts with thousands separators, time lags, ages and sparklines.
//
//	format.Count(1234567)         // "1,234,567"
//	format.Seconds(83)            // "1m23s"
//	format.Sparkline([]int64{1, 5, 3}, []rune("▁▂▃▄▅▆▇█"), 10)
package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Count formats n with thousands separators.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Offset formats an offset; -1 (no commit) shows as "-".
func Offset(o int64) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}

// Seconds formats a duration in seconds compactly ("850ms", "42s", "3m05s",
// "2h10m", "3d4h"); a negative value (unknown) shows as "-".
func Seconds(s float64) string {
	if s < 0 {
		return "-"
	}
	return Duration(time.Duration(s * float64(time.Second)))
}

// Duration formats d compactly, as Seconds does.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Ago formats how long before now t was ("5s ago"); zero t is "never".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Duration(now.Sub(t)) + " ago"
}

// Rate formats a per-second rate.
func Rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// Sparkline draws the last width values as bars scaled between their
// minimum and maximum, with the given glyphs (lowest first). A flat series
// draws the lowest bar, or the middle one when it is above zero.
func Sparkline(vals []int64, glyphs []rune, width int) string {
	if width <= 0 || len(glyphs) == 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	if len(vals) == 0 {
		return ""
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	lo = min(lo, 0)
	var b strings.Builder
	top := len(glyphs) - 1
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int(float64(v-lo) / float64(hi-lo) * float64(top))
		}
		b.WriteRune(glyphs[min(max(i, 0), top)])
	}
	return b.String()
}

// Int32s joins partition or broker ids ("1,2,3").
func Int32s(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}

// Cut shortens plain text s to at most w cells, ending with tail when cut.
// It cuts at the last space when one leaves at least half the width, so
// "Stable, 1 member(s)" becomes "Stable, 1…" rather than "Stable, 1 member(s".
// Text without a space there is cut where it must be.
func Cut(s string, w int, tail string) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	tw := ansi.StringWidth(tail)
	if w <= tw {
		return ansi.Truncate(s, w, "")
	}
	hard := ansi.Truncate(s, w-tw, "")
	if i := strings.LastIndexByte(hard, ' '); i > 0 && ansi.StringWidth(hard[:i]) >= (w-tw)/2 {
		return strings.TrimRight(hard[:i], " ,;:") + tail
	}
	return hard + tail
}

// Wrap breaks plain text s into lines of at most w cells at spaces; a word
// longer than w is broken where it must be. It returns at least one line.
func Wrap(s string, w int) []string {
	if w <= 0 {
		return []string{""}
	}
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for ansi.StringWidth(word) > w {
				if line != "" {
					lines = append(lines, line)
					line = ""
				}
				head := ansi.Truncate(word, w, "")
				lines = append(lines, head)
				word = word[len(head):]
			}
			switch {
			case line == "":
				line = word
			case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
				line += " " + word
			default:
				lines = append(lines, line)
				line = word
			}
		}
		lines = append(lines, line)
	}
	return lines
}
