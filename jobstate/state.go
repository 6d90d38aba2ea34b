package jobstate

// State is a job's or task's state, named as Kafka Connect names them
// (UNASSIGNED, RUNNING, PAUSED, FAILED, RESTARTING, STOPPED). Stream jobs add
// STARTING and RESTORING, which the supervisor shows as RUNNING.
type State string

// Kafka Connect's states.
const (
	// Unassigned: not (yet) running anywhere: before a worker split or
	// built it, or after its run ended with the worker.
	Unassigned State = "UNASSIGNED"
	// Running: processing (or ready to).
	Running State = "RUNNING"
	// Paused: running but not fetching; resumes where it was.
	Paused State = "PAUSED"
	// Failed: stopped by an error, kept with its trace until a restart.
	Failed State = "FAILED"
	// Restarting: between a failure or a restart request and the next run.
	Restarting State = "RESTARTING"
	// Stopped: finished, or stopped by a lifecycle verb.
	Stopped State = "STOPPED"
)

// A stream job's states that Kafka Connect does not have.
const (
	// Starting: a stream job before its first assignment.
	Starting State = "STARTING"
	// Restoring: a stream task rebuilding a store from its changelog.
	Restoring State = "RESTORING"
)
