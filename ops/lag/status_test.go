package lag_test

import (
	"math"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops/lag"
)

// window builds samples 10s apart from (committed, log end offset) pairs;
// active applies to every sample.
func window(active bool, pts ...[2]int64) []lag.OffsetSample {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	out := make([]lag.OffsetSample, len(pts))
	for i, p := range pts {
		out[i] = lag.OffsetSample{Time: t0.Add(time.Duration(i) * 10 * time.Second), Committed: p[0], LogEndOffset: p[1], Active: active}
	}
	return out
}

func TestPartitionStatusRules(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		samples []lag.OffsetSample
		now     time.Duration // after t0
		want    string
	}{
		{"one sample is not enough", window(true, [2]int64{5, 10}), 0, ""},
		{"no commit", window(true, [2]int64{-1, 10}, [2]int64{-1, 12}), 10 * time.Second, ""},
		{"OK: lag zero somewhere, even if it grew since", window(true, [2]int64{10, 10}, [2]int64{10, 20}, [2]int64{10, 30}), 20 * time.Second, lag.StatusOK},
		{"OK: lag zero beats a rewind", window(true, [2]int64{10, 10}, [2]int64{5, 12}), 10 * time.Second, lag.StatusOK},
		{"REWIND: committed went backwards", window(true, [2]int64{50, 100}, [2]int64{60, 100}, [2]int64{20, 100}), 20 * time.Second, lag.StatusRewind},
		{"STOP: no members, same offset, lag", window(false, [2]int64{5, 10}, [2]int64{5, 11}, [2]int64{5, 12}), 20 * time.Second, lag.StatusStop},
		{"STOP: no commit for longer than the commits span", window(false, [2]int64{5, 20}, [2]int64{6, 20}, [2]int64{6, 20}, [2]int64{6, 20}), 60 * time.Second, lag.StatusStop},
		{"not STOP: recent commits, lag decreasing", window(false, [2]int64{5, 20}, [2]int64{8, 20}, [2]int64{12, 20}), 20 * time.Second, lag.StatusOK},
		{"STALL: members commit the same offset, lag non-zero", window(true, [2]int64{5, 10}, [2]int64{5, 10}, [2]int64{5, 10}), 20 * time.Second, lag.StatusStall},
		{"WARN: offsets move but lag never decreases", window(true, [2]int64{5, 10}, [2]int64{6, 12}, [2]int64{7, 14}, [2]int64{8, 15}), 30 * time.Second, lag.StatusWarn},
		{"OK: offsets move and lag decreases once", window(true, [2]int64{5, 10}, [2]int64{6, 12}, [2]int64{9, 12}, [2]int64{10, 14}), 30 * time.Second, lag.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lag.PartitionStatus(tt.samples, t0.Add(tt.now)); got != tt.want {
				t.Errorf("status = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorseStatus(t *testing.T) {
	order := []string{"", lag.StatusOK, lag.StatusWarn, lag.StatusStop, lag.StatusStall, lag.StatusRewind}
	for i, a := range order {
		for j, b := range order {
			want := a
			if j > i {
				want = b
			}
			if got := lag.Worse(a, b); got != want {
				t.Errorf("Worse(%q, %q) = %q, want %q", a, b, got, want)
			}
		}
	}
}

func TestEstimateTimeLag(t *testing.T) {
	// Log end offsets 100, 200, 300 at t0, t0+10s, t0+20s.
	ss := window(true, [2]int64{0, 100}, [2]int64{0, 200}, [2]int64{0, 300})
	t0 := ss[0].Time
	tests := []struct {
		name      string
		samples   []lag.OffsetSample
		committed int64
		now       time.Duration
		want      float64
	}{
		{"caught up", ss, 300, 20 * time.Second, 0},
		{"interpolated between samples", ss, 150, 20 * time.Second, 15},
		{"on a sample", ss, 200, 30 * time.Second, 20},
		{"extrapolated before the window at the window's rate", ss, 50, 20 * time.Second, 25},
		{"idle topic: age of the oldest sample is a lower bound", window(true, [2]int64{0, 100}, [2]int64{0, 100}), 50, 30 * time.Second, 30},
		{"no samples", nil, 5, 0, -1},
		{"one sample while lagging", ss[:1], 50, 0, -1},
		{"one sample caught up", ss[:1], 100, 0, 0},
		{"no commit", ss, -1, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lag.EstimateTimeLag(tt.samples, tt.committed, t0.Add(tt.now))
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("estimate = %v, want %v", got, tt.want)
			}
		})
	}
}
