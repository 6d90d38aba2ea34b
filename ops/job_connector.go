package ops

// The connector adapter: [[connectors]] tables run by package connect under
// the supervisor (jobs.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/connect"
)

// WithConnectRegistry sets the registry connectors are built from, so a Go
// program can host its own connector classes and transforms; default
// connect.Builtins().
func WithConnectRegistry(r *connect.Registry) Opt {
	return optFn(func(c *localCfg) { c.registry = r })
}

// DemoConnectorName is the datagen connector of the embedded default's demo
// channel, feeding DemoOrdersTopic.
const DemoConnectorName = "demo-orders"

// registry returns the connector classes and transforms of l
// (WithConnectRegistry, default connect.Builtins()); read-only.
func (l *Local) registry() *connect.Registry { return l.lc.registry }

// offsetRunner is implemented by runners whose offsets can be read and
// altered (connectors; mirrors and stream jobs may implement it too).
type offsetRunner interface {
	Offsets(ctx context.Context) ([]JobOffset, error)
	AlterOffsets(ctx context.Context, offs []JobOffset) error
	ResetOffsets(ctx context.Context) error
}

// connectorJob adapts a connect.Job to jobRunner.
type connectorJob struct {
	j *connect.Job
}

// isEmbedded reports whether cluster is the embedded default's.
func (l *Local) isEmbedded(cluster string) bool {
	if l.lc.embedded == nil {
		return false
	}
	return cluster == "" && l.def == config.DefaultClusterName || cluster == config.DefaultClusterName
}

func newConnectorJob(l *Local, spec config.Job) (jobRunner, error) {
	return newConnectorJobWith(l, spec)
}

// newConnectorJobWith builds a connector job with extra options (a worker
// group's share of its tasks).
func newConnectorJobWith(l *Local, spec config.Job, extra ...connect.Opt) (jobRunner, error) {
	worker, err := l.WorkerID()
	if err != nil {
		return nil, err
	}
	// Sink tasks are static members of connect-NAME (restart in place).
	extra = append([]connect.Opt{connect.StaticMembers(worker, l.workerSessionTimeout())}, extra...)
	cluster, _ := spec.Table[connect.FieldCluster].(string)
	if err := connect.Validate(l.registry(), spec.Table); err != nil {
		return nil, invalidSpec(err)
	}
	opts, store, err := l.connectorStore(spec)
	if err != nil {
		return nil, err
	}
	jopts := []connect.Opt{
		connect.WithClientOpts(opts...),
		connect.WithOffsetStore(store),
		connect.WithLogger(l.log.With("job", spec.Name())),
	}
	if rc, err := l.schemaRegistry(cluster); err == nil {
		jopts = append(jopts, connect.WithSchemaRegistry(rc)) // for avro, protobuf and json_schema converters
	}
	j, err := connect.NewJob(l.registry(), spec.Table, append(jopts, extra...)...)
	if err != nil {
		return nil, err
	}
	return &connectorJob{j: j}, nil
}

// connectorStore returns the client options of a connector's cluster and
// its offset store: a file in the data dir on the embedded cluster unless
// offsets_topic is set, else the compacted topic.
func (l *Local) connectorStore(spec config.Job) ([]kgo.Opt, connect.OffsetStore, error) {
	cluster, _ := spec.Table[connect.FieldCluster].(string)
	opts, _, err := l.ClientFor(cluster)
	if err != nil {
		return nil, nil, err
	}
	topic, _ := spec.Table[connect.FieldOffsetsTopic].(string)
	if topic == "" && l.isEmbedded(cluster) {
		return opts, connect.NewFileOffsetStore(filepath.Join(l.Info().DataDir, "connect", "offsets")), nil
	}
	return opts, connect.NewKafkaOffsetStore(topic, opts...), nil
}

// newConnectorOffsets builds the offsets accessor of a connector that is not
// running (connect.Offsets): its table is validated as for a run, but no
// job, task or client is built until the offsets are read.
func newConnectorOffsets(l *Local, spec config.Job) (offsetRunner, func(), error) {
	if err := connect.Validate(l.registry(), spec.Table); err != nil {
		return nil, nil, err
	}
	opts, store, err := l.connectorStore(spec)
	if err != nil {
		return nil, nil, err
	}
	o, err := connect.NewOffsets(l.registry(), spec.Table, connect.WithClientOpts(opts...), connect.WithOffsetStore(store))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return connectorOffsets{o}, func() { o.Close() }, nil
}

// connectorOffsets adapts a connect.Offsets to offsetRunner.
type connectorOffsets struct{ o *connect.Offsets }

func (c connectorOffsets) Offsets(ctx context.Context) ([]JobOffset, error) {
	return fromSourceOffsets(c.o.Read(ctx))
}
func (c connectorOffsets) AlterOffsets(ctx context.Context, offs []JobOffset) error {
	return c.o.Alter(ctx, toSourceOffsets(offs))
}
func (c connectorOffsets) ResetOffsets(ctx context.Context) error { return c.o.Reset(ctx) }

func fromSourceOffsets(offs []connect.SourceOffset, err error) ([]JobOffset, error) {
	if err != nil {
		return nil, err
	}
	out := make([]JobOffset, len(offs))
	for i, o := range offs {
		out[i] = JobOffset{Partition: o.Partition, Offset: o.Offset}
	}
	return out, nil
}

func toSourceOffsets(offs []JobOffset) []connect.SourceOffset {
	in := make([]connect.SourceOffset, len(offs))
	for i, o := range offs {
		in[i] = connect.SourceOffset{Partition: o.Partition, Offset: o.Offset}
	}
	return in
}

func (c *connectorJob) Run(ctx context.Context) error {
	defer c.j.Close()
	return c.j.Run(ctx)
}
func (c *connectorJob) Pause()                                 { c.j.Pause() }
func (c *connectorJob) Resume()                                { c.j.Resume() }
func (c *connectorJob) RestartTask(id int) error               { return c.j.RestartTask(id) }
func (c *connectorJob) RestartFailedTasks() []int              { return c.j.RestartFailedTasks() }
func (c *connectorJob) ResetOffsets(ctx context.Context) error { return c.j.ResetOffsets(ctx) }

func (c *connectorJob) Offsets(ctx context.Context) ([]JobOffset, error) {
	return fromSourceOffsets(c.j.Offsets(ctx))
}

func (c *connectorJob) AlterOffsets(ctx context.Context, offs []JobOffset) error {
	return c.j.AlterOffsets(ctx, toSourceOffsets(offs))
}

func (c *connectorJob) Status() JobStatus {
	st := c.j.Status()
	js := JobStatus{State: State(st.State), Tasks: make([]TaskStatus, 0, len(st.Tasks))}
	var last time.Time
	for _, t := range st.Tasks {
		m := JobMetrics{
			RecordsInPerSec: t.Metrics.RecordsInPerSec, RecordsOutPerSec: t.Metrics.RecordsOutPerSec,
			BytesInPerSec: t.Metrics.BytesInPerSec, BytesOutPerSec: t.Metrics.BytesOutPerSec,
			RecordsIn: t.Metrics.RecordsIn, RecordsOut: t.Metrics.RecordsOut, Errors: t.Metrics.Errors, DLQ: t.Metrics.DLQ,
		}
		if !t.Metrics.LastActivity.IsZero() {
			at := t.Metrics.LastActivity
			m.LastActivity = &at
		}
		ts := TaskStatus{ID: t.ID, State: State(t.State), Trace: t.Trace, Metrics: m, Detail: t.Detail}
		js.Tasks = append(js.Tasks, ts)
		sum(&js.Metrics, m)
		if t.State == StateFailed && t.FailedAt.After(last) {
			last = t.FailedAt
			at := t.FailedAt
			js.LastError, js.LastErrorAt = firstLine(t.Trace), &at
		}
	}
	return js
}

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func sum(to *JobMetrics, m JobMetrics) {
	to.RecordsInPerSec += m.RecordsInPerSec
	to.RecordsOutPerSec += m.RecordsOutPerSec
	to.BytesInPerSec += m.BytesInPerSec
	to.BytesOutPerSec += m.BytesOutPerSec
	to.RecordsIn += m.RecordsIn
	to.RecordsOut += m.RecordsOut
	to.Errors += m.Errors
	to.DLQ += m.DLQ
	if m.LastActivity != nil && (to.LastActivity == nil || m.LastActivity.After(*to.LastActivity)) {
		to.LastActivity = m.LastActivity
	}
}

// addDemoJobs adds the embedded default's datagen connector feeding
// demo.orders and stops the hand-written demo producer it replaces.
func (l *Local) addDemoJobs(s *supervisor) {
	e := l.lc.embedded
	if e == nil || e.demoRate == 0 || s.get(DemoConnectorName) != nil {
		return
	}
	h := s.add(KindConnector, config.Job{Table: map[string]any{
		connect.FieldName: DemoConnectorName, connect.FieldClass: "datagen", connect.FieldCluster: config.DefaultClusterName,
		"topic": DemoOrdersTopic, "rate": float64(e.demoRate), "keys": int64(20), "seed": time.Now().UnixNano(),
	}})
	if h != nil && e.stopProducer != nil {
		e.stopProducer()
	}
}

// offsetsFor returns the offsets of h: its current runner's (nil when the
// runner has none), or, when it never ran here, its kind's offsets accessor
// (released by the returned func), which builds no runner.
func (l *Local) offsetsFor(h *hostedJob) (offsetRunner, func(), error) {
	h.mu.Lock()
	r := h.runner
	h.mu.Unlock()
	if r != nil {
		or, _ := r.(offsetRunner)
		return or, func() {}, nil
	}
	if h.offsets == nil {
		return nil, func() {}, nil
	}
	return h.offsets(l, h.spec)
}

// JobOffsets implements Service.
func (l *Local) JobOffsets(ctx context.Context, name string) ([]JobOffset, error) {
	h, err := l.job(name)
	if err != nil {
		return nil, err
	}
	or, done, err := l.offsetsFor(h)
	if err != nil {
		return nil, err
	}
	defer done()
	if or == nil {
		return nil, &wrapped{msg: fmt.Sprintf("%s job %q has no offsets to show here", h.kind, name), err: ErrNotImplemented}
	}
	offs, err := or.Offsets(ctx)
	if offs == nil {
		offs = []JobOffset{}
	}
	return offs, err
}

// AlterJobOffsets implements Service.
func (l *Local) AlterJobOffsets(ctx context.Context, name string, req AlterOffsetsRequest) (AuditEntry, error) {
	h, err := l.job(name)
	if err != nil {
		return AuditEntry{}, err
	}
	verb := "alter"
	if req.Reset {
		verb = "reset"
	}
	if err := l.checkWritable(ctx, fmt.Sprintf("%s the offsets of job %q", verb, name)); err != nil {
		return AuditEntry{}, err
	}
	if !req.Reset && len(req.Offsets) == 0 {
		return AuditEntry{}, invalidf("no offsets given: pass the offsets to write, or reset")
	}
	if st := l.sup().status(h).State; st != StateStopped && st != StateUnassigned {
		return AuditEntry{}, refusedf("job %q is %s: offsets can be altered or reset only while it is STOPPED; stop it first ('kdeck connect stop %s')", name, st, name)
	}
	if err := l.groupOffsetsRefusal(name); err != nil {
		return AuditEntry{}, err
	}
	or, done, err := l.offsetsFor(h)
	if err != nil {
		return AuditEntry{}, err
	}
	defer done()
	if or == nil {
		return AuditEntry{}, &wrapped{msg: fmt.Sprintf("%s job %q has no offsets to alter here", h.kind, name), err: ErrNotImplemented}
	}
	before, err := or.Offsets(ctx)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("cannot read the offsets of job %q before changing them (%w); nothing was changed, because the audit entry must hold them to undo the change", name, err)
	}
	if before == nil {
		before = []JobOffset{}
	}
	entry := AuditEntry{Action: "jobs.offsets." + verb, Job: name, Cluster: h.cluster, Command: req.Command, UndoOf: req.UndoOf,
		Details: map[string]string{"kind": string(h.kind), "offsets_before": jsonText(before)}}
	if err := l.auditIntent(ctx, &entry); err != nil {
		return AuditEntry{}, err
	}
	if req.Reset {
		err = or.ResetOffsets(ctx)
	} else {
		err = or.AlterOffsets(ctx, req.Offsets)
	}
	after, aerr := or.Offsets(ctx)
	if aerr != nil {
		entry.Details["offsets_after_error"] = aerr.Error()
		l.recordAudit(ctx, entry, errors.Join(err, fmt.Errorf("reading the offsets back failed: %w", aerr)))
		return entry, fmt.Errorf("the offsets of job %q were %s, but reading them back failed (%w): audit entry %s has no offsets after, so it cannot be undone; check them with 'kdeck connect offsets %s'", name, map[bool]string{true: "reset", false: "altered"}[req.Reset], aerr, entry.ID, name)
	}
	if after == nil {
		after = []JobOffset{}
	}
	entry.Details["offsets_after"] = jsonText(after)
	return l.recordAudit(ctx, entry, err), err
}

// JobOffsetsUndo returns the request that undoes an audited change of a
// connector's offsets (a "jobs.offsets.alter" or "jobs.offsets.reset"
// entry): the offsets before are written back, and partitions the change
// added get a null offset (removed). current are the job's offsets now; when
// they differ from the entry's offsets after, it refuses (ErrGroupMoved)
// because the job moved since. Pass the result to AlterJobOffsets.
func JobOffsetsUndo(e AuditEntry, current []JobOffset) (AlterOffsetsRequest, error) {
	if !strings.HasPrefix(e.Action, "jobs.offsets.") {
		return AlterOffsetsRequest{}, refusedf("audit entry %s is a %s, not a change of a job's offsets", e.ID, e.Action)
	}
	if e.Outcome != OutcomeOK {
		return AlterOffsetsRequest{}, refusedf("audit entry %s has outcome %q, so it cannot be undone; check the job's offsets with 'kdeck connect offsets %s'", e.ID, e.Outcome, e.Job)
	}
	var before, after []JobOffset
	if err := json.Unmarshal([]byte(e.Details["offsets_before"]), &before); err != nil {
		return AlterOffsetsRequest{}, refusedf("audit entry %s does not hold the offsets before the change (written by an older kdeck?), so it cannot be undone", e.ID)
	}
	if err := json.Unmarshal([]byte(e.Details["offsets_after"]), &after); err != nil {
		return AlterOffsetsRequest{}, refusedf("audit entry %s does not hold the offsets after the change, so it cannot be undone", e.ID)
	}
	if !sameJobOffsets(after, current) {
		return AlterOffsetsRequest{}, &wrapped{msg: fmt.Sprintf("the offsets of job %q changed since audit entry %s (the job ran, or another change); undo refused: set them with 'kdeck connect offsets %s --set FILE'", e.Job, e.ID, e.Job), err: ErrGroupMoved}
	}
	req := AlterOffsetsRequest{UndoOf: e.ID, Offsets: append([]JobOffset{}, before...)}
	had := map[string]bool{}
	for _, o := range before {
		had[jsonText(o.Partition)] = true
	}
	for _, o := range after {
		if !had[jsonText(o.Partition)] {
			req.Offsets = append(req.Offsets, JobOffset{Partition: o.Partition})
		}
	}
	if len(req.Offsets) == 0 {
		req.Reset = true
	}
	return req, nil
}

// sameJobOffsets compares two offset lists whatever their order.
func sameJobOffsets(a, b []JobOffset) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]string{}
	for _, o := range a {
		m[jsonText(o.Partition)] = jsonText(o.Offset)
	}
	for _, o := range b {
		if v, ok := m[jsonText(o.Partition)]; !ok || v != jsonText(o.Offset) {
			return false
		}
	}
	return true
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ConnectorPlugins implements Service.
func (l *Local) ConnectorPlugins(ctx context.Context) ([]ConnectorPlugin, error) {
	reg := l.registry()
	var out []ConnectorPlugin
	fields := func(s *connect.Spec) []PluginField {
		fs := make([]PluginField, 0, len(s.Fields))
		for _, f := range s.Fields {
			fs = append(fs, PluginField{Name: f.Name, Type: string(f.Type), Description: f.Desc, Default: f.Def, Required: f.Required, Choices: f.Choices})
		}
		return fs
	}
	for _, p := range reg.Plugins() {
		out = append(out, ConnectorPlugin{Class: p.Name, Type: string(p.Type), Version: p.Version, Summary: p.Spec.Summary, Fields: fields(p.Spec)})
	}
	for _, t := range reg.Transforms() {
		out = append(out, ConnectorPlugin{Class: t.Name, Type: "transform", Summary: t.Spec.Summary, Aliases: t.Aliases, Fields: fields(t.Spec)})
	}
	out = append(out, ConnectorPlugin{Class: "common", Type: "common", Summary: connect.CommonSpec().Summary, Fields: fields(connect.CommonSpec())})
	return out, nil
}

// ValidateConnector implements Service.
func (l *Local) ValidateConnector(ctx context.Context, table map[string]any) ([]FieldProblem, error) {
	err := connect.Validate(l.registry(), table)
	if err == nil {
		return []FieldProblem{}, nil
	}
	if out, ok := fieldProblems(err); ok {
		return out, nil
	}
	return nil, err
}

// ValidateConnectors checks every [[connectors]] table of cfg with reg
// (nil: the built-ins) and returns the problems as *config.Errors naming
// file, line and key; duplicate names are problems too. It is the
// validator 'kdeck config validate' runs.
func ValidateConnectors(cfg *config.Config, reg *connect.Registry) error {
	if reg == nil {
		reg = connect.Builtins()
	}
	var list []*config.Error
	seen := map[string]int{}
	for i, j := range cfg.Connectors {
		name := j.Name()
		if prev, dup := seen[name]; dup && name != "" {
			list = append(list, tableError(cfg, "connectors", i, j.Line, "name",
				fmt.Sprintf("%q is already the name of connectors[%d]: names must be unique", name, prev)))
		}
		seen[name] = i
		if cl, _ := j.Table[connect.FieldCluster].(string); cl != "" && len(cfg.Clusters) > 0 {
			if _, ok := cfg.Clusters[cl]; !ok {
				list = append(list, tableError(cfg, "connectors", i, j.Line, connect.FieldCluster,
					fmt.Sprintf("cluster %q is not defined%s", cl, config.Suggest(cl, cfg.ClusterNames()))))
			}
		}
		list = append(list, tableErrors(cfg, "connectors", i, j.Line, connect.Validate(reg, j.Table))...)
	}
	if len(list) == 0 {
		return nil
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].Line < list[b].Line })
	return &config.Errors{Path: cfg.Path, List: list}
}
