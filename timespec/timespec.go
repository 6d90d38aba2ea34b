// Package timespec parses the times and durations operators type: RFC 3339,
// kafka-consumer-groups' YYYY-MM-DDTHH:mm:SS.sss with an optional zone (UTC
// when absent, as kafka-consumer-groups reads it), ISO 8601 durations
// (PnDTnHnMnS) and Go durations (90m).
//
//	t, err := timespec.ParseTime("2026-11-25T10:00:00", time.Now())
//	d, err := timespec.ParseDuration("PT15M")
package timespec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05.000Z0700",
	"2006-01-02T15:04:05.000",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// ParseTime parses an absolute time. A time without a zone is UTC. It also
// accepts a duration (Go or ISO 8601), meaning that long before now, with
// or without " ago" ("15m", "15m ago"), and "now". The error says which forms are accepted.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time: use RFC 3339 (2026-11-25T10:00:00Z), YYYY-MM-DDTHH:mm:SS[.sss][zone] or a duration such as 15m")
	}
	if s == "now" {
		return now, nil
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	// "15m" and "15m ago" mean the same: a duration before now.
	ago := strings.TrimSpace(strings.TrimSuffix(s, " ago"))
	if d, err := ParseDuration(strings.TrimPrefix(ago, "-")); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-25T10:00:00Z), YYYY-MM-DDTHH:mm:SS[.sss] with an optional zone (UTC when absent), or a duration ago such as 15m, 15m ago or PT15M", s)
}

var isoDur = regexp.MustCompile(`^(-)?P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// ParseDuration parses an ISO 8601 duration (P1DT2H, PT15M, PT0.5S; years
// and months are refused as ambiguous) or a Go duration (90m, 1h30m), plus a
// day suffix (2d). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	u := strings.ToUpper(s)
	if strings.HasPrefix(u, "P") || strings.HasPrefix(u, "-P") {
		m := isoDur.FindStringSubmatch(u)
		if m == nil || u == "P" || u == "PT" {
			return 0, fmt.Errorf("%q is not an ISO 8601 duration: use PnDTnHnMnS such as P1DT2H or PT15M (years and months are not accepted)", s)
		}
		if m[1] == "-" {
			return 0, fmt.Errorf("duration %q is negative: give how far back as a positive duration", s)
		}
		var d float64
		for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second} {
			if v := m[i+2]; v != "" {
				f, _ := strconv.ParseFloat(v, 64)
				d += f * float64(unit)
			}
		}
		return time.Duration(d), nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.ParseFloat(strings.TrimSuffix(s, "d"), 64); err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use a Go duration (90m, 1h30m, 2d) or ISO 8601 (PT90M, P1DT2H)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative: give how far back as a positive duration", s)
	}
	return d, nil
}
