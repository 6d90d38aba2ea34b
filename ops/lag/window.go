package lag

import (
	"sync"
	"time"
)

// Defaults of lag sampling; [ops] lag_window and lag_sample_interval
// override them.
const (
	DefaultWindow         = 5 * time.Minute
	DefaultSampleInterval = 10 * time.Second
	// maxSamplesPerPartition bounds a window's memory whatever the interval.
	maxSamplesPerPartition = 256
	// maxHistory bounds a group's sparkline.
	maxHistory = 120
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Observation is one partition of a group at sampling time.
type Observation struct {
	Partition    TopicPartition
	Committed    int64
	LogEndOffset int64
}

// Point is one point of a group's sampled total lag.
type Point struct {
	Time time.Time `json:"time"`
	Lag  int64     `json:"lag"`
}

// Windows holds the sliding windows of every sampled group, by cluster and
// group. It is safe for concurrent use; its lock is never held while
// calling out.
type Windows struct {
	mu        sync.Mutex
	window    time.Duration
	groups    map[string]*groupWindow // by cluster + "\x00" + group
	lastSweep time.Time
}

type groupWindow struct {
	parts   map[TopicPartition][]OffsetSample
	history []Point
	// status and partStatus are computed once per sample, in Observe, so
	// every reader between two samples sees the same statuses.
	status     string
	partStatus map[TopicPartition]string
}

// NewWindows returns empty windows that keep window's worth of samples.
func NewWindows(window time.Duration) *Windows {
	return &Windows{window: window, groups: map[string]*groupWindow{}}
}

// Observe records one sample of a group's partitions at now; active says
// the group has members.
func (w *Windows) Observe(cluster, group string, active bool, now time.Time, pts []Observation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		gw = &groupWindow{parts: map[TopicPartition][]OffsetSample{}}
		w.groups[cluster+"\x00"+group] = gw
	}
	var total int64
	seen := map[TopicPartition]bool{}
	for _, p := range pts {
		seen[p.Partition] = true
		s := OffsetSample{Time: now, Committed: p.Committed, LogEndOffset: p.LogEndOffset, Active: active}
		total += s.Lag()
		ss := gw.parts[p.Partition]
		if n := len(ss); n > 0 && !now.After(ss[n-1].Time) {
			ss[n-1] = s // same instant: keep the newest observation
		} else {
			ss = append(ss, s)
		}
		gw.parts[p.Partition] = prune(ss, now, w.window)
	}
	for k := range gw.parts {
		if !seen[k] {
			delete(gw.parts, k) // no longer committed or assigned
		}
	}
	gw.status, gw.partStatus = "", make(map[TopicPartition]string, len(gw.parts))
	for k, ss := range gw.parts {
		ps := PartitionStatus(ss, now)
		gw.partStatus[k] = ps
		gw.status = Worse(gw.status, ps)
	}
	if n := len(gw.history); n > 0 && !now.After(gw.history[n-1].Time) {
		gw.history[n-1] = Point{Time: now, Lag: total}
	} else {
		gw.history = append(gw.history, Point{Time: now, Lag: total})
	}
	if len(gw.history) > maxHistory {
		gw.history = append(gw.history[:0:0], gw.history[len(gw.history)-maxHistory:]...)
	}
	w.sweep(now)
}

// sweep forgets groups not seen for two windows (deleted ones), at most
// once a window so that observing stays O(partitions). The caller holds
// w.mu.
func (w *Windows) sweep(now time.Time) {
	if now.Sub(w.lastSweep) <= w.window {
		return
	}
	w.lastSweep = now
	for k, g := range w.groups {
		if n := len(g.history); n > 0 && now.Sub(g.history[n-1].Time) > 2*w.window {
			delete(w.groups, k)
		}
	}
}

// prune drops samples older than the window, keeping at least two.
func prune(ss []OffsetSample, now time.Time, window time.Duration) []OffsetSample {
	start := now.Add(-window)
	i := 0
	for i < len(ss)-2 && ss[i].Time.Before(start) {
		i++
	}
	if len(ss)-i > maxSamplesPerPartition {
		i = len(ss) - maxSamplesPerPartition
	}
	if i > 0 {
		ss = append(ss[:0:0], ss[i:]...)
	}
	return ss
}

// Summary returns a group's lag status and time lag estimate in seconds at
// now; ok is false for a group never observed. The estimate is -1 (unknown)
// before two samples exist or while a lagging partition has none.
func (w *Windows) Summary(cluster, group string, now time.Time) (status string, estimate float64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		return "", -1, false
	}
	est := -1.0
	unknown := false // a lagging partition without an estimate yet
	for _, ss := range gw.parts {
		if n := len(ss); n > 0 {
			e := EstimateTimeLag(ss, ss[n-1].Committed, now)
			unknown = unknown || (e < 0 && ss[n-1].Lag() > 0)
			est = max(est, e)
		}
	}
	if est > 0 || (est == 0 && !unknown) {
		return gw.status, est, true
	}
	return gw.status, -1, true
}

// PartitionStatuses returns each partition's status as of the latest
// Observe, nil for a group never observed.
func (w *Windows) PartitionStatuses(cluster, group string) map[TopicPartition]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		return nil
	}
	out := make(map[TopicPartition]string, len(gw.partStatus))
	for k, s := range gw.partStatus {
		out[k] = s
	}
	return out
}

// History returns a group's sampled total lag, oldest first.
func (w *Windows) History(cluster, group string) []Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		return nil
	}
	return append([]Point(nil), gw.history...)
}
