package ops

// Jobs created through the worker's API (Kafka Connect's POST /connectors
// and PUT /connectors/NAME/config): validated by the same builders as TOML
// jobs, audited, and persisted in DATA_DIR/api-jobs.json so that they
// survive a restart. Jobs declared in the configuration file are owned by
// the file and cannot be changed or deleted this way.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops/workergroup"
)

// JobSourceAPI is JobConfig.Source of a job created through the API.
const JobSourceAPI = "api"

// APIJobsFile is the file, in the data dir, that holds the jobs created
// through the API.
const APIJobsFile = "api-jobs.json"

// JobConfig is a job's configuration table and who owns it.
type JobConfig struct {
	Name  string         `json:"name"`
	Kind  JobKind        `json:"kind"`
	Table map[string]any `json:"table"`
	// Source is the configuration file that declares the job, "api" for
	// a job created through the worker's API, or "embedded" for the
	// embedded default's demo jobs.
	Source string `json:"source"`
}

// PutJobRequest creates or replaces a job created through the API.
type PutJobRequest struct {
	Kind  JobKind        `json:"kind"`
	Table map[string]any `json:"table"`
	// Command is recorded in the audit entry.
	Command string `json:"command,omitempty"`
}

// apiJobs is the persisted set of API-created jobs.
type apiJobs struct {
	mu   sync.Mutex
	path string
	jobs []persistedJob
}

type persistedJob struct {
	Kind  JobKind        `json:"kind"`
	Table map[string]any `json:"table"`
}

func (l *Local) apiStore() *apiJobs {
	l.apiOnce.Do(func() {
		l.apiJobs = &apiJobs{path: filepath.Join(l.Info().DataDir, APIJobsFile)}
		b, err := os.ReadFile(l.apiJobs.path)
		if err == nil {
			if err := json.Unmarshal(b, &l.apiJobs.jobs); err != nil {
				l.log.Warn("ignoring the API jobs file: it is not valid JSON", "file", l.apiJobs.path, "err", err)
			}
		}
	})
	return l.apiJobs
}

// addAPIJobs registers the persisted API jobs with s (skipping names the
// configuration already uses).
func (l *Local) addAPIJobs(s *supervisor) {
	st := l.apiStore()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, j := range st.jobs {
		if h := s.add(j.Kind, config.Job{Table: j.Table}); h == nil {
			l.log.Warn("an API job has the name of a configured job; the configured one runs", "job", config.Job{Table: j.Table}.Name())
		}
	}
}

func (st *apiJobs) has(name string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, j := range st.jobs {
		if (config.Job{Table: j.Table}).Name() == name {
			return true
		}
	}
	return false
}

// put replaces or appends a job and writes the file atomically.
func (st *apiJobs) put(name string, j *persistedJob) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make([]persistedJob, 0, len(st.jobs)+1)
	done := false
	for _, o := range st.jobs {
		if (config.Job{Table: o.Table}).Name() == name {
			if j != nil && !done {
				out = append(out, *j)
				done = true
			}
			continue
		}
		out = append(out, o)
	}
	if j != nil && !done {
		out = append(out, *j)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o700); err != nil {
		return fmt.Errorf("cannot create the data dir for %s: %w", st.path, err)
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("cannot write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return fmt.Errorf("cannot replace %s: %w", st.path, err)
	}
	st.jobs = out
	return nil
}

// owner says who owns job name, for refusals: the file, or the embedded
// default.
func (l *Local) owner(name string) string {
	if st := l.gstate(); st != nil && st.hasAPIJob(name) || l.apiStore().has(name) {
		return JobSourceAPI
	}
	for _, js := range jobTables(l.cfg) {
		if js.job.Name() == name {
			return l.cfg.Path
		}
	}
	return "embedded"
}

// JobConfig implements Service.
func (l *Local) JobConfig(ctx context.Context, name string) (JobConfig, error) {
	h, err := l.job(name)
	if err != nil {
		return JobConfig{}, err
	}
	return JobConfig{Name: name, Kind: h.kind, Table: maps.Clone(h.spec.Table), Source: l.owner(name)}, nil
}

// refuseOwned refuses changing a job the API does not own.
func (l *Local) refuseOwned(name, what string) error {
	switch o := l.owner(name); o {
	case JobSourceAPI:
		return nil
	case "embedded":
		return refusedf("cannot %s job %q: it belongs to the embedded default's demo channel", what, name)
	default:
		return refusedf("cannot %s job %q: it is declared in %s, which owns it; edit that file and restart the worker", what, name, o)
	}
}

// PutJob implements Service: it creates a job (created true) or replaces an
// API-created one, after validating its table exactly as a TOML table, and
// starts it when this process runs jobs. Audited ("jobs.create",
// "jobs.update").
func (l *Local) PutJob(ctx context.Context, req PutJobRequest) (JobConfig, bool, error) {
	if req.Kind == "" {
		req.Kind = KindConnector
	}
	build := l.sup().kinds[req.Kind].build
	if build == nil {
		return JobConfig{}, false, invalidf("job kind %q is unknown: use connector, mirror or stream", req.Kind)
	}
	j := config.Job{Table: req.Table}
	name := j.Name()
	if name == "" {
		return JobConfig{}, false, invalidf("the job has no name: set the name key")
	}
	if err := l.checkWritable(ctx, fmt.Sprintf("create or change job %q", name)); err != nil {
		return JobConfig{}, false, err
	}
	s := l.sup()
	old := s.get(name)
	if old != nil {
		if err := l.refuseOwned(name, "change"); err != nil {
			return JobConfig{}, false, err
		}
		if old.kind != req.Kind {
			return JobConfig{}, false, invalidf("job %q is a %s, not a %s", name, old.kind, req.Kind)
		}
	}
	if _, err := build(l, j); err != nil {
		if e := invalidSpec(err); e != err {
			return JobConfig{}, false, fmt.Errorf("job %q is not valid: %w", name, e) // ErrInvalid, with the field paths
		}
		return JobConfig{}, false, &wrapped{msg: fmt.Sprintf("job %q is not valid: %v", name, err), err: ErrInvalid}
	}
	action := "jobs.create"
	if old != nil {
		action = "jobs.update"
	}
	entry := AuditEntry{Action: action, Job: name, Command: req.Command, Details: map[string]string{"kind": string(req.Kind)}}
	if b, err := json.Marshal(req.Table); err == nil {
		entry.Details["table"] = string(b)
	}
	st, err := l.groupFor(ctx)
	if err != nil {
		return JobConfig{}, false, err
	}
	if st != nil {
		// The worker group's configs topic holds it; every worker applies it.
		entry.Details["worker_group"] = st.group
		err = st.putConfig(ctx, workergroup.JobKeyPrefix+name, workergroup.JobConfig{Kind: string(req.Kind), Table: req.Table, By: actorName(ctx), At: l.now()})
	} else {
		err = l.apiStore().put(name, &persistedJob{Kind: req.Kind, Table: req.Table})
		if err == nil {
			err = l.replaceJob(old, req.Kind, j)
		}
	}
	l.recordAudit(ctx, entry, err)
	if err != nil {
		return JobConfig{}, false, err
	}
	return JobConfig{Name: name, Kind: req.Kind, Table: maps.Clone(req.Table), Source: JobSourceAPI}, old == nil, nil
}

// replaceJob stops and removes old (if any), adds j and starts it when the
// supervisor runs jobs. As in Kafka Connect, a replaced job keeps its
// target state: a STOPPED one stays stopped, a PAUSED one starts paused.
func (l *Local) replaceJob(old *hostedJob, kind JobKind, j config.Job) error {
	s := l.sup()
	var was State
	if old != nil {
		was = s.status(old).State
		if !s.stop(old, DefaultJobStopTimeout) {
			return fmt.Errorf("job %q did not stop within %v", old.name, DefaultJobStopTimeout)
		}
		s.remove(old.name)
	}
	h := s.add(kind, j)
	if h == nil {
		return errors.New("job " + j.Name() + " was added concurrently")
	}
	s.mu.Lock()
	started, closed := s.started, s.closed
	s.mu.Unlock()
	switch {
	case !started || closed:
	case was == StateStopped:
		h.setState(StateStopped)
	default:
		if was == StatePaused {
			h.mu.Lock()
			h.paused = true
			h.mu.Unlock()
		}
		s.start(h)
	}
	return nil
}

// DeleteJob implements Service: it stops and deletes a job created through
// the API; configured jobs are refused (ErrRefused) naming their file.
// Audited ("jobs.delete").
func (l *Local) DeleteJob(ctx context.Context, name, command string) (AuditEntry, error) {
	h, err := l.job(name)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := l.checkWritable(ctx, fmt.Sprintf("delete job %q", name)); err != nil {
		return AuditEntry{}, err
	}
	if err := l.refuseOwned(name, "delete"); err != nil {
		return AuditEntry{}, err
	}
	s := l.sup()
	st, err := l.groupFor(ctx)
	if err != nil {
		return AuditEntry{}, err
	}
	if st != nil {
		err = st.deleteJob(ctx, name)
	} else if !s.stop(h, DefaultJobStopTimeout) {
		err = fmt.Errorf("job %q did not stop within %v", name, DefaultJobStopTimeout)
	} else {
		s.remove(name)
		err = l.apiStore().put(name, nil)
	}
	entry := AuditEntry{Action: "jobs.delete", Job: name, Cluster: h.cluster, Command: command, Details: map[string]string{"kind": string(h.kind)}}
	return l.recordAudit(ctx, entry, err), err
}

// remove forgets a stopped job.
func (s *supervisor) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, name)
	for i, n := range s.order {
		if n == name {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}
