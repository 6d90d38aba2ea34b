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
