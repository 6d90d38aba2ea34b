package mirror

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/spec"
)

// Naming policies for remote topics.
const (
	// NamingPrefix names a remote topic SOURCE + separator + topic, as
	// MirrorMaker 2's DefaultReplicationPolicy does ("us-east.orders").
	NamingPrefix = "prefix"
	// NamingIdentity keeps the topic's name, as MirrorMaker 2's
	// IdentityReplicationPolicy does; cycles are then prevented by the
	// OriginHeader.
	NamingIdentity = "identity"
)

// Field names of a [[mirrors]] table.
const (
	FieldName               = "name"
	FieldSource             = "source"
	FieldTarget             = "target"
	FieldTopics             = "topics"
	FieldExclude            = "exclude"
	FieldGroups             = "groups"
	FieldGroupsExclude      = "groups_exclude"
	FieldNaming             = "naming"
	FieldSeparator          = "separator"
	FieldRefreshInterval    = "refresh_interval"
	FieldSyncConfigs        = "sync_configs"
	FieldExactlyOnce        = "exactly_once"
	FieldSyncGroupOffsets   = "sync_group_offsets"
	FieldCheckpointInterval = "checkpoint_interval"
	FieldHeartbeatInterval  = "heartbeat_interval"
	FieldCommitInterval     = "commit_interval"
	FieldOffsetLagMax       = "offset_lag_max"
	FieldStart              = "start"
	FieldReplicationFactor  = "replication_factor"
	FieldTasksMax           = "tasks_max"
	FieldGroupID            = "group_id"
	FieldTransactionalID    = "transactional_id"
	FieldShutdownTimeout    = "shutdown_timeout"
	FieldProducer           = "producer"
	FieldConsumer           = "consumer"
	// FieldEnabled is accepted for the supervisor (whether the job starts
	// with the worker); the runtime ignores it.
	FieldEnabled = "enabled"
)

// Producer and consumer knob names (keys of the producer and consumer
// sub-tables).
const (
	FieldLinger                 = "linger"
	FieldBatchMaxBytes          = "batch_max_bytes"
	FieldCompression            = "compression"
	FieldMaxBufferedRecords     = "max_buffered_records"
	FieldMaxBufferedBytes       = "max_buffered_bytes"
	FieldDeliveryTimeout        = "delivery_timeout"
	FieldBufferTimeout          = "buffer_timeout"
	FieldFetchMaxBytes          = "fetch_max_bytes"
	FieldFetchMaxPartitionBytes = "fetch_max_partition_bytes"
	FieldFetchMaxWait           = "fetch_max_wait"
	FieldMaxConcurrentFetches   = "max_concurrent_fetches"
	FieldMaxPollRecords         = "max_poll_records"
	FieldIsolation              = "isolation"
)

// Config is one flow, parsed from a [[mirrors]] table by ParseConfig or
// filled in by a Go caller (then call Validate, or let New do it). The zero
// value of each field means its default, written beside it.
type Config struct {
	// Name identifies the flow; required. It names the flow's consumer
	// group and internal topics.
	Name string
	// Source and Target are the cluster names (aliases); required and
	// different. Source is the prefix of remote topics under NamingPrefix.
	Source, Target string
	// Topics selects source topics by regular expression (anchored, as
	// MirrorMaker 2's topics list is); default [".*"]. Exclude removes
	// topics again. Internal topics (names starting with "__" or ending in
	// ".internal") are never mirrored; HeartbeatTopic always is.
	Topics, Exclude []string
	// Groups selects the source consumer groups whose committed offsets are
	// translated (checkpoints); default [".*"]. GroupsExclude removes groups
	// again. The flow's own group is never translated.
	Groups, GroupsExclude []string
	// Naming is NamingPrefix (default) or NamingIdentity.
	Naming string
	// Separator joins the source alias and the topic under NamingPrefix;
	// default ".".
	Separator string
	// RefreshInterval is how often topics and partitions are rediscovered;
	// default 30s.
	RefreshInterval time.Duration
	// SyncConfigs copies safe topic configs (see SafeTopicConfigs) from
	// each source topic to its remote topic, at creation and at each
	// refresh; default true (a nil pointer).
	SyncConfigs *bool
	// ExactlyOnce writes records and the flow's progress in one target-side
	// transaction; default false (at least once).
	ExactlyOnce bool
	// SyncGroupOffsets writes translated offsets to the target's consumer
	// groups while they have no members there; default false.
	SyncGroupOffsets bool
	// CheckpointInterval is how often group offsets are translated;
	// default 10s.
	CheckpointInterval time.Duration
	// HeartbeatInterval is how often a heartbeat is written into the
	// source; default 1s.
	HeartbeatInterval time.Duration
	// CommitInterval is how often acknowledged progress is committed to the
	// source group (at least once); default 1s.
	CommitInterval time.Duration
	// OffsetLagMax is the largest number of source records between two
	// offset syncs of a partition, and so the bound on records re-read
	// after a failover; default 100.
	OffsetLagMax int64
	// Start is where partitions without committed progress begin:
	// "earliest" (default) or "latest". Partitions discovered after the
	// flow started always begin at earliest.
	Start string
	// ReplicationFactor of created remote and internal topics; default -1
	// (the target broker's default).
	ReplicationFactor int16
	// GroupID is the source consumer group holding the flow's progress;
	// default "kdeck-mirror-" + Name.
	GroupID string
	// TransactionalID is the target producer's transactional id under
	// ExactlyOnce; default "kdeck-mirror-" + Name. A restarted flow with the
	// same id fences the previous instance.
	TransactionalID string
	// TasksMax splits the flow's partitions into this many shards (tasks),
	// so that the workers of a worker group share one flow (see Shards);
	// default 1. Shards need at-least-once delivery (not ExactlyOnce).
	TasksMax int
	// ShutdownTimeout bounds the final flush and commit on a graceful stop;
	// default 5s (within the supervisor's stop timeout).
	ShutdownTimeout time.Duration
	// Producer and Consumer are the client tuning knobs.
	Producer ProducerConfig
	Consumer ConsumerConfig
}

// ProducerConfig tunes the target producer. Zero values mean the defaults
// written beside each field.
type ProducerConfig struct {
	// Linger is how long a partition's batch waits for more records;
	// default 5ms.
	Linger time.Duration
	// BatchMaxBytes caps one batch; default 1 MiB.
	BatchMaxBytes int32
	// Compression is none (default), gzip, snappy, lz4 or zstd.
	Compression string
	// MaxBufferedRecords and MaxBufferedBytes bound the records buffered in
	// the producer (and so the memory the flow holds between source and
	// target); defaults 100000 records and 64 MiB. When they are full the
	// flow stops fetching (backpressure); when they stay full for
	// BufferTimeout the flow FAILS.
	MaxBufferedRecords int
	MaxBufferedBytes   int
	// DeliveryTimeout is the retry budget of a record: once it passes
	// without the target's acknowledgement the flow FAILS; default 2m.
	DeliveryTimeout time.Duration
	// BufferTimeout is how long the producer buffer may stay full before
	// the flow FAILS with a buffer overrun; default 1m.
	BufferTimeout time.Duration
}

// ConsumerConfig tunes the source consumer.
type ConsumerConfig struct {
	// FetchMaxBytes caps one fetch response; default 16 MiB.
	FetchMaxBytes int32
	// FetchMaxPartitionBytes caps one partition in a fetch; default 1 MiB.
	FetchMaxPartitionBytes int32
	// FetchMaxWait is how long a broker waits for data; default 500ms.
	FetchMaxWait time.Duration
	// MaxConcurrentFetches caps fetches in flight (and buffered); default 4.
	// Buffered source data is at most about MaxConcurrentFetches ×
	// FetchMaxBytes.
	MaxConcurrentFetches int
	// MaxPollRecords caps records handed to the producer per poll; default
	// 10000.
	MaxPollRecords int
	// Isolation is read_committed (default: aborted transactional records
	// are not mirrored) or read_uncommitted.
	Isolation string
}

// SafeTopicConfigs are the topic configs SyncConfigs copies. Everything else
// is never copied, in particular min.insync.replicas and
// unclean.leader.election.enable (durability is the target's decision),
// message.timestamp.type and message.timestamp.* (LogAppendTime would
// overwrite the preserved timestamps), *.replication.throttled.replicas and
// leader/follower placement, remote.storage.enable and local.retention.*
// (tiered storage is per cluster), and any vendor-specific config.
var SafeTopicConfigs = []string{
	"cleanup.policy", "retention.ms", "retention.bytes", "delete.retention.ms",
	"min.compaction.lag.ms", "max.compaction.lag.ms", "min.cleanable.dirty.ratio",
	"max.message.bytes", "compression.type", "segment.bytes", "segment.ms",
}

// HeartbeatTopic is the source topic heartbeats are written to (MirrorMaker
// 2's name). It is always mirrored.
const HeartbeatTopic = "heartbeats"

// OriginHeader is the record header naming the cluster a record was first
// written to; NamingIdentity flows skip records whose origin is their target.
const OriginHeader = "kdeck.mirror.origin"

// Validate checks a Config, returning a *ConfigError listing every bad field.
// It does not change c; defaults are applied by New.
func (c Config) Validate() error {
	var probs spec.Problems
	c.validate(&probs)
	return probs.Err(subject(c.Name), nil)
}

// validate records every problem of c.
func (c Config) validate(probs *spec.Problems) {
	c.validateNames(probs)
	c.validateChoices(probs)
	c.validateRanges(probs)
}

// validateNames checks the required names and the topic and group
// patterns.
func (c Config) validateNames(probs *spec.Problems) {
	if c.Name == "" {
		probs.Add(FieldName, "is required: name the flow, for example name = \"local-to-dr\"")
	}
	if c.Source == "" {
		probs.Add(FieldSource, "is required: the source cluster's name")
	}
	if c.Target == "" {
		probs.Add(FieldTarget, "is required: the target cluster's name")
	}
	if c.Source != "" && c.Source == c.Target {
		probs.Addf(FieldTarget, "must differ from source %q", c.Source)
	}
	for _, f := range []struct {
		key string
		res []string
	}{{FieldTopics, c.Topics}, {FieldExclude, c.Exclude}, {FieldGroups, c.Groups}, {FieldGroupsExclude, c.GroupsExclude}} {
		for _, r := range f.res {
			if _, err := regexp.Compile(r); err != nil {
				probs.Addf(f.key, "%q is not a regular expression: %v", r, err)
			}
		}
	}
	if strings.ContainsAny(c.Separator, " /\\") {
		probs.Addf(FieldSeparator, "is %q; use characters allowed in topic names, such as \".\" or \"_\"", c.Separator)
	}
}

// validateChoices checks the fields that take one of a few words.
func (c Config) validateChoices(probs *spec.Problems) {
	switch c.Naming {
	case "", NamingPrefix, NamingIdentity:
	default:
		probs.Addf(FieldNaming, "is %q; use %q or %q%s", c.Naming, NamingPrefix, NamingIdentity, spec.Suggest(c.Naming, []string{NamingPrefix, NamingIdentity}))
	}
	switch c.Start {
	case "", "earliest", "latest":
	default:
		probs.Addf(FieldStart, "is %q; use \"earliest\" or \"latest\"", c.Start)
	}
	if _, err := compressionCodec(c.Producer.Compression); err != nil {
		probs.Add(FieldProducer+"."+FieldCompression, err.Error())
	}
	switch c.Consumer.Isolation {
	case "", "read_committed", "read_uncommitted":
	default:
		probs.Addf(FieldConsumer+"."+FieldIsolation, "is %q; use \"read_committed\" or \"read_uncommitted\"", c.Consumer.Isolation)
	}
}

// validateRanges checks durations, sizes and counts.
func (c Config) validateRanges(probs *spec.Problems) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{FieldRefreshInterval, c.RefreshInterval}, {FieldCheckpointInterval, c.CheckpointInterval},
		{FieldHeartbeatInterval, c.HeartbeatInterval}, {FieldCommitInterval, c.CommitInterval},
		{FieldShutdownTimeout, c.ShutdownTimeout}, {FieldProducer + "." + FieldLinger, c.Producer.Linger},
		{FieldProducer + "." + FieldDeliveryTimeout, c.Producer.DeliveryTimeout},
		{FieldProducer + "." + FieldBufferTimeout, c.Producer.BufferTimeout},
		{FieldConsumer + "." + FieldFetchMaxWait, c.Consumer.FetchMaxWait}} {
		if d.v < 0 {
			probs.Add(d.key, "must not be negative")
		}
	}
	for _, n := range []struct {
		key string
		v   int64
	}{{FieldOffsetLagMax, c.OffsetLagMax}, {FieldProducer + "." + FieldBatchMaxBytes, int64(c.Producer.BatchMaxBytes)},
		{FieldProducer + "." + FieldMaxBufferedRecords, int64(c.Producer.MaxBufferedRecords)},
		{FieldProducer + "." + FieldMaxBufferedBytes, int64(c.Producer.MaxBufferedBytes)},
		{FieldConsumer + "." + FieldFetchMaxBytes, int64(c.Consumer.FetchMaxBytes)},
		{FieldConsumer + "." + FieldFetchMaxPartitionBytes, int64(c.Consumer.FetchMaxPartitionBytes)},
		{FieldConsumer + "." + FieldMaxConcurrentFetches, int64(c.Consumer.MaxConcurrentFetches)},
		{FieldConsumer + "." + FieldMaxPollRecords, int64(c.Consumer.MaxPollRecords)}} {
		if n.v < 0 {
			probs.Add(n.key, "must not be negative")
		}
	}
	if c.ReplicationFactor < -1 {
		probs.Add(FieldReplicationFactor, "must be -1 (the broker's default) or positive")
	}
	if c.TasksMax < 0 || c.TasksMax > 1000 {
		probs.Add(FieldTasksMax, "must be 1 to 1000")
	}
	if c.TasksMax > 1 && c.ExactlyOnce {
		probs.Add(FieldTasksMax, "a flow with exactly_once runs as one task: remove tasks_max or exactly_once")
	}
}

func compressionCodec(s string) ([]kgo.CompressionCodec, error) {
	switch s {
	case "", "none":
		return []kgo.CompressionCodec{kgo.NoCompression()}, nil
	case "gzip":
		return []kgo.CompressionCodec{kgo.GzipCompression()}, nil
	case "snappy":
		return []kgo.CompressionCodec{kgo.SnappyCompression()}, nil
	case "lz4":
		return []kgo.CompressionCodec{kgo.Lz4Compression()}, nil
	case "zstd":
		return []kgo.CompressionCodec{kgo.ZstdCompression()}, nil
	}
	return nil, fmt.Errorf("is %q; use none, gzip, snappy, lz4 or zstd", s)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if len(c.Topics) == 0 {
		c.Topics = []string{".*"}
	}
	if len(c.Groups) == 0 {
		c.Groups = []string{".*"}
	}
	if c.Naming == "" {
		c.Naming = NamingPrefix
	}
	if c.Separator == "" {
		c.Separator = "."
	}
	if c.SyncConfigs == nil {
		t := true
		c.SyncConfigs = &t
	}
	def(&c.RefreshInterval, 30*time.Second)
	def(&c.CheckpointInterval, 10*time.Second)
	def(&c.HeartbeatInterval, time.Second)
	def(&c.CommitInterval, time.Second)
	def(&c.ShutdownTimeout, 5*time.Second)
	if c.OffsetLagMax == 0 {
		c.OffsetLagMax = 100
	}
	if c.Start == "" {
		c.Start = "earliest"
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.TasksMax == 0 {
		c.TasksMax = 1
	}
	if c.GroupID == "" {
		c.GroupID = "kdeck-mirror-" + c.Name
	}
	if c.TransactionalID == "" {
		c.TransactionalID = "kdeck-mirror-" + c.Name
	}
	c.Producer = c.Producer.withDefaults()
	c.Consumer = c.Consumer.withDefaults()
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withDefaults returns pc with every zero field set to its default.
func (pc ProducerConfig) withDefaults() ProducerConfig {
	def(&pc.Linger, 5*time.Millisecond)
	def(&pc.DeliveryTimeout, 2*time.Minute)
	def(&pc.BufferTimeout, time.Minute)
	if pc.BatchMaxBytes == 0 {
		pc.BatchMaxBytes = 1 << 20
	}
	if pc.MaxBufferedRecords == 0 {
		pc.MaxBufferedRecords = 100_000
	}
	if pc.MaxBufferedBytes == 0 {
		pc.MaxBufferedBytes = 64 << 20
	}
	return pc
}

// withDefaults returns cc with every zero field set to its default.
func (cc ConsumerConfig) withDefaults() ConsumerConfig {
	if cc.FetchMaxBytes == 0 {
		cc.FetchMaxBytes = 16 << 20
	}
	if cc.FetchMaxPartitionBytes == 0 {
		cc.FetchMaxPartitionBytes = 1 << 20
	}
	def(&cc.FetchMaxWait, 500*time.Millisecond)
	if cc.MaxConcurrentFetches == 0 {
		cc.MaxConcurrentFetches = 4
	}
	if cc.MaxPollRecords == 0 {
		cc.MaxPollRecords = 10_000
	}
	if cc.Isolation == "" {
		cc.Isolation = "read_committed"
	}
	return cc
}

// def sets *p to v when *p is the zero value.
func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
