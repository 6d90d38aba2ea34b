package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kdeck/kdeck/streams"
)

// StreamService is the part of Service about stream jobs' stores and
// resets. It is embedded in Service; the name remains for callers that only
// need these verbs.
type StreamService interface {
	// QueryStream reads a store of a stream job running in this process
	// (for a remote client: in the worker).
	QueryStream(ctx context.Context, q StreamQuery) (StreamQueryResult, error)
	// PlanStreamReset computes what resetting a stream job does, changing
	// nothing; refused (ErrGroupActive) while instances run.
	PlanStreamReset(ctx context.Context, req StreamResetRequest) (*StreamResetPlan, error)
	// ExecuteStreamReset applies a plan made by PlanStreamReset. Audited.
	ExecuteStreamReset(ctx context.Context, plan *StreamResetPlan) (AuditEntry, error)
}

// StreamQuery selects rows of a stream job's store.
type StreamQuery struct {
	Job   string `json:"job"`
	Store string `json:"store"` // "" = the job's only store, or its aggregate
	// Op is get (Key), range (From <= key < To; To "" unbounded) or top
	// (the Limit largest numeric values).
	Op    string `json:"op"`
	Key   string `json:"key,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// StreamQueryResult is the rows found and the stores the job has.
type StreamQueryResult struct {
	Job    string      `json:"job"`
	Store  string      `json:"store"`
	Stores []string    `json:"stores"`
	Rows   []StreamRow `json:"rows"`
}

// StreamRow is one row of a store.
type StreamRow struct {
	Key         string     `json:"key"`
	Value       string     `json:"value"`
	Number      *float64   `json:"number,omitempty"`
	WindowStart *time.Time `json:"window_start,omitempty"`
	WindowEnd   *time.Time `json:"window_end,omitempty"`
	Partition   int32      `json:"partition"`
}

// StreamResetRequest asks to reset a stream job as Kafka's application
// reset tool does, or (As) to replay it under a new application id.
type StreamResetRequest struct {
	Job string
	// Mode is ResetToEarliest (default), ResetToDatetime (Time) or
	// ResetByDuration (Duration).
	Mode     ResetMode
	Time     time.Time
	Duration time.Duration
	// As names a new application id: its group's offsets are set on the
	// inputs and nothing of the old id is deleted.
	As      string
	Command string
}

// StreamResetPlan is a previewed stream job reset.
type StreamResetPlan struct {
	Job     string `json:"job"`
	Cluster string `json:"cluster"`
	// Group is the application id whose offsets are reset (As when
	// replaying under a new id).
	Group string `json:"group"`
	As    string `json:"as,omitempty"`
	// Offsets resets the group's offsets on the input topics.
	Offsets *Plan `json:"offsets"`
	// RepartitionOffsets deletes the group's committed offsets on the
	// repartition topics about to be deleted (nil when it has none), so
	// that the recreated topics are read from their start.
	RepartitionOffsets *Plan `json:"repartition_offsets,omitempty"`
	// DeleteTopics are the job's internal topics (changelogs,
	// repartition topics) that exist and will be deleted.
	DeleteTopics []string `json:"delete_topics"`
	// WipeDir is the local state directory to delete ("" when absent).
	WipeDir string    `json:"wipe_dir,omitempty"`
	Created time.Time `json:"created"`
	Command string    `json:"command,omitempty"`
}

// streamTopology returns a configured stream job's spec and topology.
func (l *Local) streamTopology(name string) (*hostedJob, streams.JobSpec, *streams.Topology, error) {
	h, err := l.job(name)
	if err != nil {
		return nil, streams.JobSpec{}, nil, err
	}
	if h.kind != KindStream {
		return nil, streams.JobSpec{}, nil, invalidf("job %q is a %s, not a stream job", name, h.kind)
	}
	spec, err := parseStream(h.spec)
	if err != nil {
		return nil, spec, nil, err
	}
	top, err := spec.Build()
	if err != nil {
		return nil, spec, nil, invalidf("%v", err)
	}
	return h, spec, top, nil
}

// QueryStream implements StreamService. Stores are local: the job must run
// in this process (kdeck run, the TUI, kdeck dev), and only the partitions
// it holds are read.
func (l *Local) QueryStream(ctx context.Context, q StreamQuery) (StreamQueryResult, error) {
	h, _, top, err := l.streamTopology(q.Job)
	if err != nil {
		return StreamQueryResult{}, err
	}
	res := StreamQueryResult{Job: q.Job, Store: q.Store, Rows: []StreamRow{}}
	for _, s := range top.Stores() {
		res.Stores = append(res.Stores, s.Name)
	}
	if res.Store == "" {
		res.Store = "aggregate"
		if len(res.Stores) == 1 {
			res.Store = res.Stores[0]
		}
	}
	h.mu.Lock()
	r, _ := h.runner.(*streamJob)
	h.mu.Unlock()
	if r == nil {
		return res, refusedf("stream job %q is not running in this process: stores are read from the process that runs it (kdeck run, kdeck dev or the TUI)", q.Job)
	}
	var entries []streams.Entry
	switch q.Op {
	case "get", "":
		entries, err = r.j.Get(res.Store, []byte(q.Key))
	case "range":
		var to []byte
		if q.To != "" {
			to = []byte(q.To)
		}
		entries, err = r.j.Range(res.Store, []byte(q.From), to, q.Limit)
	case "top":
		n := q.Limit
		if n <= 0 {
			n = 10
		}
		entries, err = r.j.TopN(res.Store, n)
	default:
		return res, invalidf("query %q is unknown: use get, range or top", q.Op)
	}
	switch {
	case errors.Is(err, streams.ErrUnknownStore):
		return res, notFoundf(ErrNotFound, "stream job %q has no store %q (stores: %s)", q.Job, res.Store, strings.Join(res.Stores, ", "))
	case errors.Is(err, streams.ErrNotRunning):
		return res, refusedf("stream job %q holds no partitions yet: try again once it runs", q.Job)
	case err != nil:
		return res, err
	}
	for _, e := range entries {
		row := StreamRow{Key: string(e.Key), Value: string(e.Value), Number: e.Number, Partition: e.Partition}
		if e.Number != nil {
			row.Value = fmt.Sprint(*e.Number)
		}
		if e.Window != nil {
			s, en := e.Window.Start, e.Window.End
			row.WindowStart, row.WindowEnd = &s, &en
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// PlanStreamReset implements StreamService.
func (l *Local) PlanStreamReset(ctx context.Context, req StreamResetRequest) (*StreamResetPlan, error) {
	h, spec, top, err := l.streamTopology(req.Job)
	if err != nil {
		return nil, err
	}
	if st := l.sup().status(h).State; st == StateRunning || st == StatePaused || st == StateRestarting {
		return nil, refusedf("stream job %q is %s in this process: stop it first (kdeck streams stop %s)", req.Job, st, req.Job)
	}
	mode := req.Mode
	if mode == "" {
		mode = ResetToEarliest
	}
	switch mode {
	case ResetToEarliest, ResetToDatetime, ResetByDuration:
	default:
		return nil, invalidf("stream reset mode %q is not supported: use to-earliest, to-datetime or by-duration", mode)
	}
	group := spec.AppID()
	if req.As != "" {
		if req.As == group {
			return nil, invalidf("--as %q is the job's current application id: give a new one", req.As)
		}
		group = req.As
	}
	var scope []TopicScope
	for _, in := range top.Inputs() {
		scope = append(scope, TopicScope{Topic: in})
	}
	offs, err := l.PlanReset(ctx, ResetRequest{Cluster: h.cluster, Group: group, Scope: scope, Mode: mode,
		Time: req.Time, Duration: req.Duration, Command: req.Command})
	if err != nil {
		return nil, err
	}
	p := &StreamResetPlan{Job: req.Job, Cluster: h.cluster, Group: group, As: req.As, Offsets: offs,
		DeleteTopics: []string{}, Created: l.now(), Command: req.Command}
	if req.As != "" {
		return p, nil
	}
	if err := l.planStreamInternals(ctx, h.cluster, top, p); err != nil {
		return nil, err
	}
	sort.Strings(p.DeleteTopics)
	dir := streams.StateDir(l.streamDataDir(spec), spec.AppID())
	if _, err := os.Stat(dir); err == nil {
		p.WipeDir = dir
	}
	return p, nil
}

// planStreamInternals adds to p what a reset in place also does: delete
// the group's offsets on the repartition topics it committed, and delete
// the internal topics that exist.
func (l *Local) planStreamInternals(ctx context.Context, cluster string, top *streams.Topology, p *StreamResetPlan) error {
	c, err := l.client(cluster)
	if err != nil {
		return err
	}
	rctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	cur, err := l.committed(rctx, c, p.Group)
	if err != nil {
		return l.err(c, err)
	}
	var rscope []TopicScope
	for _, t := range streams.PlanReset(top, "").RepartitionTopics {
		for k := range cur {
			if k.topic == t {
				rscope = append(rscope, TopicScope{Topic: t})
				break
			}
		}
	}
	if len(rscope) > 0 {
		if p.RepartitionOffsets, err = l.PlanDeleteOffsets(ctx, cluster, p.Group, rscope); err != nil {
			return err
		}
		p.RepartitionOffsets.Command = p.Command
	}
	internal := top.InternalTopics()
	if len(internal) > 0 {
		td, err := c.adm.ListTopics(rctx, internal...)
		if err != nil {
			return l.err(c, err)
		}
		for _, t := range internal {
			if d, ok := td[t]; ok && d.Err == nil {
				p.DeleteTopics = append(p.DeleteTopics, t)
			}
		}
	}
	return nil
}

// ExecuteStreamReset implements StreamService: it resets the input offsets
// (refused while the group has members or its offsets moved since the
// plan), deletes the internal topics and wipes the local state, in that
// order, and records one audit entry for the whole reset.
func (l *Local) ExecuteStreamReset(ctx context.Context, plan *StreamResetPlan) (AuditEntry, error) {
	if plan == nil || plan.Offsets == nil {
		return AuditEntry{}, invalidf("no stream reset plan to execute")
	}
	if err := l.checkWritable(ctx, "reset stream job "+plan.Job); err != nil {
		return AuditEntry{}, err
	}
	h, err := l.job(plan.Job)
	if err != nil {
		return AuditEntry{}, err
	}
	if st := l.sup().status(h).State; st == StateRunning || st == StatePaused || st == StateRestarting {
		return AuditEntry{}, refusedf("stream job %q is %s in this process: stop it first (kdeck streams stop %s)", plan.Job, st, plan.Job)
	}
	if _, err := l.ExecutePlan(ctx, plan.Offsets); err != nil {
		return AuditEntry{}, err
	}
	if plan.RepartitionOffsets != nil {
		if _, err := l.ExecutePlan(ctx, plan.RepartitionOffsets); err != nil {
			return AuditEntry{}, fmt.Errorf("stream reset of %q: input offsets were reset but deleting the repartition topics' offsets failed: %w", plan.Job, err)
		}
	}
	entry := AuditEntry{Action: "streams.reset", Cluster: plan.Cluster, Group: plan.Group, Job: plan.Job, Command: plan.Command,
		Details: map[string]string{"delete_topics": strings.Join(plan.DeleteTopics, ","), "wipe_dir": plan.WipeDir}}
	if plan.As != "" {
		entry.Details["as"] = plan.As
	}
	if err := l.auditIntent(ctx, &entry); err != nil {
		return AuditEntry{}, fmt.Errorf("stream reset of %q: input offsets were reset, but internal topics and local state were left: %w", plan.Job, err)
	}
	var opErr error
	if len(plan.DeleteTopics) > 0 {
		c, err := l.client(plan.Cluster)
		if err != nil {
			return l.recordAudit(ctx, entry, err), err
		}
		rctx, cancel := l.reqCtx(ctx, c)
		resp, err := c.adm.DeleteTopics(rctx, plan.DeleteTopics...)
		cancel()
		if err == nil {
			for _, r := range resp.Sorted() {
				if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
					err = errors.Join(err, fmt.Errorf("delete %s: %w", r.Topic, r.Err))
				}
			}
		}
		if err != nil {
			opErr = fmt.Errorf("stream reset of %q: input offsets were reset but deleting internal topics failed: %w", plan.Job, l.err(c, err))
		}
	}
	if opErr == nil && plan.WipeDir != "" {
		if err := os.RemoveAll(plan.WipeDir); err != nil {
			opErr = fmt.Errorf("stream reset of %q: offsets reset and topics deleted, but wiping %s failed: %w", plan.Job, plan.WipeDir, err)
		}
	}
	return l.recordAudit(ctx, entry, opErr), opErr
}
