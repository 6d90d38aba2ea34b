package mirror

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestRetryCoordinatorBackoff runs on a synctest bubble's clock: transient
// coordinator errors are retried after 50ms doubling to 1s; any other
// result ends the retries; the context's end returns the last error.
func TestRetryCoordinatorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		v, err := retryCoordinator(context.Background(), func() (int, error) {
			at = append(at, time.Since(start))
			if len(at) <= 6 {
				return 0, kerr.CoordinatorLoadInProgress
			}
			return 42, nil
		})
		want := []time.Duration{0, 50e6, 150e6, 350e6, 750e6, 1550e6, 2550e6}
		if v != 42 || err != nil || fmt.Sprint(at) != fmt.Sprint(want) {
			t.Fatalf("got %d, %v after attempts at %v; want 42 after %v", v, err, at, want)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
		defer cancel()
		calls := 0
		_, err = retryCoordinator(ctx, func() (int, error) { calls++; return 0, kerr.NotCoordinator })
		if !errors.Is(err, kerr.NotCoordinator) || calls != 2 {
			t.Fatalf("deadline: %v after %d calls, want NOT_COORDINATOR after 2", err, calls)
		}
		boom := errors.New("boom")
		if _, err := retryCoordinator(context.Background(), func() (int, error) { return 0, boom }); err != boom {
			t.Fatalf("non-transient: %v", err)
		}
	})
}
