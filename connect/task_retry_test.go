package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestWithRetryBackoff runs on a synctest bubble's clock: retriable errors
// are retried after 100ms, 200ms, 400ms, 800ms (doubling, capped at 5s)
// until the next wait would pass errors_retry_timeout, exactly and at once.
func TestWithRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &runtime{j: &Job{retryTimeout: 2 * time.Second, log: slog.New(slog.DiscardHandler)}}
		tk := newTask(0, nil)
		start := time.Now()
		var at []time.Duration
		err := rt.withRetry(context.Background(), tk, "put", func() error {
			at = append(at, time.Since(start))
			return fmt.Errorf("sink busy: %w", ErrRetriable)
		})
		if err == nil || !strings.Contains(err.Error(), "retries exhausted after 2s") || !errors.Is(err, ErrRetriable) {
			t.Fatalf("err = %v", err)
		}
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
		if tk.errs.Load() != int64(len(want)) {
			t.Fatalf("errors counted %d, want %d", tk.errs.Load(), len(want))
		}

		// Cancelled while waiting: the context's error, at once.
		ctx, cancel := context.WithCancel(context.Background())
		rt.j.retryTimeout = time.Hour
		calls := 0
		go func() { time.Sleep(250 * time.Millisecond); cancel() }()
		err = rt.withRetry(ctx, tk, "put", func() error { calls++; return ErrRetriable })
		if !errors.Is(err, context.Canceled) || calls != 2 {
			t.Fatalf("cancelled retry: %v after %d calls, want context.Canceled after 2 (at 0 and 100ms)", err, calls)
		}
		// A non-retriable error is returned as it is.
		boom := errors.New("boom")
		if err := rt.withRetry(context.Background(), tk, "put", func() error { return boom }); err != boom {
			t.Fatalf("non-retriable: %v", err)
		}
	})
}
