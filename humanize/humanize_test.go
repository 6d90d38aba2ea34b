package humanize

import (
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := Count(in); got != want {
			t.Errorf("Count(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for in, want := range map[float64]string{-1: "-", 0: "0s", 0.25: "250ms", 42: "42s", 185: "3m05s", 7800: "2h10m", 3 * 86400: "3d0h"} {
		if got := Seconds(in); got != want {
			t.Errorf("Seconds(%v) = %q, want %q", in, got, want)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	if got := Ago(now.Add(-5*time.Second), now); got != "5s ago" {
		t.Errorf("Ago = %q", got)
	}
	if got := Ago(time.Time{}, now); got != "never" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

func TestMillis(t *testing.T) {
	for in, want := range map[float64]string{-1: "-", 0: "-", 12: "12ms", 1500: "1s", 90000: "1m30s"} {
		if got := Millis(in); got != want {
			t.Errorf("Millis(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestRate(t *testing.T) {
	for in, want := range map[float64]string{0: "0/s", 7.4: "7/s", 999: "999/s", 1500: "1.5k/s", 2.5e6: "2.5M/s"} {
		if got := Rate(in); got != want {
			t.Errorf("Rate(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for in, want := range map[float64]string{-1: "-", 0: "0B", 512: "512B", 1536: "1.5KiB", 3 << 20: "3.0MiB", 2 << 30: "2.0GiB", 5 << 40: "5.0TiB", 3 << 50: "3072.0TiB"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%v) = %q, want %q", in, got, want)
		}
	}
	if got := ByteRate(1536); got != "1.5KiB/s" {
		t.Errorf("ByteRate = %q", got)
	}
}
