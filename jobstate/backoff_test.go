package jobstate

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffSequence(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		want []time.Duration
	}{
		{"supervisor", Backoff{Min: time.Second, Max: 30 * time.Second}, []time.Duration{1e9, 2e9, 4e9, 8e9, 16e9, 30e9, 30e9}},
		{"connect retry", Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second},
			[]time.Duration{100e6, 200e6, 400e6, 800e6, 1600e6, 3200e6, 5e9, 5e9}},
		{"mirror coordinator", Backoff{Min: 50 * time.Millisecond, Max: time.Second}, []time.Duration{50e6, 100e6, 200e6, 400e6, 800e6, 1e9, 1e9}},
		{"max below min", Backoff{Min: time.Second, Max: time.Millisecond}, []time.Duration{1e9, 1e9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, w := range tt.want {
				if got := tt.b.Next(); got != w {
					t.Fatalf("delay %d = %v, want %v", i, got, w)
				}
			}
			tt.b.Reset()
			if got := tt.b.Next(); got != tt.want[0] {
				t.Fatalf("after Reset: %v, want %v", got, tt.want[0])
			}
		})
	}
}

func TestBackoffHealthyAndJitter(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 30 * time.Second, HealthyAfter: time.Minute}
	b.Next()
	b.Next()
	if b.Ran(time.Minute) {
		t.Fatal("a run of exactly HealthyAfter reset the delay; it must be longer")
	}
	if got := b.Next(); got != 4*time.Second {
		t.Fatalf("delay after a short run = %v, want 4s", got)
	}
	if !b.Ran(time.Minute + 1) {
		t.Fatal("a run longer than HealthyAfter did not reset")
	}
	if got := b.Next(); got != time.Second {
		t.Fatalf("delay after a healthy run = %v, want 1s", got)
	}
	j := Backoff{Min: time.Second, Max: time.Second, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 100 {
		d := j.Next()
		if d <= 500*time.Millisecond || d > time.Second {
			t.Fatalf("jittered delay %v outside (0.5s, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("jitter gave the same delay 100 times")
	}
}

// TestSleep waits on the synctest bubble's clock: exact and instant.
func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Fatalf("slept %v, want 30s", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start = time.Now()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("cancelled sleep took %v, want 1s", d)
		}
	})
}
