// Package humanize turns quantities into the short strings both faces show,
// the console (tui) and the CLI (cmd/kdeck): counts with thousands
// separators, offsets, durations, ages, rates and sizes. It is the one
// formatter for these values, so a lag reads the same in a table printed by
// 'kdeck groups' and on the console's groups page.
//
//	humanize.Count(1234567)      // "1,234,567"
//	humanize.Seconds(83)         // "1m23s"
//	humanize.Rate(1500)          // "1.5k/s"
//	humanize.Bytes(3 << 20)      // "3.0MiB"
package humanize

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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

// Offset formats an offset; a negative one (no commit, unknown) shows as "-".
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

// Duration formats d compactly, as Seconds does; zero or less is "0s".
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

// Millis formats a duration in milliseconds as Duration does; zero or less
// (not measured yet) shows as "-".
func Millis(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return Duration(time.Duration(ms * float64(time.Millisecond)))
}

// Ago formats how long before now t was ("5s ago"); zero t is "never".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Duration(now.Sub(t)) + " ago"
}

// Rate formats a per-second rate of records ("12/s", "1.5k/s", "2.0M/s").
func Rate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk/s", r/1e3)
	}
	return fmt.Sprintf("%.0f/s", r)
}

// Bytes formats a size in binary units ("512B", "1.5KiB", "3.0MiB",
// "2.0GiB"); a negative size (unknown) shows as "-".
func Bytes(n float64) string {
	const unit = 1024
	if n < 0 {
		return "-"
	}
	if n < unit {
		return fmt.Sprintf("%.0fB", n)
	}
	for i, suffix := range []string{"KiB", "MiB", "GiB", "TiB"} {
		n /= unit
		if n < unit || i == 3 {
			return fmt.Sprintf("%.1f%s", n, suffix)
		}
	}
	return "" // unreachable: the loop returns at TiB
}

// ByteRate formats a per-second rate of bytes ("512B/s", "1.5MiB/s").
func ByteRate(r float64) string { return Bytes(r) + "/s" }
