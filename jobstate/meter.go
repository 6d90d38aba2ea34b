package jobstate

import (
	"sync"
	"sync/atomic"
	"time"
)

// meterSamples is how many samples a Meter keeps, at least meterSpacing
// apart: enough to always hold one at least RateWindow old when ticked at
// least every meterSpacing.
const (
	meterSamples = 8
	meterSpacing = 250 * time.Millisecond
)

// RateWindow is the shortest interval a Meter's rate is measured over.
const RateWindow = time.Second

// Meter counts events (records, bytes) and measures their rate. Add is one
// atomic add, for hot paths; Tick and Rate sample the count with its time.
// The rate is computed when read, over the interval from the newest sample
// at least RateWindow old to now, so it advances by itself: it falls to zero
// when the events stop even if nobody ticks, and a reader that polls rarely
// does not stretch the interval (as long as the owner ticks). A Meter needs
// no goroutine; its zero value is ready. Safe for concurrent use.
type Meter struct {
	n        atomic.Int64
	lastTick atomic.Int64 // unix nanos of the newest sample; 0 none

	mu      sync.Mutex
	samples [meterSamples]sample // ring; newest at head
	head    int
	count   int
}

type sample struct {
	at time.Time
	n  int64
}

// Add adds n events. It never blocks.
func (m *Meter) Add(n int64) { m.n.Add(n) }

// Total returns the events added since the meter was made.
func (m *Meter) Total() int64 { return m.n.Load() }

// Tick samples the count at now unless the newest sample is younger than
// 250ms; the owner calls it as often as it likes (once per batch) to keep
// the rate's interval short. Without a sample to add it costs one atomic
// load.
func (m *Meter) Tick(now time.Time) {
	if last := m.lastTick.Load(); last != 0 && now.UnixNano()-last < int64(meterSpacing) {
		return
	}
	m.mu.Lock()
	m.tickLocked(now, m.n.Load())
	m.mu.Unlock()
}

func (m *Meter) tickLocked(now time.Time, n int64) {
	if m.count > 0 && now.Sub(m.samples[m.head].at) < meterSpacing {
		return
	}
	if m.count > 0 {
		m.head = (m.head + 1) % meterSamples
	}
	m.samples[m.head] = sample{at: now, n: n}
	m.count = min(m.count+1, meterSamples)
	m.lastTick.Store(now.UnixNano())
}

// Rate returns the events per second from the newest sample at least
// RateWindow before now to now, and samples the count. It is 0 until the
// meter has a sample that old (its first second).
func (m *Meter) Rate(now time.Time) float64 {
	n := m.n.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	var rate float64
	for i := range m.count {
		s := m.samples[(m.head-i+meterSamples)%meterSamples]
		if d := now.Sub(s.at); d >= RateWindow {
			rate = float64(n-s.n) / d.Seconds()
			break
		}
	}
	m.tickLocked(now, n)
	return rate
}
