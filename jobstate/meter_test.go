package jobstate

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestMeterRate(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		run  func(m *Meter) float64
		want float64
	}{
		{"no sample a second old yet", func(m *Meter) float64 {
			m.Tick(at(0))
			m.Add(500)
			return m.Rate(at(900))
		}, 0},
		{"steady 1000/s ticked per batch", func(m *Meter) float64 {
			for ms := 0; ms <= 3000; ms += 100 {
				m.Add(100)
				m.Tick(at(ms))
			}
			return m.Rate(at(3000))
		}, 1000},
		{"falls to zero when the events stop, without ticks", func(m *Meter) float64 {
			for ms := 0; ms <= 3000; ms += 100 {
				m.Add(100)
				m.Tick(at(ms))
			}
			return m.Rate(at(10_000))
		}, 0},
		{"a rare reader does not stretch the interval", func(m *Meter) float64 {
			m.Rate(at(0)) // a reader at start, then none for 10s
			for ms := 100; ms <= 10_000; ms += 100 {
				n := int64(10)
				if ms > 8000 {
					n = 100 // the last two seconds: 1000/s
				}
				m.Add(n)
				m.Tick(at(ms))
			}
			return m.Rate(at(10_000))
		}, 1000},
		{"polled rarely without ticks: averages since the last read", func(m *Meter) float64 {
			m.Rate(at(0))
			m.Add(5000)
			return m.Rate(at(5000))
		}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Meter
			if got := tt.run(&m); got < tt.want*0.95 || got > tt.want*1.05+1e-9 {
				t.Errorf("rate = %v, want %v (±5%%)", got, tt.want)
			}
		})
	}
}

func TestMeterTotalAndConcurrency(t *testing.T) {
	var m Meter
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				m.Add(1)
				m.Tick(time.Now())
				_ = m.Rate(time.Now())
			}
		})
	}
	wg.Wait()
	if m.Total() != 4000 {
		t.Fatalf("total = %d, want 4000", m.Total())
	}
}

// TestMeterOnTheClock runs on the synctest bubble's clock: the rate a
// reader sees after the events stop decays to zero by itself.
func TestMeterOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var m Meter
		for range 30 {
			m.Add(50)
			m.Tick(time.Now())
			time.Sleep(100 * time.Millisecond)
		}
		if r := m.Rate(time.Now()); r < 450 || r > 550 {
			t.Fatalf("rate while running = %v, want about 500", r)
		}
		time.Sleep(5 * time.Second)
		if r := m.Rate(time.Now()); r != 0 {
			t.Fatalf("rate 5s after the last event = %v, want 0", r)
		}
	})
}

// The hot path: Add against the atomic add it replaced, and Tick when no
// sample is due (the per-batch call).
func BenchmarkMeterAdd(b *testing.B) {
	b.Run("atomic.Int64", func(b *testing.B) {
		var n atomic.Int64
		for range b.N {
			n.Add(1)
		}
	})
	b.Run("Meter", func(b *testing.B) {
		var m Meter
		for range b.N {
			m.Add(1)
		}
	})
}

func BenchmarkMeterTick(b *testing.B) {
	var m Meter
	now := time.Now()
	m.Tick(now)
	for range b.N {
		m.Add(100)
		m.Tick(now)
	}
}

func BenchmarkMeterRate(b *testing.B) {
	var m Meter
	now := time.Now()
	for i := range 8 {
		m.Add(1000)
		m.Tick(now.Add(time.Duration(i) * 300 * time.Millisecond))
	}
	for range b.N {
		_ = m.Rate(now.Add(3 * time.Second))
	}
}
