package ops

// Job kinds: what an adapter implements to be hosted by the supervisor
// (jobs.go), and the registry of the kinds built into kdeck.
//
// # Contract for job kinds (adapters such as job_connector.go, job_mirror.go,
// job_stream.go)
//
// An adapter implements jobRunner for one job built from one TOML table and
// provides a builder for its kind, which builtinJobKinds lists (an explicit
// registry value each supervisor gets its own copy of; no init()):
//
//	func newMirrorJob(l *Local, j config.Job) (jobRunner, error)
//
// The builder validates the table and returns an error naming the key for bad
// configuration; it must not start goroutines or connect (the supervisor also
// builds runners only to read their offsets). Build clients with
// l.ClientFor(cluster) and log with l.Logger().With("job", name).
//
// Run(ctx) runs the job and blocks. When ctx is cancelled it stops gracefully
// (flush, commit or save offsets) and returns nil, within the stop timeout
// (DefaultJobStopTimeout, or WithJobStopTimeout). A fatal error returns it:
// the supervisor marks the job FAILED with the error and its time, waits
// (backoff 1s doubling to 30s, reset after a minute of healthy running) and
// calls Run again on a freshly built runner (state RESTARTING in between).
// Two cases end the restarts and leave the job FAILED until a lifecycle verb
// starts it again:
//   - a permanent error: one whose chain holds an error with a
//     Permanent() bool method answering true (a bad record under on_error =
//     "fail", a record the producer rejects under errors_tolerance =
//     "none"); the runtimes define such errors without importing ops;
//   - the same error (same text) after MaxRestarts restarts in a row, each
//     attempt failing within a minute (DefaultMaxRestarts, [ops]
//     max_restarts, WithMaxRestarts).
//
// Run returning nil while ctx is live means the job finished (datagen with a
// count): it becomes STOPPED. Run is called at most once per runner.
//
// Pause and Resume must not block for long and may be called from several
// goroutines: the supervisor applies the desired pause state and re-applies
// it when it changed meanwhile (see applyPause), so the last call wins and
// matches the desire. Status must be cheap and safe to
// call concurrently with Run from any goroutine (the TUI polls it). Status
// fills State, Tasks (with their own states and traces), Metrics and
// LastError; the supervisor overrides Name, Kind, Class and Cluster, and
// overrides State while the job is STOPPED, FAILED or RESTARTING.
//
// Optional interfaces a runner may implement: taskRestarter (restart one
// task, or only the failed ones, without stopping the others) and
// offsetStore (read and alter the job's offsets; see job_connector.go).

import (
	"context"
	"errors"

	"github.com/kdeck/kdeck/config"
)

// permanent is implemented by runtime errors that restarting cannot heal;
// see the comment at the top of jobkinds.go.
type permanent interface{ Permanent() bool }

// isPermanent reports whether err's chain holds a permanent error.
func isPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// jobRunner is one hosted job; see the comment at the top of jobkinds.go for the contract.
type jobRunner interface {
	Run(ctx context.Context) error
	Pause()
	Resume()
	Status() JobStatus
}

// taskRestarter is implemented by runners whose tasks restart on their own.
type taskRestarter interface {
	// RestartTask restarts one task; ErrNotFound-matching error when the
	// id is unknown.
	RestartTask(id int) error
	// RestartFailedTasks restarts the FAILED tasks and returns their ids.
	RestartFailedTasks() []int
}

// jobBuilder builds a runner from a job table.
type jobBuilder func(l *Local, j config.Job) (jobRunner, error)

// offsetsBuilder builds the offsets accessor of a job that is not running,
// without building its runner; done releases it.
type offsetsBuilder func(l *Local, j config.Job) (acc offsetRunner, done func(), err error)

// jobKind is what the supervisor knows of one kind of job.
type jobKind struct {
	build   jobBuilder
	offsets offsetsBuilder // nil: the kind has no offsets to read or alter
}

// jobKinds is a registry of job kinds. It is read-only once a supervisor
// holds it.
type jobKinds map[JobKind]jobKind

// builtinJobKinds returns a new registry of the job kinds built into kdeck:
// connectors (job_connector.go), mirrors (job_mirror.go) and stream jobs
// (job_stream.go).
func builtinJobKinds() jobKinds {
	return jobKinds{
		KindConnector: {build: newConnectorJob, offsets: newConnectorOffsets},
		KindMirror:    {build: newMirrorJob},
		KindStream:    {build: newStreamJob},
	}
}

// jobTables returns the configured job tables by kind, in file order.
func jobTables(cfg *config.Config) []jobSpec {
	var out []jobSpec
	for _, k := range []struct {
		kind JobKind
		jobs []config.Job
	}{{KindConnector, cfg.Connectors}, {KindMirror, cfg.Mirrors}, {KindStream, cfg.Streams}} {
		for i, j := range k.jobs {
			out = append(out, jobSpec{kind: k.kind, job: j, index: i})
		}
	}
	return out
}

type jobSpec struct {
	kind  JobKind
	job   config.Job
	index int
}
