package ops

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dead members of classic groups on the embedded cluster.
//
// kfake times a member's session from the moment a JoinGroup or SyncGroup
// reply reached it. When the member's connection died while it waited in
// JoinGroup (a process killed during a rebalance), the reply fails, no
// session timer starts, and once the leader's SyncGroup makes the group
// Stable nothing removes the member: it keeps its partitions for as long as
// the cluster runs. Apache Kafka expires it after session.timeout.ms.
//
// A second gap makes it worse: kfake keeps a member's session clock running
// while the member waits in JoinGroup (Kafka keeps a member awaiting a join
// or a sync alive), so a rebalance held up by such a dead member also
// expires the live members waiting in it, over and over, until kfake's
// rebalance timeout (the members' largest, 60 s for franz-go) removes it.
//
// sessionReaper does what Kafka does, from outside kfake: it watches the
// requests that keep a classic member alive (JoinGroup, SyncGroup,
// Heartbeat, and a member's OffsetCommit) through controls that never
// answer them, and removes (by LeaveGroup, as an admin removes a member) a
// member that sent none of them for its session timeout, counted from its
// last request or from when the group last became Stable, whichever is
// later. A member awaiting a rebalance is spared as Kafka spares it (in
// PreparingRebalance one whose JoinGroup came in this generation, in
// CompletingRebalance one whose last request was its JoinGroup or
// SyncGroup), and the reaper heartbeats for a member waiting in JoinGroup
// so that kfake does not expire it meanwhile.

// defaultSessionTimeout is Kafka's session.timeout.ms default, used for a
// member whose JoinGroup the reaper did not see (it joined before a
// restart).
const defaultSessionTimeout = 45 * time.Second

// reapInterval is how often the reaper looks at the groups it tracks.
const reapInterval = time.Second

type sessionReaper struct {
	info func(group string) *kfake.GroupInfo // the cluster's GroupInfo
	addr string
	log  *slog.Logger

	mu     sync.Mutex
	groups map[string]*reapGroup // classic groups seen through their requests
	ours   map[string]int        // group/member → heartbeats the reaper sent and observe must not count
}

type reapGroup struct {
	members     map[string]*reapMember   // by member id
	byInstance  map[string]time.Duration // session timeouts of static members not seen by id yet
	gen         int32                    // generation at stableAt
	stableAt    time.Time                // when the group was first seen Stable at gen
	rebalanceAt time.Time                // when the group was first seen rebalancing since; zero while Stable
}

type reapMember struct {
	last     time.Time     // last request from the member, or when first seen
	lastKind kmsg.Key      // that request's key
	joinGen  int32         // the group's generation when its last JoinGroup came
	timeout  time.Duration // its session timeout; 0 while unknown
}

// newSessionReaper installs the reaper's controls on c, whose bootstrap
// address is addr. Start it with run.
func newSessionReaper(c *kfake.Cluster, addr string, log *slog.Logger) *sessionReaper {
	r := &sessionReaper{info: c.GroupInfo, addr: addr, log: log, groups: map[string]*reapGroup{}, ours: map[string]int{}}
	for _, k := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.LeaveGroup} {
		c.ControlKey(int16(k), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			r.observe(kreq, time.Now())
			return nil, nil, false
		})
	}
	return r
}

func (r *sessionReaper) group(name string, create bool) *reapGroup {
	g := r.groups[name]
	if g == nil && create {
		g = &reapGroup{members: map[string]*reapMember{}, byInstance: map[string]time.Duration{}}
		r.groups[name] = g
	}
	return g
}

// observe records a request that keeps a member alive (or, for LeaveGroup,
// ends it). It runs on kfake's control goroutine and must stay short.
func (r *sessionReaper) observe(kreq kmsg.Request, now time.Time) {
	// The generation a JoinGroup joins, read before kfake handles it
	// (the control runs while kfake's loop still serves admin calls).
	var joinGen int32 = -1
	if req, ok := kreq.(*kmsg.JoinGroupRequest); ok && req.MemberID != "" {
		if gi := r.info(req.Group); gi != nil {
			joinGen = gi.Epoch
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	touch := func(g *reapGroup, member string, timeout time.Duration) {
		if g == nil || member == "" {
			return
		}
		m := g.members[member]
		if m == nil {
			m = &reapMember{}
			g.members[member] = m
		}
		m.last, m.lastKind = now, kmsg.Key(kreq.Key())
		if timeout > 0 {
			m.timeout = timeout
		}
	}
	switch req := kreq.(type) {
	case *kmsg.JoinGroupRequest:
		g := r.group(req.Group, true)
		timeout := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
		if req.MemberID == "" && req.InstanceID != nil {
			g.byInstance[*req.InstanceID] = timeout
		}
		touch(g, req.MemberID, timeout)
		if m := g.members[req.MemberID]; m != nil {
			m.joinGen = joinGen
		}
	case *kmsg.SyncGroupRequest:
		touch(r.group(req.Group, true), req.MemberID, 0)
	case *kmsg.HeartbeatRequest:
		if k := req.Group + "/" + req.MemberID; r.ours[k] > 0 {
			r.ours[k]--
			return
		}
		touch(r.group(req.Group, true), req.MemberID, 0)
	case *kmsg.OffsetCommitRequest:
		// Only groups already known as classic: a KIP-848 member
		// commits too, but keeps its session by other requests.
		if req.Generation >= 0 {
			touch(r.group(req.Group, false), req.MemberID, 0)
		}
	case *kmsg.LeaveGroupRequest:
		if g := r.group(req.Group, false); g != nil {
			delete(g.members, req.MemberID)
			for _, m := range req.Members {
				delete(g.members, m.MemberID)
			}
		}
	}
}

// judge returns the members of group that outlived their session and the
// members waiting in JoinGroup, given the group's state from kfake, and
// forgets members that left.
func (r *sessionReaper) judge(name string, gi *kfake.GroupInfo, now time.Time) (dead, waiting []kfake.GroupMember) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.group(name, false)
	if g == nil {
		return nil, nil
	}
	if gi == nil {
		delete(r.groups, name)
		return nil, nil
	}
	present := make(map[string]bool, len(gi.Members))
	for _, m := range gi.Members {
		present[m.MemberID] = true
	}
	for id := range g.members {
		if !present[id] {
			delete(g.members, id)
		}
	}
	switch gi.State {
	case "Stable":
		g.rebalanceAt = time.Time{}
		if g.stableAt.IsZero() || g.gen != gi.Epoch {
			g.stableAt, g.gen = now, gi.Epoch
		}
	case "PreparingRebalance", "CompletingRebalance":
		if g.rebalanceAt.IsZero() {
			g.rebalanceAt = now
		}
	default: // Empty, Dead: no member to judge
		return nil, nil
	}
	for _, gm := range gi.Members {
		m := g.members[gm.MemberID]
		if m == nil {
			m = &reapMember{last: now}
			if gm.InstanceID != nil {
				m.timeout = g.byInstance[*gm.InstanceID]
			}
			g.members[gm.MemberID] = m
		}
		switch {
		case gi.State == "PreparingRebalance" && m.lastKind == kmsg.JoinGroup && m.joinGen == gi.Epoch:
			waiting = append(waiting, gm)
			continue
		case gi.State == "CompletingRebalance" && (m.lastKind == kmsg.JoinGroup || m.lastKind == kmsg.SyncGroup):
			continue // kfake's sync timeout (the rebalance timeout) judges these
		}
		timeout := m.timeout
		if timeout <= 0 {
			timeout = defaultSessionTimeout
		}
		since := m.last
		if g.stableAt.After(since) {
			since = g.stableAt
		}
		if now.Sub(since) >= timeout {
			dead = append(dead, gm)
		}
	}
	return dead, waiting
}

// run checks the tracked groups every reapInterval until ctx is done,
// removing expired members. It owns its client.
func (r *sessionReaper) run(ctx context.Context) {
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	tick := time.NewTicker(reapInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.mu.Lock()
		names := make([]string, 0, len(r.groups))
		for name := range r.groups {
			names = append(names, name)
		}
		r.mu.Unlock()
		for _, name := range names {
			gi := r.info(name)
			dead, waiting := r.judge(name, gi, time.Now())
			if len(dead) == 0 && len(waiting) == 0 {
				continue
			}
			if cl == nil {
				var err error
				if cl, err = kgo.NewClient(kgo.SeedBrokers(r.addr), kgo.ClientID("kdeck-session-reaper"), kgo.DialTimeout(time.Second)); err != nil {
					r.log.Warn("session reaper client", "err", err)
					continue
				}
			}
			if len(dead) > 0 {
				r.remove(ctx, cl, name, dead)
			}
			for _, m := range waiting {
				r.keepAlive(ctx, cl, name, gi.Epoch, m)
			}
		}
	}
}

// keepAlive heartbeats for member m of group, which waits in JoinGroup at
// generation gen: kfake would otherwise expire it while it waits.
func (r *sessionReaper) keepAlive(ctx context.Context, cl *kgo.Client, group string, gen int32, m kfake.GroupMember) {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, m.MemberID, gen, m.InstanceID
	k := group + "/" + m.MemberID
	r.mu.Lock()
	r.ours[k]++
	r.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := req.RequestWith(rctx, cl); err != nil {
		r.mu.Lock()
		if r.ours[k] > 0 { // never reached kfake
			r.ours[k]--
		}
		r.mu.Unlock()
	}
}

// remove sends one LeaveGroup for the dead members of group.
func (r *sessionReaper) remove(ctx context.Context, cl *kgo.Client, group string, dead []kfake.GroupMember) {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	var ids []string
	for _, d := range dead {
		ids = append(ids, d.MemberID)
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = d.MemberID
		m.Reason = kmsg.StringPtr("session timeout expired (kdeck's embedded cluster)")
		req.Members = append(req.Members, m)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, cl)
	if err != nil {
		r.log.Warn("expiring dead group members", "group", group, "members", ids, "err", err)
		return
	}
	r.log.Info("expired group members whose session timed out", "group", group, "members", ids, "error_code", resp.ErrorCode)
	r.mu.Lock()
	defer r.mu.Unlock()
	if g := r.group(group, false); g != nil {
		for _, id := range ids {
			delete(g.members, id)
		}
	}
}
