package ops

import (
	"context"
	"iter"
)

// ForActor returns a view of svc for one caller: every call runs with actor
// in its context (WithActor), so svc audits it under actor.User and
// actor.Host and refuses its mutations when actor.ReadOnly; Info reports
// ReadOnly for a read-only actor, so a face can say so before trying. The
// view does not own svc: its Close does nothing, and svc stays open for the
// other callers sharing it. A context that already carries an Actor keeps
// its user and host, and the view can only make it read-only, never
// writable: a view of a view restricts further. Safe for concurrent use
// when svc is.
//
//	view := ops.ForActor(shared, ops.Actor{User: "alice (SHA256:...)", Host: "10.0.0.7:51234", ReadOnly: true, Via: "ssh"})
//	_, err := view.ExecutePlan(ctx, plan) // ErrReadOnly, whatever ctx says
func ForActor(svc Service, actor Actor) Service {
	return &actorService{svc: svc, actor: actor}
}

// actorService is ForActor's view. It embeds nothing: each method of
// Service (and StreamService) is listed so that none bypasses the actor.
type actorService struct {
	svc   Service
	actor Actor
}

var (
	_ Service       = (*actorService)(nil)
	_ StreamService = (*actorService)(nil)
)

func (s *actorService) ctx(ctx context.Context) context.Context {
	a, ok := ActorFrom(ctx)
	switch {
	case !ok:
		return WithActor(ctx, s.actor)
	case s.actor.ReadOnly && !a.ReadOnly:
		a.ReadOnly = true
		return WithActor(ctx, a)
	}
	return ctx
}

// Info implements Service.
func (s *actorService) Info() Info {
	in := s.svc.Info()
	in.ReadOnly = in.ReadOnly || s.actor.ReadOnly
	return in
}

// Clusters implements Service.
func (s *actorService) Clusters(ctx context.Context) ([]ClusterInfo, error) {
	return s.svc.Clusters(s.ctx(ctx))
}

// Cluster implements Service.
func (s *actorService) Cluster(ctx context.Context, cluster string) (ClusterInfo, error) {
	return s.svc.Cluster(s.ctx(ctx), cluster)
}

// ListTopics implements Service.
func (s *actorService) ListTopics(ctx context.Context, cluster string, opts ListTopicsOptions) ([]TopicSummary, error) {
	return s.svc.ListTopics(s.ctx(ctx), cluster, opts)
}

// DescribeTopic implements Service.
func (s *actorService) DescribeTopic(ctx context.Context, cluster, topic string) (TopicDetail, error) {
	return s.svc.DescribeTopic(s.ctx(ctx), cluster, topic)
}

// CreateTopic implements Service.
func (s *actorService) CreateTopic(ctx context.Context, cluster string, req CreateTopicRequest) error {
	return s.svc.CreateTopic(s.ctx(ctx), cluster, req)
}

// DeleteTopic implements Service.
func (s *actorService) DeleteTopic(ctx context.Context, cluster, topic string) error {
	return s.svc.DeleteTopic(s.ctx(ctx), cluster, topic)
}

// ListGroups implements Service.
func (s *actorService) ListGroups(ctx context.Context, cluster string) ([]GroupSummary, error) {
	return s.svc.ListGroups(s.ctx(ctx), cluster)
}

// DescribeGroup implements Service.
func (s *actorService) DescribeGroup(ctx context.Context, cluster, group string) (GroupDetail, error) {
	return s.svc.DescribeGroup(s.ctx(ctx), cluster, group)
}

// ReadRecords implements Service.
func (s *actorService) ReadRecords(ctx context.Context, cluster string, req ReadRequest, fn func(Record) error) error {
	return s.svc.ReadRecords(s.ctx(ctx), cluster, req, fn)
}

// Produce implements Service.
func (s *actorService) Produce(ctx context.Context, cluster, topic string, records iter.Seq2[ProduceRecord, error]) (ProduceResult, error) {
	return s.svc.Produce(s.ctx(ctx), cluster, topic, records)
}

// PlanReset implements Service.
func (s *actorService) PlanReset(ctx context.Context, req ResetRequest) (*Plan, error) {
	return s.svc.PlanReset(s.ctx(ctx), req)
}

// ExecutePlan implements Service.
func (s *actorService) ExecutePlan(ctx context.Context, plan *Plan) (AuditEntry, error) {
	return s.svc.ExecutePlan(s.ctx(ctx), plan)
}

// PlanDeleteOffsets implements Service.
func (s *actorService) PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []TopicScope) (*Plan, error) {
	return s.svc.PlanDeleteOffsets(s.ctx(ctx), cluster, group, scope)
}

// PlanUndo implements Service.
func (s *actorService) PlanUndo(ctx context.Context, auditID string) (*Plan, error) {
	return s.svc.PlanUndo(s.ctx(ctx), auditID)
}

// Audit implements Service.
func (s *actorService) Audit(ctx context.Context, filter AuditFilter) ([]AuditEntry, error) {
	return s.svc.Audit(s.ctx(ctx), filter)
}

// AuditEntry implements Service.
func (s *actorService) AuditEntry(ctx context.Context, id string) (AuditEntry, error) {
	return s.svc.AuditEntry(s.ctx(ctx), id)
}

// Health implements Service.
func (s *actorService) Health(ctx context.Context) (HealthReport, error) {
	return s.svc.Health(s.ctx(ctx))
}

// Jobs implements Service.
func (s *actorService) Jobs(ctx context.Context) ([]JobStatus, error) {
	return s.svc.Jobs(s.ctx(ctx))
}

// Job implements Service.
func (s *actorService) Job(ctx context.Context, name string) (JobStatus, error) {
	return s.svc.Job(s.ctx(ctx), name)
}

// JobAction implements Service.
func (s *actorService) JobAction(ctx context.Context, name string, action JobAction, opts JobActionOptions) (AuditEntry, error) {
	return s.svc.JobAction(s.ctx(ctx), name, action, opts)
}

// JobOffsets implements Service.
func (s *actorService) JobOffsets(ctx context.Context, name string) ([]JobOffset, error) {
	return s.svc.JobOffsets(s.ctx(ctx), name)
}

// AlterJobOffsets implements Service.
func (s *actorService) AlterJobOffsets(ctx context.Context, name string, req AlterOffsetsRequest) (AuditEntry, error) {
	return s.svc.AlterJobOffsets(s.ctx(ctx), name, req)
}

// ConnectorPlugins implements Service.
func (s *actorService) ConnectorPlugins(ctx context.Context) ([]ConnectorPlugin, error) {
	return s.svc.ConnectorPlugins(s.ctx(ctx))
}

// ValidateConnector implements Service.
func (s *actorService) ValidateConnector(ctx context.Context, table map[string]any) ([]FieldProblem, error) {
	return s.svc.ValidateConnector(s.ctx(ctx), table)
}

// QueryStream implements Service.
func (s *actorService) QueryStream(ctx context.Context, q StreamQuery) (StreamQueryResult, error) {
	return s.svc.QueryStream(s.ctx(ctx), q)
}

// PlanStreamReset implements Service.
func (s *actorService) PlanStreamReset(ctx context.Context, req StreamResetRequest) (*StreamResetPlan, error) {
	return s.svc.PlanStreamReset(s.ctx(ctx), req)
}

// ExecuteStreamReset implements Service.
func (s *actorService) ExecuteStreamReset(ctx context.Context, plan *StreamResetPlan) (AuditEntry, error) {
	return s.svc.ExecuteStreamReset(s.ctx(ctx), plan)
}

// PlanMirrorFailover implements Service.
func (s *actorService) PlanMirrorFailover(ctx context.Context, flow, group string) (*Plan, error) {
	return s.svc.PlanMirrorFailover(s.ctx(ctx), flow, group)
}

// Workers implements Service.
func (s *actorService) Workers(ctx context.Context) (WorkersReport, error) {
	return s.svc.Workers(s.ctx(ctx))
}

// JobConfig implements Service.
func (s *actorService) JobConfig(ctx context.Context, name string) (JobConfig, error) {
	return s.svc.JobConfig(s.ctx(ctx), name)
}

// PutJob implements Service.
func (s *actorService) PutJob(ctx context.Context, req PutJobRequest) (JobConfig, bool, error) {
	return s.svc.PutJob(s.ctx(ctx), req)
}

// DeleteJob implements Service.
func (s *actorService) DeleteJob(ctx context.Context, name, command string) (AuditEntry, error) {
	return s.svc.DeleteJob(s.ctx(ctx), name, command)
}

// Close implements Service. It does nothing: the viewed service is shared
// and belongs to whoever made it.
func (s *actorService) Close() error { return nil }
