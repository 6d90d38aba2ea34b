// Package lag evaluates consumer lag: Burrow's status rules over a window
// of offset samples (OK, WARN, STOP, STALL, REWIND), the time lag estimate
// from the log end offset's growth (kafka-lag-exporter's method), and the
// sliding windows in which ops keeps every sampled group.
//
//	w := lag.NewWindows(lag.DefaultWindow)
//	w.Observe("local", "billing", true, time.Now(), []lag.Observation{
//		{Partition: lag.TopicPartition{Topic: "orders", Partition: 0}, Committed: 40, LogEndOffset: 50},
//	})
//	status, estimate := w.Summary("local", "billing", time.Now())
//
// The functions are pure; Windows is safe for concurrent use.
package lag

import "time"

// Lag statuses, Burrow's names (github.com/linkedin/Burrow, "Consumer Lag
// Evaluation Rules"), from best to worst.
const (
	StatusOK     = "OK"
	StatusWarn   = "WARN"
	StatusStop   = "STOP"
	StatusStall  = "STALL"
	StatusRewind = "REWIND"
)

// statusRank orders statuses; a group takes its worst partition's status.
var statusRank = map[string]int{"": 0, StatusOK: 1, StatusWarn: 2, StatusStop: 3, StatusStall: 4, StatusRewind: 5}

// Worse returns the worse of two statuses (OK < WARN < STOP < STALL <
// REWIND, Burrow's order; "" means unknown and loses to any status).
func Worse(a, b string) string {
	if statusRank[b] > statusRank[a] {
		return b
	}
	return a
}

// OffsetSample is one observation of a group's position on a partition.
type OffsetSample struct {
	Time time.Time
	// Committed is the group's committed offset, -1 when none.
	Committed int64
	// LogEndOffset is the partition's log end offset at Time.
	LogEndOffset int64
	// Active says the group had members at Time.
	Active bool
}

// Lag returns the sample's lag in records (0 without a commit).
func (s OffsetSample) Lag() int64 {
	if s.Committed < 0 || s.LogEndOffset <= s.Committed {
		return 0
	}
	return s.LogEndOffset - s.Committed
}

// PartitionStatus evaluates Burrow's rules over a window of samples of one
// partition, oldest first, at time now. It returns "" with fewer than two
// samples or without a commit in the latest one. The rules, first match wins:
//
//   - OK: the lag was zero in some sample of the window.
//   - REWIND: the committed offset went backwards between two samples.
//   - STOP: no commit for longer than the window spans: the time since the
//     committed offset last changed exceeds the span from the first sample
//     to that change, and the group has no members. (OffsetFetch gives no
//     commit times, so a group without members is one that does not commit.)
//   - STALL: the group has members and keeps the same committed offset
//     across the whole window while lag is non-zero.
//   - WARN: the lag never decreased across the window.
//   - OK otherwise.
func PartitionStatus(samples []OffsetSample, now time.Time) string {
	if len(samples) < 2 || samples[len(samples)-1].Committed < 0 {
		return ""
	}
	for _, s := range samples {
		if s.Committed >= 0 && s.Lag() == 0 {
			return StatusOK
		}
	}
	last := samples[len(samples)-1]
	lastChange := samples[0].Time
	unchanged := true
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		if prev.Committed >= 0 && cur.Committed >= 0 && cur.Committed < prev.Committed {
			return StatusRewind
		}
		if cur.Committed != prev.Committed {
			unchanged = false
			lastChange = cur.Time
		}
	}
	if !last.Active && now.Sub(lastChange) > lastChange.Sub(samples[0].Time) {
		return StatusStop
	}
	if unchanged && last.Active {
		return StatusStall
	}
	decreased := false
	for i := 1; i < len(samples); i++ {
		if samples[i].Lag() < samples[i-1].Lag() {
			decreased = true
			break
		}
	}
	if !decreased {
		return StatusWarn
	}
	return StatusOK
}

// EstimateTimeLag estimates how long ago the record at committed was
// produced, in seconds, from samples of the log end offset over time
// (kafka-lag-exporter's method): the time the log end offset passed
// committed is interpolated between the two samples around it, and the
// estimate is now minus that time. It is 0 when committed is at or past the
// latest log end offset; when committed is below every sampled log end
// offset, the rate over the whole window extrapolates it (or, on a topic
// that received nothing in the window, the age of the oldest sample is a
// lower bound). It returns -1 without a commit, or without two samples
// while lagging.
func EstimateTimeLag(samples []OffsetSample, committed int64, now time.Time) float64 {
	if len(samples) == 0 || committed < 0 {
		return -1
	}
	last := samples[len(samples)-1]
	if committed >= last.LogEndOffset {
		return 0
	}
	if len(samples) < 2 {
		return -1 // one point gives no rate and no time
	}
	at := func(t time.Time) float64 {
		d := now.Sub(t).Seconds()
		if d < 0 {
			return 0
		}
		return d
	}
	// First sample whose log end offset is past committed: the record at
	// committed was produced between the sample before it and it.
	j := -1
	for i, s := range samples {
		if s.LogEndOffset > committed {
			j = i
			break
		}
	}
	if j > 0 {
		a, b := samples[j-1], samples[j]
		frac := float64(committed-a.LogEndOffset) / float64(b.LogEndOffset-a.LogEndOffset)
		t := a.Time.Add(time.Duration(frac * float64(b.Time.Sub(a.Time))))
		return at(t)
	}
	first := samples[0]
	span := last.Time.Sub(first.Time)
	grew := last.LogEndOffset - first.LogEndOffset
	if grew <= 0 || span <= 0 {
		return at(first.Time)
	}
	rate := float64(grew) / span.Seconds() // records per second
	back := float64(first.LogEndOffset-committed) / rate
	return at(first.Time) + back
}
