package jobstate

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential delay between attempts: Min, doubling after
// each Next up to Max, shortened at random by up to Jitter (a fraction in
// [0, 1); 0, the default, waits exactly), and back to Min after Reset or a
// run longer than HealthyAfter (Ran). The supervisor restarts jobs with
// {Min: 1s, Max: 30s, HealthyAfter: 1m}; connect retries retriable errors
// with {Min: 100ms, Max: 5s}; mirror retries coordinator errors with
// {Min: 50ms, Max: 1s}. Not safe for concurrent use: one Backoff per loop.
type Backoff struct {
	// Min is the first delay; at least 1ns.
	Min time.Duration
	// Max caps the delay; below Min it is Min.
	Max time.Duration
	// Jitter shortens each delay by a random fraction up to Jitter.
	Jitter float64
	// HealthyAfter: a run longer than this resets the delay (Ran); 0 never.
	HealthyAfter time.Duration

	next time.Duration // 0: Min
}

// Next returns the delay to wait now and doubles the following one, up to
// Max.
func (b *Backoff) Next() time.Duration {
	d := max(b.next, b.Min, 1)
	b.next = min(2*d, max(b.Max, b.Min, 1))
	if b.Jitter > 0 {
		d -= time.Duration(rand.Float64() * min(b.Jitter, 1) * float64(d))
	}
	return d
}

// Reset makes the next delay Min again.
func (b *Backoff) Reset() { b.next = 0 }

// Ran tells the backoff how long the last attempt ran: longer than
// HealthyAfter (when set) resets the delay. It reports whether it did.
func (b *Backoff) Ran(d time.Duration) bool {
	if b.HealthyAfter > 0 && d > b.HealthyAfter {
		b.Reset()
		return true
	}
	return false
}

// Sleep waits d, or until ctx ends (returning its error). The timer is
// stopped either way.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
