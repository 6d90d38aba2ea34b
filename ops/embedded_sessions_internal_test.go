package ops

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The reaper's rules: who is expired, who is spared, who is kept alive.
func TestSessionReaperJudges(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	join := func(member string, at time.Time) (kmsg.Request, time.Time) {
		r := kmsg.NewPtrJoinGroupRequest()
		r.Group, r.MemberID, r.SessionTimeoutMillis = "g", member, 6000
		return r, at
	}
	beat := func(member string, at time.Time) (kmsg.Request, time.Time) {
		r := kmsg.NewPtrHeartbeatRequest()
		r.Group, r.MemberID = "g", member
		return r, at
	}
	sync := func(member string, at time.Time) (kmsg.Request, time.Time) {
		r := kmsg.NewPtrSyncGroupRequest()
		r.Group, r.MemberID = "g", member
		return r, at
	}
	type obs struct {
		req kmsg.Request
		at  time.Time
	}
	o := func(r kmsg.Request, at time.Time) obs { return obs{r, at} }
	for _, tc := range []struct {
		name         string
		seen         []obs
		state        string
		epoch        int32
		now          time.Time
		dead, waited []string
	}{
		{"stable, heartbeating", []obs{o(join("a", t0)), o(beat("a", t0.Add(5*time.Second)))}, "Stable", 1, t0.Add(10 * time.Second), nil, nil},
		{"stable, silent past its session", []obs{o(join("a", t0)), o(beat("a", t0.Add(time.Second)))}, "Stable", 1, t0.Add(8 * time.Second), []string{"a"}, nil},
		{"stable after a long rebalance: the session counts from then", []obs{o(join("a", t0.Add(-50*time.Second)))}, "Stable", 1, t0.Add(5 * time.Second), nil, nil},
		{"stable after a long rebalance, silent since", []obs{o(join("a", t0.Add(-50*time.Second)))}, "Stable", 1, t0.Add(7 * time.Second), []string{"a"}, nil},
		{"stable, a member never seen gets Kafka's 45 s", nil, "Stable", 1, t0.Add(44 * time.Second), nil, nil},
		{"stable, a member never seen, silent for 45 s", nil, "Stable", 1, t0.Add(45 * time.Second), []string{"a"}, nil},
		{"preparing, waiting in this generation's join", []obs{o(join("a", t0))}, "PreparingRebalance", 0, t0.Add(30 * time.Second), nil, []string{"a"}},
		{"preparing, its join was in an earlier generation", []obs{o(join("a", t0))}, "PreparingRebalance", 3, t0.Add(30 * time.Second), []string{"a"}, nil},
		{"completing, waiting in sync", []obs{o(join("a", t0)), o(sync("a", t0.Add(time.Second)))}, "CompletingRebalance", 1, t0.Add(30 * time.Second), nil, nil},
		{"empty", nil, "Empty", 1, t0.Add(time.Hour), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every JoinGroup here joins generation 0.
			r := &sessionReaper{groups: map[string]*reapGroup{}, ours: map[string]int{},
				info: func(string) *kfake.GroupInfo { return &kfake.GroupInfo{Epoch: 0} }}
			r.group("g", true)
			for _, s := range tc.seen {
				r.observe(s.req, s.at)
			}
			gi := &kfake.GroupInfo{Group: "g", State: tc.state, Epoch: tc.epoch, Members: []kfake.GroupMember{{MemberID: "a"}}}
			// The group is first judged when it is first seen in
			// this state: stableAt/rebalanceAt start at t0.
			r.judge("g", gi, t0)
			dead, waiting := r.judge("g", gi, tc.now)
			ids := func(ms []kfake.GroupMember) []string {
				var out []string
				for _, m := range ms {
					out = append(out, m.MemberID)
				}
				return out
			}
			if !slices.Equal(ids(dead), tc.dead) || !slices.Equal(ids(waiting), tc.waited) {
				t.Errorf("dead %v waiting %v, want dead %v waiting %v", ids(dead), ids(waiting), tc.dead, tc.waited)
			}
		})
	}
}

// The reaper's own heartbeats for a member waiting in JoinGroup keep kfake
// from expiring it but are not the member's: they do not count as its
// requests.
func TestSessionReaperIgnoresItsOwnHeartbeats(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	r := &sessionReaper{groups: map[string]*reapGroup{}, ours: map[string]int{"g/a": 1},
		info: func(string) *kfake.GroupInfo { return &kfake.GroupInfo{Epoch: 0} }}
	j := kmsg.NewPtrJoinGroupRequest()
	j.Group, j.MemberID, j.SessionTimeoutMillis = "g", "a", 6000
	r.observe(j, t0)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID = "g", "a"
	r.observe(hb, t0.Add(5*time.Second))
	if m := r.groups["g"].members["a"]; m.last != t0 || m.lastKind != kmsg.JoinGroup || r.ours["g/a"] != 0 {
		t.Fatalf("after the reaper's heartbeat: last %v kind %v ours %d, want the JoinGroup at t0 and none pending", m.last, m.lastKind, r.ours["g/a"])
	}
	r.observe(hb, t0.Add(6*time.Second)) // the member's own
	if m := r.groups["g"].members["a"]; m.lastKind != kmsg.Heartbeat {
		t.Fatalf("the member's heartbeat was not counted: %v", m.lastKind)
	}
}
