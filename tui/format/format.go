// Package format lays out text in terminal cells for the TUI: sparklines,
// cutting and wrapping to a width, id lists. Quantities (counts, durations,
// rates, sizes) are formatted by package humanize, which the CLI shares.
//
//	format.Cut("Stable, 1 member(s)", 18, "…") // "Stable, 1…"
//	format.Sparkline([]int64{1, 5, 3}, []rune("▁▂▃▄▅▆▇█"), 10)
package format

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/kdeck/kdeck/humanize"
)

// Count is humanize.Count.
//
// Deprecated: use humanize.Count; kept while tui/jobs still calls it.
func Count(n int64) string { return humanize.Count(n) }

// Ago is humanize.Ago.
//
// Deprecated: use humanize.Ago; kept while tui/jobs still calls it.
func Ago(t, now time.Time) string { return humanize.Ago(t, now) }

// Rate is humanize.Rate.
//
// Deprecated: use humanize.Rate; kept while tui/jobs still calls it.
func Rate(r float64) string { return humanize.Rate(r) }

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
