// Package tuitest provides Fake, an ops.Service with fixed, deterministic
// data for the TUI's model and golden-file tests: two clusters (one down),
// three topics, three groups (one stopped and lagging), records with JSON
// values and headers, two jobs and two audit entries. Resets and undos are
// planned from the fake offsets and recorded, so tests can assert what the
// TUI asked for.
//
//	f := tuitest.New()
//	m := tui.New(f, tui.WithClock(tuitest.Clock))
package tuitest

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kdeck/kdeck/ops"
)

// Now is the fake's fixed time.
var Now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Clock returns Now.
func Clock() time.Time { return Now }

// Fake is a deterministic ops.Service. Its fields may be changed by a test
// before use; methods are safe for concurrent use.
type Fake struct {
	mu sync.Mutex

	InfoValue   ops.Info
	ClusterList []ops.ClusterInfo
	Topics      []ops.TopicSummary
	Groups      []ops.GroupDetail
	RecordList  []ops.Record
	JobList     []ops.JobStatus
	AuditList   []ops.AuditEntry
	WorkerList  ops.WorkersReport

	// Calls records the mutating calls made ("PlanReset demo-billing to-earliest").
	Calls []string
	// Executed holds the plans ExecutePlan applied.
	Executed []*ops.Plan
	// Err, when set, is returned by every call that reads (to test the
	// status line).
	Err error
}

var _ ops.Service = (*Fake)(nil)

// New returns a Fake with the standard data set.
func New() *Fake {
	f := &Fake{
		InfoValue: ops.Info{Clusters: []string{"local", "prod"}, DefaultCluster: "local", Embedded: true, Bootstrap: "127.0.0.1:9092", DataDir: "/tmp/kdeck"},
		ClusterList: []ops.ClusterInfo{
			{Name: "local", Bootstrap: []string{"127.0.0.1:9092"}, Reachable: true, ClusterID: "kdeck-local", Controller: 0,
				Brokers: []ops.Broker{{ID: 0, Host: "127.0.0.1", Port: 9092}}, Topics: 3, Groups: 3},
			{Name: "prod", Bootstrap: []string{"kafka-1.prod:9092"}, Reachable: false, Controller: -1,
				Error: "cluster \"prod\" (kafka-1.prod:9092) is unreachable: dial tcp: i/o timeout"},
		},
		Topics: []ops.TopicSummary{
			{Name: "demo.orders", Partitions: 6, ReplicationFactor: 1, Records: 12000},
			{Name: "demo.clicks", Partitions: 3, ReplicationFactor: 1, Records: 540},
			{Name: "payments", Partitions: 12, ReplicationFactor: 3, Records: 1234567},
		},
	}
	billing := ops.GroupDetail{GroupSummary: ops.GroupSummary{Group: "demo-billing", State: "Empty", Protocol: "classic", Members: 0,
		Topics: []string{"demo.orders"}, Lag: 3400, TimeLagEstimate: 185, Status: "STOP"}, Coordinator: 0}
	reader := ops.GroupDetail{GroupSummary: ops.GroupSummary{Group: "demo-orders-reader", State: "Stable", Protocol: "classic", Members: 1,
		Topics: []string{"demo.orders"}, Lag: 250, TimeLagEstimate: 4.5, Status: "OK"}, Coordinator: 0,
		MemberList: []ops.GroupMember{{MemberID: "kdeck-demo-7f3a", ClientID: "kdeck-demo", Host: "/127.0.0.1",
			Assigned: []ops.TopicScope{{Topic: "demo.orders", Partitions: []int32{0, 1, 2, 3, 4, 5}}}}}}
	analytics := ops.GroupDetail{GroupSummary: ops.GroupSummary{Group: "analytics", State: "Stable", Protocol: "consumer", Members: 2,
		Topics: []string{"demo.clicks"}, Lag: 0, TimeLagEstimate: 0, Status: "OK"}, Coordinator: 0,
		MemberList: []ops.GroupMember{
			{MemberID: "m-1", ClientID: "analytics-1", Host: "/10.0.0.5", Assigned: []ops.TopicScope{{Topic: "demo.clicks", Partitions: []int32{0, 1}}}},
			{MemberID: "m-2", ClientID: "analytics-2", Host: "/10.0.0.6", Assigned: []ops.TopicScope{{Topic: "demo.clicks", Partitions: []int32{2}}}},
		}}
	for p := int32(0); p < 6; p++ {
		end := int64(2000)
		billing.Offsets = append(billing.Offsets, ops.PartitionOffset{Topic: "demo.orders", Partition: p, Committed: end - 500 - int64(p)*20,
			LogStartOffset: 0, LogEndOffset: end, Lag: 500 + int64(p)*20, TimeLag: 180 + float64(p), Status: "STOP"})
		reader.Offsets = append(reader.Offsets, ops.PartitionOffset{Topic: "demo.orders", Partition: p, Committed: end - 40 - int64(p),
			LogStartOffset: 0, LogEndOffset: end, Lag: 40 + int64(p), TimeLag: 4, MemberID: "kdeck-demo-7f3a", ClientID: "kdeck-demo", Host: "/127.0.0.1", Status: "OK"})
	}
	for p := int32(0); p < 3; p++ {
		analytics.Offsets = append(analytics.Offsets, ops.PartitionOffset{Topic: "demo.clicks", Partition: p, Committed: 180, LogEndOffset: 180, Status: "OK"})
	}
	for i := range 20 {
		billing.LagHistory = append(billing.LagHistory, ops.LagSample{Time: Now.Add(time.Duration(i-20) * 10 * time.Second), Lag: 1400 + int64(i)*100})
		reader.LagHistory = append(reader.LagHistory, ops.LagSample{Time: Now.Add(time.Duration(i-20) * 10 * time.Second), Lag: int64(100 + (i%5)*60)})
	}
	f.Groups = []ops.GroupDetail{billing, reader, analytics}
	for i := range 5 {
		f.RecordList = append(f.RecordList, ops.Record{Topic: "demo.orders", Partition: int32(i % 3), Offset: int64(1990 + i),
			Timestamp: Now.Add(time.Duration(i-5) * time.Second),
			Key:       fmt.Appendf(nil, "customer-%02d", i),
			Value:     fmt.Appendf(nil, `{"id":%d,"customer":"customer-%02d","amount":%d.50,"currency":"EUR"}`, 1000+i, i, 10+i),
			Headers:   []ops.Header{{Key: "source", Value: []byte("demo")}}})
	}
	f.RecordList = append(f.RecordList, ops.Record{Topic: "demo.orders", Partition: 2, Offset: 1995, Timestamp: Now, Key: nil, Value: []byte("plain text, not JSON")})
	errAt := Now.Add(-3 * time.Minute)
	f.JobList = []ops.JobStatus{
		{Name: "orders-datagen", Kind: ops.KindConnector, Class: "datagen", Cluster: "local", State: ops.StateRunning,
			Tasks:   []ops.TaskStatus{{ID: 0, State: ops.StateRunning, Worker: "local"}, {ID: 1, State: ops.StateRunning, Worker: "local"}},
			Metrics: ops.JobMetrics{RecordsOutPerSec: 50, RecordsOut: 90000}},
		{Name: "orders-by-customer", Kind: ops.KindStream, Cluster: "local", State: ops.StateFailed,
			Tasks:     []ops.TaskStatus{{ID: 0, State: ops.StateRunning}, {ID: 1, State: ops.StateFailed, Trace: FailedTaskTrace}},
			Metrics:   ops.JobMetrics{RecordsInPerSec: 48, RecordsOutPerSec: 12, Lag: 730, Errors: 3},
			LastError: "task 1: " + FailedTaskTrace, LastErrorAt: &errAt},
	}
	f.AuditList = []ops.AuditEntry{
		{ID: "20261125-114500-a1b2c3", Time: Now.Add(-15 * time.Minute), User: "alice", Host: "ops-1", Command: "kdeck offsets reset demo-orders-reader --to-latest",
			Action: "offsets.reset", Cluster: "local", Group: "demo-orders-reader", Outcome: "ok",
			Before: []ops.OffsetValue{{Topic: "demo.orders", Partition: 0, Offset: 100, LeaderEpoch: -1}},
			After:  []ops.OffsetValue{{Topic: "demo.orders", Partition: 0, Offset: 2000, LeaderEpoch: -1}}},
		{ID: "20261125-110000-d4e5f6", Time: Now.Add(-time.Hour), User: "bob", Host: "ops-2", Command: "kdeck topics create payments",
			Action: "topics.create", Cluster: "local", Topic: "payments", Outcome: "ok"},
	}
	return f
}

func (f *Fake) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Err
}

// Info implements ops.Service.
func (f *Fake) Info() ops.Info { return f.InfoValue }

// Clusters implements ops.Service.
func (f *Fake) Clusters(ctx context.Context) ([]ops.ClusterInfo, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return append([]ops.ClusterInfo(nil), f.ClusterList...), nil
}

// Cluster implements ops.Service.
func (f *Fake) Cluster(ctx context.Context, cluster string) (ops.ClusterInfo, error) {
	for _, c := range f.ClusterList {
		if c.Name == cluster || (cluster == "" && c.Name == f.InfoValue.DefaultCluster) {
			return c, nil
		}
	}
	return ops.ClusterInfo{}, fmt.Errorf("cluster %q: %w", cluster, ops.ErrNotFound)
}

// ListTopics implements ops.Service.
func (f *Fake) ListTopics(ctx context.Context, cluster string, opts ops.ListTopicsOptions) ([]ops.TopicSummary, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	out := append([]ops.TopicSummary(nil), f.Topics...)
	if opts.Internal {
		out = append(out, ops.TopicSummary{Name: "__consumer_offsets", Partitions: 50, ReplicationFactor: 1, Internal: true})
	}
	return out, nil
}

// DescribeTopic implements ops.Service.
func (f *Fake) DescribeTopic(ctx context.Context, cluster, topic string) (ops.TopicDetail, error) {
	if err := f.fail(); err != nil {
		return ops.TopicDetail{}, err
	}
	for _, t := range f.Topics {
		if t.Name != topic {
			continue
		}
		d := ops.TopicDetail{Name: t.Name, ID: "AAAAAAAAAAAAAAAAAAAAAA", ReplicationFactor: t.ReplicationFactor, Records: t.Records,
			Configs: []ops.ConfigEntry{
				{Name: "cleanup.policy", Value: "delete", Source: "DEFAULT_CONFIG"},
				{Name: "retention.ms", Value: "604800000", Source: "DEFAULT_CONFIG"},
				{Name: "min.insync.replicas", Value: "1", Source: "DYNAMIC_TOPIC_CONFIG"},
			}}
		for p := range int32(t.Partitions) {
			d.Partitions = append(d.Partitions, ops.PartitionDetail{Partition: p, Leader: p % 3, Replicas: []int32{p % 3}, ISR: []int32{p % 3},
				LogStartOffset: 0, LogEndOffset: t.Records / int64(t.Partitions)})
		}
		return d, nil
	}
	return ops.TopicDetail{}, fmt.Errorf("topic %q: %w", topic, ops.ErrTopicNotFound)
}

// CreateTopic implements ops.Service.
func (f *Fake) CreateTopic(ctx context.Context, cluster string, req ops.CreateTopicRequest) error {
	return ops.ErrNotImplemented
}

// DeleteTopic implements ops.Service.
func (f *Fake) DeleteTopic(ctx context.Context, cluster, topic string) error {
	return ops.ErrNotImplemented
}

// ListGroups implements ops.Service.
func (f *Fake) ListGroups(ctx context.Context, cluster string) ([]ops.GroupSummary, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ops.GroupSummary, len(f.Groups))
	for i, g := range f.Groups {
		out[i] = g.GroupSummary
	}
	return out, nil
}

// DescribeGroup implements ops.Service.
func (f *Fake) DescribeGroup(ctx context.Context, cluster, group string) (ops.GroupDetail, error) {
	if err := f.fail(); err != nil {
		return ops.GroupDetail{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.Groups {
		if g.Group == group {
			return g, nil
		}
	}
	return ops.GroupDetail{}, fmt.Errorf("group %q: %w", group, ops.ErrGroupNotFound)
}

// ReadRecords implements ops.Service: it delivers RecordList (ignoring
// From and Follow) and returns.
func (f *Fake) ReadRecords(ctx context.Context, cluster string, req ops.ReadRequest, fn func(ops.Record) error) error {
	if err := f.fail(); err != nil {
		return err
	}
	for _, r := range f.RecordList {
		if r.Topic != req.Topic {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Produce implements ops.Service.
func (f *Fake) Produce(ctx context.Context, cluster, topic string, records iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
	return ops.ProduceResult{}, ops.ErrNotImplemented
}

// PlanReset implements ops.Service for to-earliest, to-latest, shift-by
// and to-offset, from the fake group offsets.
func (f *Fake) PlanReset(ctx context.Context, req ops.ResetRequest) (*ops.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, fmt.Sprintf("PlanReset %s %s", req.Group, req.Mode))
	var g *ops.GroupDetail
	for i := range f.Groups {
		if f.Groups[i].Group == req.Group {
			g = &f.Groups[i]
		}
	}
	if g == nil {
		return nil, fmt.Errorf("group %q: %w", req.Group, ops.ErrGroupNotFound)
	}
	p := &ops.Plan{Kind: ops.PlanReset, Cluster: "local", Group: req.Group, Mode: req.Mode, Created: Now, Command: req.Command}
	if req.TargetGroup != "" {
		p.Group, p.SourceGroup = req.TargetGroup, req.Group
	}
	if req.Mode == ops.ResetToDatetime {
		at := req.Time
		p.Instant = &at
	}
	for _, o := range g.Offsets {
		if !inScope(req, o.Topic, o.Partition) {
			continue
		}
		r := ops.PlanRow{Topic: o.Topic, Partition: o.Partition, Current: o.Committed, LogStartOffset: o.LogStartOffset, LogEndOffset: o.LogEndOffset}
		switch req.Mode {
		case ops.ResetToEarliest:
			r.New = o.LogStartOffset
		case ops.ResetToLatest:
			r.New = o.LogEndOffset
		case ops.ResetShiftBy:
			r.New = min(max(o.Committed+req.Offset, o.LogStartOffset), o.LogEndOffset)
		case ops.ResetToOffset:
			r.New = min(max(req.Offset, o.LogStartOffset), o.LogEndOffset)
		default:
			r.New = o.Committed
		}
		addRow(p, r)
	}
	return p, nil
}

// addRow fills a row's delta, reread and skipped counts and adds it to p.
func addRow(p *ops.Plan, r ops.PlanRow) {
	r.Delta = r.New - r.Current
	if r.Delta < 0 {
		r.Reread = -r.Delta
	} else {
		r.Skipped = r.Delta
	}
	p.Rows = append(p.Rows, r)
	p.Totals.Partitions++
	if r.Delta != 0 {
		p.Totals.Changed++
	}
	p.Totals.Reread += r.Reread
	p.Totals.Skipped += r.Skipped
}

func inScope(req ops.ResetRequest, topic string, p int32) bool {
	if req.AllTopics || len(req.Scope) == 0 {
		return true
	}
	for _, s := range req.Scope {
		if s.Topic != topic {
			continue
		}
		if len(s.Partitions) == 0 {
			return true
		}
		for _, x := range s.Partitions {
			if x == p {
				return true
			}
		}
	}
	return false
}

// ExecutePlan implements ops.Service: it refuses a plan for a group with
// members (ActiveGroupError) and otherwise records it and an audit entry.
func (f *Fake) ExecutePlan(ctx context.Context, plan *ops.Plan) (ops.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "ExecutePlan "+plan.Group)
	for _, g := range f.Groups {
		if g.Group == plan.Group && g.Members > 0 {
			return ops.AuditEntry{}, &ops.ActiveGroupError{Cluster: plan.Cluster, Group: g.Group, Members: g.MemberList}
		}
	}
	f.Executed = append(f.Executed, plan)
	action := "offsets.reset"
	if plan.Kind == ops.PlanUndo {
		action = "offsets.undo"
	}
	e := ops.AuditEntry{ID: fmt.Sprintf("20261125-120000-%06d", len(f.AuditList)), Time: Now, User: "tester", Host: "test",
		Command: plan.Command, Action: action, Cluster: plan.Cluster, Group: plan.Group, Outcome: "ok", UndoOf: plan.UndoOf}
	for _, r := range plan.Rows {
		e.Before = append(e.Before, ops.OffsetValue{Topic: r.Topic, Partition: r.Partition, Offset: r.Current, LeaderEpoch: -1})
		e.After = append(e.After, ops.OffsetValue{Topic: r.Topic, Partition: r.Partition, Offset: r.New, LeaderEpoch: -1})
	}
	f.AuditList = append([]ops.AuditEntry{e}, f.AuditList...)
	return e, nil
}

// PlanDeleteOffsets implements ops.Service.
func (f *Fake) PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []ops.TopicScope) (*ops.Plan, error) {
	return nil, ops.ErrNotImplemented
}

// PlanUndo implements ops.Service: the plan restores the entry's Before.
func (f *Fake) PlanUndo(ctx context.Context, auditID string) (*ops.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "PlanUndo "+auditID)
	for _, e := range f.AuditList {
		if e.ID != auditID {
			continue
		}
		if len(e.Before) == 0 {
			return nil, fmt.Errorf("audit entry %s (%s) changed no offsets, so there is nothing to undo: %w", e.ID, e.Action, ops.ErrInvalid)
		}
		p := &ops.Plan{Kind: ops.PlanUndo, Cluster: e.Cluster, Group: e.Group, UndoOf: e.ID, Created: Now}
		for i, b := range e.Before {
			cur := b.Offset
			if i < len(e.After) {
				cur = e.After[i].Offset
			}
			addRow(p, ops.PlanRow{Topic: b.Topic, Partition: b.Partition, Current: cur, New: b.Offset, LogEndOffset: 2000})
		}
		return p, nil
	}
	return nil, fmt.Errorf("audit entry %q: %w", auditID, ops.ErrNotFound)
}

// Audit implements ops.Service.
func (f *Fake) Audit(ctx context.Context, filter ops.AuditFilter) ([]ops.AuditEntry, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ops.AuditEntry
	for _, e := range f.AuditList {
		if filter.Group != "" && e.Group != filter.Group {
			continue
		}
		out = append(out, e)
		if filter.Limit > 0 && len(out) == filter.Limit {
			break
		}
	}
	return out, nil
}

// AuditEntry implements ops.Service.
func (f *Fake) AuditEntry(ctx context.Context, id string) (ops.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.AuditList {
		if e.ID == id {
			return e, nil
		}
	}
	return ops.AuditEntry{}, fmt.Errorf("audit entry %q: %w", id, ops.ErrNotFound)
}

// Health implements ops.Service.
func (f *Fake) Health(ctx context.Context) (ops.HealthReport, error) {
	return ops.HealthReport{OK: false, Problems: []string{"cluster prod is unreachable", "group demo-billing: STOP (lag 3,400)"}}, nil
}

// Workers implements ops.Service.
func (f *Fake) Workers(ctx context.Context) (ops.WorkersReport, error) {
	if err := f.fail(); err != nil {
		return ops.WorkersReport{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.WorkerList, nil
}

// Jobs implements ops.Service.
func (f *Fake) Jobs(ctx context.Context) ([]ops.JobStatus, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]ops.JobStatus{}, f.JobList...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Job implements ops.Service.
func (f *Fake) Job(ctx context.Context, name string) (ops.JobStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.JobList {
		if j.Name == name {
			return j, nil
		}
	}
	return ops.JobStatus{}, fmt.Errorf("job %q: %w", name, ops.ErrNotFound)
}

// JobAction implements ops.Service: it records the call and sets the
// job's state (pause: PAUSED, resume/restart: RUNNING, stop: STOPPED).
func (f *Fake) JobAction(ctx context.Context, name string, action ops.JobAction, opts ops.JobActionOptions) (ops.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, fmt.Sprintf("JobAction %s %s", name, action))
	for i, j := range f.JobList {
		if j.Name != name {
			continue
		}
		switch action {
		case ops.ActionPause:
			f.JobList[i].State = ops.StatePaused
		case ops.ActionResume, ops.ActionRestart, ops.ActionStart:
			f.JobList[i].State = ops.StateRunning
		case ops.ActionStop:
			f.JobList[i].State = ops.StateStopped
		}
		return ops.AuditEntry{ID: "20261125-120000-job" + strings.ToLower(string(action)), Action: "jobs." + string(action), Job: name, Outcome: "ok"}, nil
	}
	return ops.AuditEntry{}, fmt.Errorf("job %q: %w", name, ops.ErrNotFound)
}

// Close implements ops.Service.
func (f *Fake) Close() error { return nil }

// CallLog returns a copy of Calls.
func (f *Fake) CallLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Calls...)
}

// JobOffsets implements ops.Service: the fake's jobs have no offsets.
func (f *Fake) JobOffsets(ctx context.Context, name string) ([]ops.JobOffset, error) {
	return []ops.JobOffset{}, nil
}

// AlterJobOffsets implements ops.Service; it records the call.
func (f *Fake) AlterJobOffsets(ctx context.Context, name string, req ops.AlterOffsetsRequest) (ops.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, "AlterJobOffsets "+name)
	return ops.AuditEntry{ID: "fake-alter", Action: "jobs.offsets", Job: name, Outcome: "ok"}, nil
}

// ConnectorPlugins implements ops.Service.
func (f *Fake) ConnectorPlugins(ctx context.Context) ([]ops.ConnectorPlugin, error) {
	return []ops.ConnectorPlugin{}, nil
}

// ValidateConnector implements ops.Service: every table is valid.
func (f *Fake) ValidateConnector(ctx context.Context, table map[string]any) ([]ops.FieldProblem, error) {
	return nil, nil
}

// QueryStream implements ops.Service: the fake hosts no stream stores.
func (f *Fake) QueryStream(ctx context.Context, q ops.StreamQuery) (ops.StreamQueryResult, error) {
	return ops.StreamQueryResult{}, fmt.Errorf("stream stores: %w", ops.ErrNotImplemented)
}

// PlanStreamReset implements ops.Service: the fake plans no stream resets.
func (f *Fake) PlanStreamReset(ctx context.Context, req ops.StreamResetRequest) (*ops.StreamResetPlan, error) {
	return nil, fmt.Errorf("stream reset: %w", ops.ErrNotImplemented)
}

// ExecuteStreamReset implements ops.Service: the fake executes no stream resets.
func (f *Fake) ExecuteStreamReset(ctx context.Context, plan *ops.StreamResetPlan) (ops.AuditEntry, error) {
	return ops.AuditEntry{}, fmt.Errorf("stream reset: %w", ops.ErrNotImplemented)
}

// PlanMirrorFailover implements ops.Service: the fake has no mirror flows.
func (f *Fake) PlanMirrorFailover(ctx context.Context, flow, group string) (*ops.Plan, error) {
	return nil, fmt.Errorf("mirror failover: %w", ops.ErrNotImplemented)
}

// JobConfig implements ops.Service: the fake's jobs have no tables.
func (f *Fake) JobConfig(ctx context.Context, name string) (ops.JobConfig, error) {
	return ops.JobConfig{}, fmt.Errorf("job %q: %w", name, ops.ErrNotFound)
}

// PutJob implements ops.Service: the fake creates no jobs.
func (f *Fake) PutJob(ctx context.Context, req ops.PutJobRequest) (ops.JobConfig, bool, error) {
	return ops.JobConfig{}, false, fmt.Errorf("creating jobs: %w", ops.ErrNotImplemented)
}

// DeleteJob implements ops.Service: the fake deletes no jobs.
func (f *Fake) DeleteJob(ctx context.Context, name, command string) (ops.AuditEntry, error) {
	return ops.AuditEntry{}, fmt.Errorf("deleting jobs: %w", ops.ErrNotImplemented)
}

// FailedTaskTrace is the error of the fake's failed stream task: long, as
// real ones are, so screens must wrap or cut it at words.
const FailedTaskTrace = "starting task 1: restoring store demo-counts from changelog orders-by-customer-demo-counts-changelog: write /var/lib/kdeck/streams/orders-by-customer/demo-counts/1/000123.sst: no space left on device"
