package ops

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/streams"
)

// DemoStreamJobName is the embedded default's demo stream job: per-customer
// sums of demo.orders in one-minute windows.
const DemoStreamJobName = "orders-per-customer"

// DemoStreamOutput is the demo stream job's output topic.
const DemoStreamOutput = "orders-per-customer-1m"

// streamJob hosts a declarative stream job ([[streams]]).
type streamJob struct {
	j    *streams.Job
	spec streams.JobSpec
}

// streamDataDir is where stream jobs keep local state unless the job sets
// data_dir.
func (l *Local) streamDataDir(spec streams.JobSpec) string {
	if spec.DataDir != "" {
		return spec.DataDir
	}
	return filepath.Join(l.Info().DataDir, "streams")
}

// parseStream parses and validates a [[streams]] table.
func parseStream(j config.Job) (streams.JobSpec, error) {
	spec, err := streams.ParseJob(j.Table)
	if err != nil {
		if e := invalidSpec(err); e != err {
			return spec, e
		}
		return spec, &wrapped{msg: strings.TrimPrefix(err.Error(), streams.ErrInvalid.Error()+" "), err: ErrInvalid}
	}
	spec.Line = j.Line
	return spec, nil
}

func newStreamJob(l *Local, j config.Job) (jobRunner, error) {
	spec, err := parseStream(j)
	if err != nil {
		return nil, err
	}
	opts, _, err := l.ClientFor(spec.Cluster)
	if err != nil {
		return nil, err
	}
	if rc, err := l.schemaRegistry(spec.Cluster); err == nil {
		spec.Registry = rc // decodes avro, protobuf and json_schema inputs
	}
	sopts := []streams.Opt{streams.DataDir(l.streamDataDir(spec)), streams.WithLogger(l.log.With("job", spec.Name))}
	member, err := l.streamMembership(spec)
	if err != nil {
		return nil, err
	}
	job, err := streams.New(spec, opts, append(sopts, member...)...)
	if err != nil {
		return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
	}
	return &streamJob{j: job, spec: spec}, nil
}

// streamMembership makes every stream job a static member of its group
// (restart in place takes its partitions back at once): instance id
// instance_id, else JOB-WORKERID; session timeout session_timeout, else
// [worker] session_timeout.
func (l *Local) streamMembership(spec streams.JobSpec) ([]streams.Opt, error) {
	id := spec.InstanceID
	if id == "" {
		w, err := l.WorkerID()
		if err != nil {
			return nil, err
		}
		id = spec.Name + "-" + w
	}
	st := spec.SessionTimeout
	if st == 0 {
		st = l.workerSessionTimeout()
	}
	return []streams.Opt{streams.InstanceID(id), streams.SessionTimeout(st)}, nil
}

func (s *streamJob) Run(ctx context.Context) error { return s.j.Run(ctx) }
func (s *streamJob) Pause()                        { s.j.Pause() }
func (s *streamJob) Resume()                       { s.j.Resume() }

// Status maps the job's status: tasks are partitions, with their stores'
// sizes and restore progress in Detail.
func (s *streamJob) Status() JobStatus {
	st := s.j.Status()
	js := JobStatus{
		State: streamState(st.State),
		Class: "stream",
		Metrics: JobMetrics{
			RecordsInPerSec: st.RecordsInPerSec, RecordsOutPerSec: st.RecordsOutPerSec,
			RecordsIn: st.RecordsIn, RecordsOut: st.RecordsOut, Lag: st.Lag,
			Errors: st.Errors, DLQ: st.DLQ, LateRecords: st.LateRecords,
		},
		LastError: st.Error,
		Tasks:     []TaskStatus{},
	}
	for _, t := range st.Tasks {
		ts := TaskStatus{ID: int(t.Partition), State: streamState(t.State),
			Metrics: JobMetrics{RecordsIn: t.RecordsIn, Lag: t.Lag, LateRecords: t.LateRecords},
			Detail:  map[string]string{"partition": strconv.Itoa(int(t.Partition)), "app_id": st.AppID}}
		for _, ss := range t.Stores {
			ts.Detail["store."+ss.Name+".bytes"] = strconv.FormatInt(ss.SizeBytes, 10)
			if ss.RestoreTotal > 0 {
				ts.Detail["store."+ss.Name+".restore"] = fmt.Sprintf("%d/%d", ss.Restored, ss.RestoreTotal)
			}
			if ss.Restoring {
				ts.Detail["restoring"] = "true"
			}
		}
		js.Tasks = append(js.Tasks, ts)
	}
	return js
}

// streamState shows a stream job's STARTING and RESTORING as RUNNING.
func streamState(s State) State {
	switch s {
	case StatePaused, StateFailed, StateStopped:
		return s
	default: // STARTING, RESTORING, RUNNING
		return StateRunning
	}
}

// addDemoStreamJobs adds the demo stream job on demo.orders to the embedded
// default when its demo channel runs (demo.orders exists): the issue's
// example, per-customer sums in one-minute windows, exactly once.
func (l *Local) addDemoStreamJobs(s *supervisor) {
	if l.lc.embedded == nil || s.get(DemoStreamJobName) != nil {
		return
	}
	c, err := l.client(config.DefaultClusterName)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultJobStopTimeout)
	defer cancel()
	td, err := c.adm.ListTopics(ctx, DemoOrdersTopic)
	if err != nil || td[DemoOrdersTopic].Err != nil {
		return
	}
	if _, err := c.adm.CreateTopic(ctx, 1, -1, nil, DemoStreamOutput); err != nil {
		l.log.Debug("demo stream output topic", "err", err)
	}
	s.add(KindStream, config.Job{Table: map[string]any{
		"name": DemoStreamJobName, "cluster": config.DefaultClusterName,
		"inputs": []any{DemoOrdersTopic}, "format": "json",
		"filter": "value.amount > 0", "key": "value.customer",
		"window":    map[string]any{"type": "tumbling", "size": "1m", "grace": "10s"},
		"aggregate": map[string]any{"op": "sum", "field": "value.amount"},
		"emit":      "final", "output": DemoStreamOutput, "guarantee": "exactly_once",
	}})
}

// ValidateStreams checks every [[streams]] table of cfg and returns the
// problems as *config.Errors naming file, line and key (all of them); it is
// the validator 'kdeck config validate' runs.
func ValidateStreams(cfg *config.Config) error {
	var list []*config.Error
	seen := map[string]int{}
	for i, j := range cfg.Streams {
		if name := j.Name(); name != "" {
			if prev, dup := seen[name]; dup {
				list = append(list, tableError(cfg, "streams", i, j.Line, "name",
					fmt.Sprintf("%q is already the name of streams[%d]: names must be unique", name, prev)))
			}
			seen[name] = i
		}
		if cl, _ := j.Table["cluster"].(string); cl != "" && len(cfg.Clusters) > 0 {
			if _, ok := cfg.Clusters[cl]; !ok {
				list = append(list, tableError(cfg, "streams", i, j.Line, "cluster",
					fmt.Sprintf("cluster %q is not defined%s", cl, config.Suggest(cl, cfg.ClusterNames()))))
			}
		}
		_, err := streams.ParseJob(j.Table)
		list = append(list, tableErrors(cfg, "streams", i, j.Line, err)...)
	}
	if len(list) == 0 {
		return nil
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].Line < list[b].Line })
	return &config.Errors{Path: cfg.Path, List: list}
}
