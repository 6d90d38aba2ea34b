package ops

// The mirror adapter: [[mirrors]] tables run by package mirror under the
// supervisor (jobs.go), their validation, and the failover plan of a group.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/mirror"
)

// mirrorJob adapts a mirror.Flow to jobRunner: one task per source
// partition, carrying its lag.
type mirrorJob struct {
	f *mirror.Flow
}

func newMirrorJob(l *Local, spec config.Job) (jobRunner, error) {
	return newMirrorJobWith(l, spec)
}

// newMirrorJobWith builds a mirror job with extra options (a worker
// group's share of its shards).
func newMirrorJobWith(l *Local, spec config.Job, extra ...mirror.Opt) (jobRunner, error) {
	cfg, err := mirror.ParseConfig(spec.Table)
	if err != nil {
		return nil, invalidSpec(err)
	}
	src, _, err := l.ClientFor(cfg.Source)
	if err != nil {
		return nil, fmt.Errorf("mirror %q: source: %w", cfg.Name, err)
	}
	tgt, _, err := l.ClientFor(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("mirror %q: target: %w", cfg.Name, err)
	}
	f, err := mirror.New(cfg, src, tgt, append([]mirror.Opt{mirror.WithLogger(l.log.With("job", cfg.Name))}, extra...)...)
	if err != nil {
		return nil, err
	}
	return &mirrorJob{f: f}, nil
}

func (m *mirrorJob) Run(ctx context.Context) error { return m.f.Run(ctx) }
func (m *mirrorJob) Pause()                        { m.f.Pause() }
func (m *mirrorJob) Resume()                       { m.f.Resume() }

func (m *mirrorJob) Status() JobStatus {
	st := m.f.Status()
	cfg := m.f.Config()
	js := JobStatus{State: State(st.State), Class: cfg.Source + "->" + cfg.Target, Tasks: make([]TaskStatus, 0, len(st.Partitions))}
	js.Metrics = JobMetrics{
		RecordsInPerSec: st.RecordsPerSec, RecordsOutPerSec: st.RecordsPerSec,
		BytesInPerSec: st.BytesPerSec, BytesOutPerSec: st.BytesPerSec,
		RecordsIn: st.Records, RecordsOut: st.Records, Lag: st.Lag,
		LatencyMillis: float64(st.Latency) / float64(time.Millisecond),
	}
	if !st.LatencyAt.IsZero() {
		at := st.LatencyAt
		js.Metrics.LastActivity = &at
	}
	if st.LastError != "" {
		at := st.LastErrorAt
		js.LastError, js.LastErrorAt = st.LastError, &at
	}
	taskState := js.State
	if taskState == StateStopped {
		taskState = StateUnassigned
	}
	for i, p := range st.Partitions {
		js.Tasks = append(js.Tasks, TaskStatus{ID: i, State: taskState, Metrics: JobMetrics{Lag: p.Lag}, Detail: map[string]string{
			"topic": p.Topic, "partition": strconv.Itoa(int(p.Partition)), "remote_topic": p.RemoteTopic,
			"position": strconv.FormatInt(p.Position, 10), "committed": strconv.FormatInt(p.Committed, 10),
			"end": strconv.FormatInt(p.End, 10), "lag": strconv.FormatInt(p.Lag, 10),
		}})
	}
	return js
}

// MirrorFailoverPlanner is the part of Service that plans a consumer
// group's failover to a mirror flow's target. It is embedded in Service.
type MirrorFailoverPlanner interface {
	// PlanMirrorFailover returns the reset plan that moves group, in the
	// flow's target cluster, to the offsets translated from its committed
	// offsets in the source (the flow's checkpoints in the target; the
	// source may be down). Execute it with ExecutePlan: it is refused while
	// the group has members in the target, audited and undoable.
	PlanMirrorFailover(ctx context.Context, flow, group string) (*Plan, error)
}

// PlanMirrorFailover implements MirrorFailoverPlanner.
func (l *Local) PlanMirrorFailover(ctx context.Context, flow, group string) (*Plan, error) {
	var cfg mirror.Config
	var names []string
	found := false
	tables := append([]config.Job(nil), l.cfg.Mirrors...)
	if h := l.sup().get(flow); h != nil && h.kind == KindMirror {
		tables = append(tables, h.spec)
	}
	for _, j := range tables {
		names = append(names, j.Name())
		if j.Name() != flow {
			continue
		}
		c, err := mirror.ParseConfig(j.Table)
		if err != nil {
			return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
		}
		cfg, found = c, true
		break
	}
	if !found {
		return nil, notFoundf(ErrNotFound, "no mirror flow %q is configured%s", flow, config.Suggest(flow, names))
	}
	tgt, _, err := l.ClientFor(cfg.Target)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tr, err := mirror.Translate(cctx, cfg, tgt, group)
	if errors.Is(err, mirror.ErrNoCheckpoint) {
		return nil, notFoundf(ErrNotFound, "flow %q has no checkpoint for group %q yet: the group must commit offsets in %s and the flow must run for a checkpoint interval", flow, group, cfg.Source)
	}
	if err != nil {
		return nil, err
	}
	rows := make([]FileOffset, 0, len(tr.Offsets))
	for _, o := range tr.Offsets {
		rows = append(rows, FileOffset{Group: group, Topic: o.RemoteTopic, Partition: o.Partition, Offset: o.TargetOffset})
	}
	p, err := l.PlanReset(ctx, ResetRequest{Cluster: cfg.Target, Group: group, Mode: ResetFromFile, FileOffsets: rows,
		Command: fmt.Sprintf("kdeck mirror failover %s --flow %s", group, flow)})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ValidateMirrors checks every [[mirrors]] table of cfg and returns the
// problems as *config.Errors naming file, line and key: the flow's own
// fields (mirror.ParseConfig), unknown clusters and duplicate names. It is
// the validator 'kdeck config validate' runs.
func ValidateMirrors(cfg *config.Config) error {
	var list []*config.Error
	seen := map[string]int{}
	add := func(i int, key, msg string) {
		list = append(list, tableError(cfg, "mirrors", i, cfg.Mirrors[i].Line, key, msg))
	}
	for i, j := range cfg.Mirrors {
		name := j.Name()
		if prev, dup := seen[name]; dup && name != "" {
			add(i, "name", fmt.Sprintf("%q is already the name of mirrors[%d]: names must be unique", name, prev))
		}
		seen[name] = i
		for _, k := range []string{mirror.FieldSource, mirror.FieldTarget} {
			if cl, _ := j.Table[k].(string); cl != "" && len(cfg.Clusters) > 0 {
				if _, ok := cfg.Clusters[cl]; !ok {
					add(i, k, fmt.Sprintf("cluster %q is not defined%s", cl, config.Suggest(cl, cfg.ClusterNames())))
				}
			}
		}
		_, err := mirror.ParseConfig(j.Table)
		list = append(list, tableErrors(cfg, "mirrors", i, j.Line, err)...)
	}
	if len(list) == 0 {
		return nil
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].Line < list[b].Line })
	return &config.Errors{Path: cfg.Path, List: list}
}

// The embedded default's demo mirror: a second embedded cluster and a flow
// into it.
const (
	// DemoDRCluster names the demo's second embedded cluster.
	DemoDRCluster = "dr"
	// DemoMirrorName is the demo flow mirroring the demo topics of the
	// embedded cluster into DemoDRCluster.
	DemoMirrorName = "demo-local-to-dr"
)

// startDR starts the demo's second cluster on a free loopback port,
// persisted under dataDir/dr when dataDir is set (fsyncing every write with
// syncWrites).
func (e *Embedded) startDR(dataDir string, syncWrites bool) error {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0), kfake.ClusterID("kdeck-dr"), kfake.AllowAutoTopicCreation()}
	if dataDir != "" {
		dopts, err := prepareDataDir(filepath.Join(dataDir, DemoDRCluster), syncWrites, e.log)
		if err != nil {
			return err
		}
		opts = append(opts, dopts...)
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting the embedded cluster %q: %w", DemoDRCluster, err)
	}
	e.dr = c
	return nil
}

// DRAddr returns the bootstrap address of the demo's second cluster, ""
// without the demo.
func (e *Embedded) DRAddr() string {
	if e.dr == nil {
		return ""
	}
	return e.dr.ListenAddrs()[0]
}

// addDemoMirror adds the demo flow local→dr when the embedded default runs
// its demo.
func (l *Local) addDemoMirror(s *supervisor) {
	e := l.lc.embedded
	if e == nil || e.dr == nil || s.get(DemoMirrorName) != nil {
		return
	}
	s.add(KindMirror, config.Job{Table: map[string]any{
		mirror.FieldName: DemoMirrorName, mirror.FieldSource: config.DefaultClusterName, mirror.FieldTarget: DemoDRCluster,
		mirror.FieldTopics: []any{`demo\..*`}, mirror.FieldGroups: []any{DemoBillingGroup, DemoReaderGroup},
		mirror.FieldSyncGroupOffsets: true, mirror.FieldRefreshInterval: "5s", mirror.FieldCheckpointInterval: "5s",
	}})
}
