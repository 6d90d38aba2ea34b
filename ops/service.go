// Package ops is kdeck's operations layer: the Service interface that the TUI
// and the CLI call, and Local, its embedded implementation over franz-go.
//
//	svc, err := ops.NewLocal(cfg, ops.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	defer svc.Close()
//	groups, err := svc.ListGroups(ctx, "prod")
//
// Every mutation passes through ops, which validates it, records it in the
// audit log and refuses it in read-only mode (ErrReadOnly).
//
// ops holds the Service, Local and the job supervisor; its concerns that
// need no cluster client live in packages of their own, which ops uses and
// whose names it re-exports for its callers: ops/audit (the audit log),
// ops/plan (offset plans and the CSV plan format), ops/lag (lag statuses
// and the sampled windows), ops/demo (the embedded default's demo traffic)
// and ops/workergroup (worker groups). ops/remote is a Service over a
// worker's API.
package ops

import (
	"context"
	"iter"
	"time"

	"github.com/kdeck/kdeck/ops/lag"
)

// Service is the seam between kdeck's faces (tui, cmd) and what it operates.
// Local implements it in-process; a remote client of a worker implements it
// over HTTP. All methods are safe to call concurrently and honour ctx.
//
// The cluster argument names a configured cluster; "" means the default
// cluster (see Info).
type Service interface {
	// Info describes this service: clusters, default cluster, read-only.
	Info() Info

	// Clusters reports every configured cluster, reachable or not; an
	// unreachable cluster carries its error rather than failing the call.
	Clusters(ctx context.Context) ([]ClusterInfo, error)
	// Cluster reports one cluster; an unreachable one is an error.
	Cluster(ctx context.Context, cluster string) (ClusterInfo, error)

	// ListTopics lists topics with partition counts and record totals.
	ListTopics(ctx context.Context, cluster string, opts ListTopicsOptions) ([]TopicSummary, error)
	// DescribeTopic returns one topic's partitions and configs.
	DescribeTopic(ctx context.Context, cluster, topic string) (TopicDetail, error)
	// CreateTopic creates a topic. Audited; refused in read-only mode.
	CreateTopic(ctx context.Context, cluster string, req CreateTopicRequest) error
	// DeleteTopic deletes a topic. Audited; refused in read-only mode.
	DeleteTopic(ctx context.Context, cluster, topic string) error

	// ListGroups lists consumer groups (classic and KIP-848) with lag.
	ListGroups(ctx context.Context, cluster string) ([]GroupSummary, error)
	// DescribeGroup returns a group's members and per-partition offsets,
	// lag and time lag. ErrGroupNotFound when the group does not exist.
	DescribeGroup(ctx context.Context, cluster, group string) (GroupDetail, error)

	// ReadRecords reads records as req says and calls fn for each, in order
	// per partition, until the count is reached, ctx is done or (with
	// Follow) forever. fn returning an error stops the read with it.
	ReadRecords(ctx context.Context, cluster string, req ReadRequest, fn func(Record) error) error
	// Produce writes records to a topic and waits until every one is
	// acknowledged; it returns how many were written before any error.
	Produce(ctx context.Context, cluster, topic string, records iter.Seq2[ProduceRecord, error]) (ProduceResult, error)

	// PlanReset computes an offset reset plan without changing anything.
	PlanReset(ctx context.Context, req ResetRequest) (*Plan, error)
	// ExecutePlan applies a plan made by PlanReset (or PlanUndo,
	// PlanDeleteOffsets), refusing with ErrGroupActive when the group has
	// members and ErrGroupMoved when its offsets changed since the plan.
	ExecutePlan(ctx context.Context, plan *Plan) (AuditEntry, error)
	// PlanDeleteOffsets plans deleting a group's committed offsets for
	// the given scope, or the whole group when scope is empty.
	PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []TopicScope) (*Plan, error)
	// PlanUndo plans restoring the offsets an audit entry replaced.
	PlanUndo(ctx context.Context, auditID string) (*Plan, error)

	// Audit lists audit entries matching filter, newest first.
	Audit(ctx context.Context, filter AuditFilter) ([]AuditEntry, error)
	// AuditEntry returns one audit entry; ErrNotFound when unknown.
	AuditEntry(ctx context.Context, id string) (AuditEntry, error)

	// Health checks every cluster, job and group status.
	Health(ctx context.Context) (HealthReport, error)

	// Jobs lists connectors, mirrors and stream jobs with their state.
	Jobs(ctx context.Context) ([]JobStatus, error)
	// Job returns one job; ErrNotFound when unknown.
	Job(ctx context.Context, name string) (JobStatus, error)
	// JobAction performs a lifecycle verb on a job. Audited.
	JobAction(ctx context.Context, name string, action JobAction, opts JobActionOptions) (AuditEntry, error)
	// JobOffsets returns a job's offsets in Kafka Connect's offsets API
	// shape (source partition and offset; for sinks, kafka_topic,
	// kafka_partition and kafka_offset). Works without a running worker.
	JobOffsets(ctx context.Context, name string) ([]JobOffset, error)
	// AlterJobOffsets alters a job's offsets (a nil offset resets that
	// partition) or, with Reset, removes them all; refused unless the job
	// is STOPPED (or not hosted by this process). Audited.
	AlterJobOffsets(ctx context.Context, name string, req AlterOffsetsRequest) (AuditEntry, error)
	// ConnectorPlugins lists the connector classes and transforms with
	// their configuration fields.
	ConnectorPlugins(ctx context.Context) ([]ConnectorPlugin, error)
	// ValidateConnector checks a [[connectors]] table and returns every
	// problem by field; an empty list means valid.
	ValidateConnector(ctx context.Context, table map[string]any) ([]FieldProblem, error)

	// JobConfig returns a job's table and who owns it (its file, or the
	// API); ErrNotFound when unknown.
	JobConfig(ctx context.Context, name string) (JobConfig, error)
	// PutJob creates a job (created true) or replaces one created through
	// the API, validated as a TOML table; refused (ErrRefused) for jobs
	// declared in the configuration file. Audited; persisted by the worker.
	PutJob(ctx context.Context, req PutJobRequest) (cfg JobConfig, created bool, err error)
	// DeleteJob stops and deletes a job created through the API; refused
	// (ErrRefused) for jobs declared in the configuration file. Audited.
	DeleteJob(ctx context.Context, name, command string) (AuditEntry, error)

	// StreamService: stream jobs' store queries and resets.
	StreamService
	// MirrorFailoverPlanner: consumer group failover plans of mirror flows.
	MirrorFailoverPlanner
	// WorkerService: the workers of the worker group.
	WorkerService

	// Close stops everything the service owns (jobs, samplers, clients)
	// and waits for it, within a bounded time.
	Close() error
}

// Info describes a Service.
type Info struct {
	Clusters       []string `json:"clusters"`
	DefaultCluster string   `json:"default_cluster"`
	ReadOnly       bool     `json:"read_only"`
	// Embedded is true when the service hosts the embedded default cluster;
	// Bootstrap then holds its address.
	Embedded  bool   `json:"embedded"`
	Bootstrap string `json:"bootstrap,omitempty"`
	// SchemaRegistry is the embedded default's Schema Registry URL, "" when
	// it serves none.
	SchemaRegistry string `json:"schema_registry,omitempty"`
	DataDir        string `json:"data_dir"`
	// ConfigPath is the configuration file in use, "" for none.
	ConfigPath string `json:"config_path,omitempty"`
}

// ClusterInfo is a cluster's identity and health.
type ClusterInfo struct {
	Name       string   `json:"name"`
	Bootstrap  []string `json:"bootstrap"`
	Reachable  bool     `json:"reachable"`
	Error      string   `json:"error,omitempty"`
	ClusterID  string   `json:"cluster_id,omitempty"`
	Controller int32    `json:"controller"`
	Brokers    []Broker `json:"brokers"`
	Topics     int      `json:"topics"`
	Groups     int      `json:"groups"`
}

// Broker is one broker of a cluster.
type Broker struct {
	ID   int32   `json:"id"`
	Host string  `json:"host"`
	Port int32   `json:"port"`
	Rack *string `json:"rack,omitempty"`
}

// ListTopicsOptions filters ListTopics.
type ListTopicsOptions struct {
	// Internal includes internal topics (__consumer_offsets, ...).
	Internal bool
}

// TopicSummary is one row of a topic list.
type TopicSummary struct {
	Name              string `json:"name"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Records           int64  `json:"records"`
	Internal          bool   `json:"internal"`
}

// TopicDetail is a described topic.
type TopicDetail struct {
	Name              string            `json:"name"`
	ID                string            `json:"id"`
	Internal          bool              `json:"internal"`
	ReplicationFactor int               `json:"replication_factor"`
	Records           int64             `json:"records"`
	Partitions        []PartitionDetail `json:"partitions"`
	Configs           []ConfigEntry     `json:"configs"`
}

// PartitionDetail is one partition of a described topic.
type PartitionDetail struct {
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LogStartOffset int64   `json:"log_start_offset"`
	LogEndOffset   int64   `json:"log_end_offset"`
	Error          string  `json:"error,omitempty"`
}

// ConfigEntry is a topic config value and whether it is the default.
type ConfigEntry struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Source    string `json:"source"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// CreateTopicRequest describes a topic to create.
type CreateTopicRequest struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
}

// GroupSummary is one row of a group list.
type GroupSummary struct {
	Group    string   `json:"group"`
	State    string   `json:"state"`
	Protocol string   `json:"protocol"` // "classic" or "consumer" (KIP-848)
	Members  int      `json:"members"`
	Topics   []string `json:"topics"`
	Lag      int64    `json:"lag"`
	// TimeLagEstimate is the estimated time lag in seconds from sampled
	// log end offsets (no fetches); -1 when not yet known.
	TimeLagEstimate float64 `json:"time_lag_estimate_seconds"`
	// Status is the Burrow-style lag status (OK, WARN, STALL, STOP, REWIND),
	// or "" when not enough samples exist yet or the group is kdeck's own
	// (Owner).
	Status string `json:"status,omitempty"`
	// Owner names the kdeck job whose bookkeeping the group is ("mirror
	// NAME" for a mirror flow's progress group), "" for other groups.
	Owner string `json:"owner,omitempty"`
	Error string `json:"error,omitempty"`
}

// GroupDetail is a described group.
type GroupDetail struct {
	GroupSummary
	Coordinator int32             `json:"coordinator"`
	MemberList  []GroupMember     `json:"member_list"`
	Offsets     []PartitionOffset `json:"offsets"`
	// LagHistory is the sampled total lag, oldest first, for sparklines.
	LagHistory []LagSample `json:"lag_history,omitempty"`
}

// GroupMember is one member of a group.
type GroupMember struct {
	MemberID   string       `json:"member_id"`
	InstanceID string       `json:"instance_id,omitempty"`
	ClientID   string       `json:"client_id"`
	Host       string       `json:"host"`
	Assigned   []TopicScope `json:"assigned"`
}

// TopicScope names a topic and optionally some of its partitions (all when
// Partitions is empty).
type TopicScope struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions,omitempty"`
}

// PartitionOffset is a group's position on one partition.
type PartitionOffset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the committed offset, -1 when none (null in JSON, with
	// Lag and TimeLag: see MarshalJSON).
	Committed      int64 `json:"committed"`
	LogStartOffset int64 `json:"log_start_offset"`
	LogEndOffset   int64 `json:"log_end_offset"`
	Lag            int64 `json:"lag"`
	// TimeLag is now minus the timestamp of the next record the group would
	// read, in seconds; 0 when caught up.
	TimeLag  float64 `json:"time_lag_seconds"`
	MemberID string  `json:"member_id,omitempty"`
	ClientID string  `json:"client_id,omitempty"`
	Host     string  `json:"host,omitempty"`
	Status   string  `json:"status,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// LagSample is one point of a group's sampled lag (lag.Point).
type LagSample = lag.Point

// ReadRequest says what ReadRecords reads.
type ReadRequest struct {
	Topic string
	// Partitions restricts the read; empty means all.
	Partitions []int32
	// From is where to start: FromEarliest, FromLatest, FromOffset
	// (Offset), FromTail (the last Offset records of each partition) or
	// FromTime (Time).
	From   FromKind
	Offset int64
	Time   time.Time
	// Count stops after this many records in total; 0 means no limit
	// (then Follow or the end of the log stops the read).
	Count int
	// Follow keeps reading new records until ctx is done; without it the
	// read stops at the log end offsets seen at start.
	Follow bool
	// Decode says how keys and values are decoded through the cluster's
	// Schema Registry: "" or "none" (as read), "auto" (the wire format
	// with a schema id the registry knows), "avro", "protobuf" or
	// "json-schema" (each value must be that). See Record.ValueDecoded.
	Decode string
	// PrettyTime prints Avro timestamps as RFC 3339 in decoded JSON.
	PrettyTime bool
}

// FromKind is where a read starts.
type FromKind int

// Start positions for ReadRequest.From.
const (
	FromEarliest FromKind = iota
	FromLatest
	FromOffset
	FromTail
	FromTime
)

// Record is a record read from a topic.
type Record struct {
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Timestamp time.Time `json:"timestamp"`
	Key       []byte    `json:"key"`
	Value     []byte    `json:"value"`
	Headers   []Header  `json:"headers"`
	// KeyDecoded and ValueDecoded are set when ReadRequest.Decode decoded
	// (or failed to decode) the key or value; nil when left as read.
	KeyDecoded   *Decoded `json:"key_decoded,omitempty"`
	ValueDecoded *Decoded `json:"value_decoded,omitempty"`
}

// Header is a record header.
type Header struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// ProduceRecord is a record to produce. Partition -1 lets the partitioner
// choose (by key hash, as Kafka's default does).
type ProduceRecord struct {
	Key       []byte
	Value     []byte
	Headers   []Header
	Partition int32
}

// ProduceResult tells how a produce went.
type ProduceResult struct {
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Subject, Version and SchemaID name the schema ProduceEncoded used.
	Subject  string `json:"subject,omitempty"`
	Version  int    `json:"version,omitempty"`
	SchemaID int    `json:"schema_id,omitempty"`
	// Skipped lists the records ProduceEncoded skipped (SkipBad).
	Skipped []RecordEncodeError `json:"skipped,omitempty"`
}
