// Package workergroup divides a worker group's work — connector tasks and
// mirror flows — among the kdeck workers of the group through a Kafka
// consumer group, as Kafka Connect's distributed herder does: no coordinator
// of kdeck's own. Each worker joins the group _kdeck-worker-GROUP with
// kdeck's own protocol type "kdeck-worker" (a franz-go kgo.GroupBalancer,
// protocol "kdeck-worker-v1"), as Connect's workers join theirs with
// protocol type "connect"; its member metadata carries the worker id, the
// jobs it can run with a hash of each job's configuration, and the tasks it
// runs now.
// The group's leader assigns every task to exactly one worker.
//
// Assignment is sticky, balanced and incremental: a task stays with the
// worker that runs it unless that worker holds more than its share; a task
// that must move is first revoked (assigned to nobody), and given to its new
// worker only in the next rebalance, which the old worker triggers once it
// has stopped the task and saved its offsets. So a task never runs on two
// workers, and a join or leave moves only what must move. A worker that
// dies is removed by the group after the session timeout and its tasks go
// to the survivors at once; a worker that was only cut off stops its tasks
// when it learns its session was lost (kgo.HookGroupManageError) and gets a
// share again when it rejoins. A worker whose job configuration differs from
// the group's (same name, another hash; the majority's hash wins) is told
// so in its assignment and runs none of that job's tasks.
//
// Members are static (group.instance.id is the worker id), so a worker
// restarted in place takes its own tasks back without waiting for its dead
// incarnation's session to expire; a graceful stop stops the work, then
// leaves the group explicitly so the others take over without any timeout.
//
//	m, err := workergroup.New(workergroup.Config{
//		Group: "etl", WorkerID: "host-1a2b", ClientOpts: opts,
//		Jobs:  []workergroup.Job{{Name: "files", Hash: h, Tasks: 4}},
//		Apply: func(ctx context.Context, a workergroup.Assignment) { ... },
//	})
//	err = m.Run(ctx) // blocks until ctx ends
//
// Goroutines: Run owns the franz-go client and calls Apply from its own
// goroutine, one assignment at a time; nothing runs after Run returns.
package workergroup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Protocol is the group protocol name of kdeck workers.
const Protocol = "kdeck-worker-v1"

// ProtocolType is the group's protocol type, as "connect" is Kafka Connect
// workers'. It must not be "consumer": for a group of that type the broker
// parses every member's metadata as a consumer subscription when a join
// completes, and Apache Kafka 3.9 and 4.3 (whose parser throws a plain
// RuntimeException on other bytes, caught only as a SchemaException from
// 4.4 on) then never complete the join: the group stays in
// PreparingRebalance, every JoinGroup waits out the rebalance timeout, and
// on 3.9 the group can no longer be deleted.
const ProtocolType = "kdeck-worker"

// DefaultSessionTimeout is the session timeout when Config sets none.
const DefaultSessionTimeout = 10 * time.Second

// GroupID returns the consumer group id of worker group name.
func GroupID(name string) string { return "_kdeck-worker-" + name }

// StatusTopic returns the topic a worker group's members subscribe to (the
// classic group protocol starts only with a topic interest); it is the
// group's status topic, compacted, with one partition.
func StatusTopic(name string) string { return "_kdeck-" + name + "-status" }

// Job is one job a worker can run in the group.
type Job struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Hash identifies the job's configuration; workers agree on a job only
	// when their hashes are equal.
	Hash string `json:"hash"`
	// Tasks is the number of tasks the job splits into (1 for a mirror flow).
	Tasks int `json:"tasks"`
}

// Assignment is this worker's share of the group's work.
type Assignment struct {
	// Generation is the group generation it was assigned in.
	Generation int32 `json:"generation"`
	// Tasks maps a job name to the task ids this worker runs, sorted. A job
	// absent from the map runs no task here.
	Tasks map[string][]int `json:"tasks"`
	// Conflicts maps a job name to a sentence saying why this worker must
	// not run it (its configuration differs from the group's).
	Conflicts map[string]string `json:"conflicts,omitempty"`
	// Workers is the number of workers in the group.
	Workers int `json:"workers"`
}

// Config configures a Member.
type Config struct {
	// Group is the worker group name. Required.
	Group string
	// WorkerID is this worker's stable id, its static member id. Required.
	WorkerID string
	// StatusTopic is the topic the members subscribe to (the classic group
	// protocol starts only with a topic interest); default
	// StatusTopic(Group).
	StatusTopic string
	// SessionTimeout is how long the group waits for a silent worker;
	// default DefaultSessionTimeout.
	SessionTimeout time.Duration
	// ClientOpts reach the cluster (seed brokers, TLS, SASL). Required.
	ClientOpts []kgo.Opt
	// Logger; default discards.
	Logger *slog.Logger
	// Jobs are the jobs this worker can run in the group.
	Jobs []Job
	// Apply makes the worker run exactly the assignment's tasks: it must
	// stop the tasks no longer assigned (saving their offsets) before it
	// returns, and start the newly assigned ones. It is called from Run's
	// goroutine, never concurrently, and last with an empty assignment when
	// Run stops.
	Apply func(ctx context.Context, a Assignment)
}

// Member is one worker's membership in its worker group.
type Member struct {
	cfg Config
	log *slog.Logger

	assigned chan Assignment // latest assignment from the group, capacity 1

	mu         sync.Mutex
	owned      map[string][]int // tasks running or being stopped here
	cl         *kgo.Client      // the group client while Run runs; SetJobs rebalances through it
	pending    map[string][]int // tasks of the latest assignment received and not yet applied
	pendingGen int32
}

// New validates cfg and returns a Member; it starts nothing.
func New(cfg Config) (*Member, error) {
	switch {
	case cfg.Group == "":
		return nil, errors.New("workergroup: a group name is required")
	case cfg.WorkerID == "":
		return nil, errors.New("workergroup: a worker id is required")
	case len(cfg.ClientOpts) == 0:
		return nil, errors.New("workergroup: client options (seed brokers) are required")
	case cfg.Apply == nil:
		return nil, errors.New("workergroup: Apply is required")
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Member{cfg: cfg, log: log.With("worker_group", cfg.Group, "worker", cfg.WorkerID),
		assigned: make(chan Assignment, 1), owned: map[string][]int{}}, nil
}

// Run joins the group and applies its assignments until ctx ends; then it
// stops every task (Apply with an empty assignment), closes its client and
// leaves the group so the others take the work over at once. It returns
// nil after a stop, or the error that kept it from joining.
func (m *Member) Run(ctx context.Context) error {
	topic := m.cfg.StatusTopic
	if topic == "" {
		topic = StatusTopic(m.cfg.Group)
	}
	if err := m.ensureTopic(ctx, topic); err != nil {
		return err
	}
	opts := append(append([]kgo.Opt(nil), m.cfg.ClientOpts...),
		kgo.ConsumerGroup(GroupID(m.cfg.Group)),
		kgo.GroupProtocol(ProtocolType),
		kgo.ConsumeTopics(topic),
		kgo.InstanceID(m.cfg.WorkerID),
		kgo.SessionTimeout(m.cfg.SessionTimeout),
		// Frequent heartbeats: a member learns of a rebalance (a worker
		// joined or left) on its next heartbeat.
		kgo.HeartbeatInterval(max(min(m.cfg.SessionTimeout/10, 300*time.Millisecond), 100*time.Millisecond)),
		kgo.Balancers(&balancer{m: m}),
		kgo.WithHooks(lostHook{m}),
		kgo.DisableAutoCommit(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("worker group %s: %w", m.cfg.Group, err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	pollDone := m.poll(pctx, cl)
	m.mu.Lock()
	m.cl = cl
	njobs := len(m.cfg.Jobs)
	m.mu.Unlock()
	m.log.Info("joining worker group", "group_id", GroupID(m.cfg.Group), "jobs", njobs)
	for {
		select {
		case a := <-m.assigned:
			m.apply(ctx, a, cl)
			continue
		case <-ctx.Done():
		}
		break
	}
	// Stop the work first, then leave: the next owner of a task starts only
	// after this worker saved its offsets.
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*m.cfg.SessionTimeout)
	defer cancel()
	m.apply(stopCtx, Assignment{Tasks: map[string][]int{}}, nil)
	pcancel()
	<-pollDone
	m.mu.Lock()
	m.cl = nil
	m.mu.Unlock()
	cl.Close() // a static member does not leave on Close
	m.leave(stopCtx)
	return nil
}

// poll keeps franz-go's consumer state moving until ctx ends and logs the
// group errors it surfaces; the returned channel closes when it stopped.
// The client only needs to live for the group: polling is not needed for a
// group whose assignment holds no partitions, but PollFetches returns at
// once with no partitions and ctx ends it.
func (m *Member) poll(ctx context.Context, cl *kgo.Client) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var last string
		for ctx.Err() == nil {
			// Group errors (a join refused) surface here as fetch errors.
			for _, fe := range cl.PollFetches(ctx).Errors() {
				if ctx.Err() != nil || fe.Err.Error() == last {
					continue
				}
				last = fe.Err.Error()
				if errors.Is(fe.Err, kerr.InvalidSessionTimeout) {
					m.log.Error("the cluster refuses this worker's session timeout: set [worker] session_timeout within the brokers' group.min.session.timeout.ms and group.max.session.timeout.ms (6s to 30m by default)", "session_timeout", m.cfg.SessionTimeout)
					continue
				}
				m.log.Error("worker group membership", "err", fe.Err)
			}
		}
	}()
	return done
}

// leave takes this static member out of the group at once (Close does not
// for a static member), so the others take over without waiting for the
// session timeout.
func (m *Member) leave(ctx context.Context) {
	adm, err := kgo.NewClient(m.cfg.ClientOpts...)
	if err == nil {
		defer adm.Close()
		_, err = kadm.NewClient(adm).LeaveGroup(ctx, kadm.LeaveGroup(GroupID(m.cfg.Group)).InstanceIDs(m.cfg.WorkerID).Reason("kdeck worker stopping"))
	}
	if err != nil {
		m.log.Warn("could not leave the worker group; the others take over after the session timeout", "err", err, "session_timeout", m.cfg.SessionTimeout)
	} else {
		m.log.Info("left the worker group")
	}
}

// apply runs one assignment. While it stops revoked tasks they stay in the
// owned set the member announces, so no one else is given them; when it
// revoked something it asks the group to rebalance, so the revoked tasks
// go to their new owners. cl is nil for the final stop.
func (m *Member) apply(ctx context.Context, a Assignment, cl *kgo.Client) {
	m.mu.Lock()
	old := m.owned
	m.owned = union(old, a.Tasks)
	if m.pending != nil && m.pendingGen == a.Generation {
		m.pending = nil
	}
	m.mu.Unlock()

	for j, c := range a.Conflicts {
		m.log.Error("NOT running job: its configuration here differs from the worker group's", "job", j, "reason", c)
	}
	m.cfg.Apply(ctx, a)

	revoked := false
	for j, ts := range old {
		for _, t := range ts {
			if !slices.Contains(a.Tasks[j], t) {
				revoked = true
			}
		}
	}
	m.mu.Lock()
	m.owned = map[string][]int{}
	for j, ts := range a.Tasks {
		m.owned[j] = append([]int(nil), ts...)
	}
	m.mu.Unlock()
	m.log.Info("worker group assignment applied", "generation", a.Generation, "tasks", a.Tasks, "workers", a.Workers)
	if revoked && cl != nil {
		cl.ForceRebalance() // our metadata changed: let the group give the revoked tasks away
	}
}

func (m *Member) ensureTopic(ctx context.Context, topic string) error {
	if err := EnsureCompactedTopic(ctx, m.cfg.ClientOpts, topic); err != nil {
		return fmt.Errorf("worker group %s: %w", m.cfg.Group, err)
	}
	return nil
}

// lostHook stops every task when the group session is lost (a heartbeat
// refused after this worker was cut off longer than the session timeout, a
// fenced static member): the group may already have given the tasks to
// others. The member rejoins and gets its share again.
type lostHook struct{ m *Member }

// OnGroupManageError implements kgo.HookGroupManageError; it must not block.
func (h lostHook) OnGroupManageError(err error) {
	h.m.log.Warn("worker group session lost; stopping this worker's tasks until it rejoins", "err", err)
	h.m.deliver(Assignment{Generation: -1, Tasks: map[string][]int{}})
}

// memberMeta is the JoinGroup metadata of a worker.
type memberMeta struct {
	Worker string           `json:"worker"`
	Jobs   []Job            `json:"jobs"`
	Owned  map[string][]int `json:"owned"`
}

// balancer is kdeck's kgo.GroupBalancer.
type balancer struct{ m *Member }

func (b *balancer) ProtocolName() string { return Protocol }
func (b *balancer) IsCooperative() bool  { return false }

func (b *balancer) JoinGroupMetadata([]string, map[string][]int32, int32) []byte {
	b.m.mu.Lock()
	// What runs here, and what was assigned here and may start any moment:
	// the leader gives none of it to another worker.
	meta := memberMeta{Worker: b.m.cfg.WorkerID, Jobs: b.m.cfg.Jobs, Owned: union(b.m.owned, b.m.pending)}
	out, _ := json.Marshal(meta) // map keys are sorted: deterministic
	b.m.mu.Unlock()
	return out
}

// ParseSyncAssignment hands kdeck's assignment to Run and tells franz-go it
// owns no partitions (the work is not partitions).
func (b *balancer) ParseSyncAssignment(raw []byte) (map[string][]int32, error) {
	var a Assignment
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("worker group assignment: %w", err)
		}
	}
	if a.Tasks == nil {
		a.Tasks = map[string][]int{}
	}
	b.m.deliver(a)
	return map[string][]int32{}, nil
}

// deliver hands a to Run, replacing an assignment Run has not taken yet.
// It never blocks.
func (m *Member) deliver(a Assignment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending, m.pendingGen = a.Tasks, a.Generation
	select { // keep only the latest
	case <-m.assigned:
	default:
	}
	m.assigned <- a
}

func (b *balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	in := make([]MemberState, len(members))
	for i, mem := range members {
		var meta memberMeta
		if err := json.Unmarshal(mem.ProtocolMetadata, &meta); err != nil {
			return nil, nil, fmt.Errorf("worker group member %s: bad metadata: %w", mem.MemberID, err)
		}
		in[i] = MemberState{ID: mem.MemberID, Worker: meta.Worker, Jobs: meta.Jobs, Owned: meta.Owned}
	}
	return &plan{members: in}, map[string]struct{}{}, nil
}

// plan balances once for the leader.
type plan struct {
	members []MemberState
	gen     int32
	out     map[string]Assignment
}

func (p *plan) SetBalanceInfo(bi kgo.BalanceInfo) { p.gen = bi.Generation }

func (p *plan) Balance(map[string]int32) kgo.IntoSyncAssignment {
	p.out = Balance(p.members)
	return p
}

func (p *plan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	ids := make([]string, 0, len(p.out))
	for id := range p.out {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []kmsg.SyncGroupRequestGroupAssignment
	for _, id := range ids {
		a := p.out[id]
		a.Generation = p.gen
		raw, _ := json.Marshal(a)
		sa := kmsg.NewSyncGroupRequestGroupAssignment()
		sa.MemberID, sa.MemberAssignment = id, raw
		out = append(out, sa)
	}
	return out
}

// union returns the tasks of a and b, each list sorted without repeats.
func union(a, b map[string][]int) map[string][]int {
	out := map[string][]int{}
	for _, m := range []map[string][]int{a, b} {
		for j, ts := range m {
			out[j] = sortedUnique(append(out[j], ts...))
		}
	}
	return out
}

func sortedUnique(ts []int) []int {
	slices.Sort(ts)
	return slices.Compact(ts)
}
