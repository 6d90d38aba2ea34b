package ops

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Defaults of lag sampling; [ops] lag_window and lag_sample_interval
// override them.
const (
	DefaultLagWindow         = 5 * time.Minute
	DefaultLagSampleInterval = 10 * time.Second
	// maxSamplesPerPartition bounds a window's memory whatever the interval.
	maxSamplesPerPartition = 256
	// maxLagHistory bounds a group's sparkline.
	maxLagHistory = 120
)

// WithLagSampling makes the Local sample every configured cluster's consumer
// groups every interval, from NewLocal until Close, so that lag statuses and
// time lag estimates are known ([ops] lag_sample_interval when interval is
// 0; a negative interval turns sampling off). Without it, samples are still
// taken whenever ListGroups or DescribeGroup runs. The sampler is one
// goroutine owned by the Local; each round is bounded by the clusters'
// request timeouts.
func WithLagSampling(interval time.Duration) Opt {
	return optFn(func(c *localCfg) {
		c.lagSampling = true
		c.lagInterval = interval
	})
}

// lagWindows holds the sliding windows of every sampled group. Safe for
// concurrent use; its lock is never held while calling out.
type lagWindows struct {
	mu        sync.Mutex
	window    time.Duration
	groups    map[string]*groupWindow // by cluster + "\x00" + group
	lastSweep time.Time
}

type groupWindow struct {
	parts   map[topicPart][]OffsetSample
	history []LagSample
	// status and partStatus are computed once per sample, in observe, so
	// every reader between two samples sees the same statuses.
	status     string
	partStatus map[topicPart]string
}

// lagPoint is one partition of a group at sampling time.
type lagPoint struct {
	key          topicPart
	committed    int64
	logEndOffset int64
}

func (l *Local) windows() *lagWindows {
	l.lagOnce.Do(func() {
		l.lag = &lagWindows{window: l.cfg.Ops.LagWindow.Or(DefaultLagWindow), groups: map[string]*groupWindow{}}
	})
	return l.lag
}

// observe records one sample of a group's partitions at the Local's now.
func (l *Local) observe(cluster, group string, active bool, pts []lagPoint) {
	w := l.windows()
	now := l.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		gw = &groupWindow{parts: map[topicPart][]OffsetSample{}}
		w.groups[cluster+"\x00"+group] = gw
	}
	var total int64
	seen := map[topicPart]bool{}
	for _, p := range pts {
		seen[p.key] = true
		s := OffsetSample{Time: now, Committed: p.committed, LogEndOffset: p.logEndOffset, Active: active}
		total += s.Lag()
		ss := gw.parts[p.key]
		if n := len(ss); n > 0 && !now.After(ss[n-1].Time) {
			ss[n-1] = s // same instant: keep the newest observation
		} else {
			ss = append(ss, s)
		}
		gw.parts[p.key] = prune(ss, now, w.window)
	}
	for k := range gw.parts {
		if !seen[k] {
			delete(gw.parts, k) // no longer committed or assigned
		}
	}
	gw.status, gw.partStatus = "", make(map[topicPart]string, len(gw.parts))
	for k, ss := range gw.parts {
		ps := PartitionStatus(ss, now)
		gw.partStatus[k] = ps
		gw.status = WorseStatus(gw.status, ps)
	}
	if n := len(gw.history); n > 0 && !now.After(gw.history[n-1].Time) {
		gw.history[n-1] = LagSample{Time: now, Lag: total}
	} else {
		gw.history = append(gw.history, LagSample{Time: now, Lag: total})
	}
	if len(gw.history) > maxLagHistory {
		gw.history = append(gw.history[:0:0], gw.history[len(gw.history)-maxLagHistory:]...)
	}
	// Forget groups not seen for two windows (deleted ones), at most once
	// a window so that observing stays O(partitions).
	if now.Sub(w.lastSweep) > w.window {
		w.lastSweep = now
		for k, g := range w.groups {
			if n := len(g.history); n > 0 && now.Sub(g.history[n-1].Time) > 2*w.window {
				delete(w.groups, k)
			}
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

// decorateSummary sets a group's lag status and time lag estimate from its
// window, leaving them unknown ("" and -1) before two samples exist.
func (l *Local) decorateSummary(cluster string, gs *GroupSummary) {
	w := l.windows()
	now := l.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+gs.Group]
	if gw == nil {
		return
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
	gs.Status = gw.status
	if est > 0 || (est == 0 && !unknown) {
		gs.TimeLagEstimate = est
	}
}

// partitionStatuses returns each partition's status, for DescribeGroup rows.
func (l *Local) partitionStatuses(cluster, group string) map[topicPart]string {
	w := l.windows()
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		return nil
	}
	out := make(map[topicPart]string, len(gw.partStatus))
	for k, s := range gw.partStatus {
		out[k] = s
	}
	return out
}

// lagHistory returns a group's sampled total lag, oldest first.
func (l *Local) lagHistory(cluster, group string) []LagSample {
	w := l.windows()
	w.mu.Lock()
	defer w.mu.Unlock()
	gw := w.groups[cluster+"\x00"+group]
	if gw == nil {
		return nil
	}
	return append([]LagSample(nil), gw.history...)
}

// observeDetail records a described group's rows and sets the status of
// each row and of the group.
func (l *Local) observeDetail(cluster string, d *GroupDetail, observe bool) {
	pts := make([]lagPoint, 0, len(d.Offsets))
	for _, o := range d.Offsets {
		if o.Error != "" || o.LogEndOffset < 0 {
			continue
		}
		pts = append(pts, lagPoint{key: topicPart{o.Topic, o.Partition}, committed: o.Committed, logEndOffset: o.LogEndOffset})
	}
	if observe {
		l.observe(cluster, d.Group, d.Members > 0, pts)
	}
	st := l.partitionStatuses(cluster, d.Group)
	for i := range d.Offsets {
		d.Offsets[i].Status = st[topicPart{d.Offsets[i].Topic, d.Offsets[i].Partition}]
	}
}

// startSampling starts the sampler goroutine when WithLagSampling asked
// for it; Close stops it and waits.
func (l *Local) startSampling() {
	if !l.lc.lagSampling || l.lc.lagInterval < 0 {
		return
	}
	interval := l.lc.lagInterval
	if interval == 0 {
		interval = l.cfg.Ops.LagSampleInterval.Or(DefaultLagSampleInterval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.samplerStop = cancel
	l.samplerDone = make(chan struct{})
	go func() {
		defer close(l.samplerDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			l.sampleAll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopSampling stops the sampler goroutine, if any, and waits for it.
func (l *Local) stopSampling() {
	if l.samplerStop != nil {
		l.samplerStop()
		<-l.samplerDone
	}
}

// sampleAll takes one sample of every group of every cluster; ListGroups
// records it. Unreachable clusters are logged and skipped.
func (l *Local) sampleAll(ctx context.Context) {
	names := l.names()
	sort.Strings(names)
	for _, n := range names {
		if ctx.Err() != nil {
			return
		}
		if _, err := l.ListGroups(context.WithValue(ctx, samplerKey{}, true), n); err != nil {
			l.log.Debug("lag sampling failed", "cluster", n, "err", err)
		}
	}
}
