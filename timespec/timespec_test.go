package timespec

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-11-25T10:00:00Z", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), false},
		{"2026-11-25T10:00:00+01:00", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), false},
		{"2026-11-25T10:00:00.250", time.Date(2026, 11, 25, 10, 0, 0, 250e6, time.UTC), false},
		{"2026-11-25T10:00:00.000+0100", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), false},
		{"2026-11-25T10:00:00", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), false},
		{"15m", now.Add(-15 * time.Minute), false},
		{"10m ago", now.Add(-10 * time.Minute), false},
		{"PT2H ago", now.Add(-2 * time.Hour), false},
		{"ago", time.Time{}, true},
		{"PT1H", now.Add(-time.Hour), false},
		{"now", now, false},
		{"yesterday", time.Time{}, true},
		{"2026-13-45", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in, now)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if !tt.err && !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"PT15M", 15 * time.Minute, false},
		{"P1DT2H", 26 * time.Hour, false},
		{"P1W", 7 * 24 * time.Hour, false},
		{"PT0.5S", 500 * time.Millisecond, false},
		{"pt1h", time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"2d", 48 * time.Hour, false},
		{"-5m", 0, true},
		{"-PT5M", 0, true},
		{"P1M", 0, true},
		{"PT", 0, true},
		{"abc", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"PT15M", "2026-11-25T10:00:00", "90m", "P1DT", "now"} {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("negative duration %v from %q", d, s)
		}
		_, _ = ParseTime(s, now)
	})
}
