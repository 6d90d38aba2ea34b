package ops

import "context"

// This file holds the parts of Service that a later issue fills: jobs
// (issue 5).

// Jobs implements Service.
func (l *Local) Jobs(ctx context.Context) ([]JobStatus, error) { return []JobStatus{}, nil }

// Job implements Service.
func (l *Local) Job(ctx context.Context, name string) (JobStatus, error) {
	return JobStatus{}, notFoundf(ErrNotFound, "job %q not found", name)
}

// JobAction implements Service.
func (l *Local) JobAction(ctx context.Context, name string, action JobAction, opts JobActionOptions) (AuditEntry, error) {
	return AuditEntry{}, notFoundf(ErrNotFound, "job %q not found", name)
}
