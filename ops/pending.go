package ops

import "context"

// This file holds the parts of Service that later issues fill: offset plans
// (issue 3), lag status sampling (issue 3) and jobs (issue 5).

func (l *Local) decorateSummary(cluster string, gs *GroupSummary) {}

func (l *Local) lagHistory(cluster, group string) []LagSample { return nil }

// PlanReset implements Service.
func (l *Local) PlanReset(ctx context.Context, req ResetRequest) (*Plan, error) {
	return nil, ErrNotImplemented
}

// ExecutePlan implements Service.
func (l *Local) ExecutePlan(ctx context.Context, plan *Plan) (AuditEntry, error) {
	return AuditEntry{}, ErrNotImplemented
}

// PlanDeleteOffsets implements Service.
func (l *Local) PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []TopicScope) (*Plan, error) {
	return nil, ErrNotImplemented
}

// PlanUndo implements Service.
func (l *Local) PlanUndo(ctx context.Context, auditID string) (*Plan, error) {
	return nil, ErrNotImplemented
}

// Health implements Service.
func (l *Local) Health(ctx context.Context) (HealthReport, error) {
	return HealthReport{}, ErrNotImplemented
}

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
