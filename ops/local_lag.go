package ops

import (
	"context"
	"sort"
	"time"

	"github.com/kdeck/kdeck/ops/lag"
)

// Defaults of lag sampling; [ops] lag_window and lag_sample_interval
// override them.
const (
	DefaultLagWindow         = lag.DefaultWindow
	DefaultLagSampleInterval = lag.DefaultSampleInterval
)

// Lag statuses, Burrow's names, from best to worst (see package lag).
const (
	StatusOK     = lag.StatusOK
	StatusWarn   = lag.StatusWarn
	StatusStop   = lag.StatusStop
	StatusStall  = lag.StatusStall
	StatusRewind = lag.StatusRewind
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

func (l *Local) windows() *lag.Windows {
	l.lagOnce.Do(func() {
		l.lag = lag.NewWindows(l.cfg.Ops.LagWindow.Or(DefaultLagWindow))
	})
	return l.lag
}

// observe records one sample of a group's partitions at the Local's now.
func (l *Local) observe(cluster, group string, active bool, pts []lag.Observation) {
	l.windows().Observe(cluster, group, active, l.now(), pts)
}

// decorateSummary sets a group's lag status and time lag estimate from its
// window, leaving them unknown ("" and -1) before two samples exist.
func (l *Local) decorateSummary(cluster string, gs *GroupSummary) {
	status, est, ok := l.windows().Summary(cluster, gs.Group, l.now())
	if !ok {
		return
	}
	gs.Status = status
	if est >= 0 {
		gs.TimeLagEstimate = est
	}
}

// lagHistory returns a group's sampled total lag, oldest first.
func (l *Local) lagHistory(cluster, group string) []LagSample {
	return l.windows().History(cluster, group)
}

// observeDetail records a described group's rows and sets the status of
// each row and of the group.
func (l *Local) observeDetail(cluster string, d *GroupDetail, observe bool) {
	pts := make([]lag.Observation, 0, len(d.Offsets))
	for _, o := range d.Offsets {
		if o.Error != "" || o.LogEndOffset < 0 {
			continue
		}
		pts = append(pts, lag.Observation{Partition: lag.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Committed: o.Committed, LogEndOffset: o.LogEndOffset})
	}
	if observe {
		l.observe(cluster, d.Group, d.Members > 0, pts)
	}
	st := l.windows().PartitionStatuses(cluster, d.Group)
	for i := range d.Offsets {
		d.Offsets[i].Status = st[lag.TopicPartition{Topic: d.Offsets[i].Topic, Partition: d.Offsets[i].Partition}]
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
