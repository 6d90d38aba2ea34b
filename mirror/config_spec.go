package mirror

import (
	"fmt"
	"sort"

	"github.com/kdeck/kdeck/spec"
)

// Every field is optional in the declaration: an absent field parses as
// its zero value, which New (withDefaults) turns into the default written
// in its description; Validate reports the required ones by name.
var (
	producerSpec = spec.New("Tuning of the target producer.",
		spec.NewField(FieldLinger, spec.TypeDuration).Optional().Description("How long a partition's batch waits for more records; default 5ms."),
		spec.NewField(FieldBatchMaxBytes, spec.TypeInt).Optional().Description("Largest batch; default 1 MiB."),
		spec.NewField(FieldCompression, spec.TypeString).Optional().Description("none (default), gzip, snappy, lz4 or zstd."),
		spec.NewField(FieldMaxBufferedRecords, spec.TypeInt).Optional().Description("Records buffered in the producer before the flow stops fetching; default 100000."),
		spec.NewField(FieldMaxBufferedBytes, spec.TypeInt).Optional().Description("Bytes buffered in the producer before the flow stops fetching; default 64 MiB."),
		spec.NewField(FieldDeliveryTimeout, spec.TypeDuration).Optional().Description("Retry budget of a record before the flow fails; default 2m."),
		spec.NewField(FieldBufferTimeout, spec.TypeDuration).Optional().Description("How long the producer buffer may stay full before the flow fails; default 1m."),
	)
	consumerSpec = spec.New("Tuning of the source consumer.",
		spec.NewField(FieldFetchMaxBytes, spec.TypeInt).Optional().Description("Largest fetch response; default 16 MiB."),
		spec.NewField(FieldFetchMaxPartitionBytes, spec.TypeInt).Optional().Description("Largest share of one partition in a fetch; default 1 MiB."),
		spec.NewField(FieldFetchMaxWait, spec.TypeDuration).Optional().Description("How long a broker waits for data; default 500ms."),
		spec.NewField(FieldMaxConcurrentFetches, spec.TypeInt).Optional().Description("Fetches in flight; default 4."),
		spec.NewField(FieldMaxPollRecords, spec.TypeInt).Optional().Description("Records handed to the producer per poll; default 10000."),
		spec.NewField(FieldIsolation, spec.TypeString).Optional().Description("read_committed (default) or read_uncommitted."),
	)
	// flowSpec declares a [[mirrors]] table.
	flowSpec = spec.New("A mirror flow: copies topics of a source cluster into remote topics of a target cluster.",
		spec.NewField(FieldName, spec.TypeString).Optional().Description("Names the flow, its consumer group and internal topics; required."),
		spec.NewField(FieldSource, spec.TypeString).Optional().Description("The source cluster's name; required."),
		spec.NewField(FieldTarget, spec.TypeString).Optional().Description("The target cluster's name; required, different from source."),
		spec.NewField(FieldTopics, spec.TypeStrings).Optional().KeepCommas().Description(`Regular expressions (anchored) selecting source topics; default [".*"].`),
		spec.NewField(FieldExclude, spec.TypeStrings).Optional().KeepCommas().Description("Regular expressions of topics not to mirror."),
		spec.NewField(FieldGroups, spec.TypeStrings).Optional().KeepCommas().Description(`Regular expressions of the consumer groups whose offsets are translated; default [".*"].`),
		spec.NewField(FieldGroupsExclude, spec.TypeStrings).Optional().KeepCommas().Description("Regular expressions of groups not to translate."),
		spec.NewField(FieldNaming, spec.TypeString).Optional().Description("prefix (default: SOURCE.topic) or identity."),
		spec.NewField(FieldSeparator, spec.TypeString).Optional().Description(`Joins source and topic under prefix naming; default ".".`),
		spec.NewField(FieldRefreshInterval, spec.TypeDuration).Optional().Description("How often topics and partitions are rediscovered; default 30s."),
		spec.NewField(FieldSyncConfigs, spec.TypeBool).Optional().Description("Copy safe topic configs to remote topics; default true."),
		spec.NewField(FieldExactlyOnce, spec.TypeBool).Optional().Description("Write records and progress in one target transaction; default false."),
		spec.NewField(FieldSyncGroupOffsets, spec.TypeBool).Optional().Description("Write translated offsets to the target's idle groups; default false."),
		spec.NewField(FieldCheckpointInterval, spec.TypeDuration).Optional().Description("How often group offsets are translated; default 10s."),
		spec.NewField(FieldHeartbeatInterval, spec.TypeDuration).Optional().Description("How often a heartbeat is written into the source; default 1s."),
		spec.NewField(FieldCommitInterval, spec.TypeDuration).Optional().Description("How often progress is committed (at least once); default 1s."),
		spec.NewField(FieldOffsetLagMax, spec.TypeInt).Optional().Description("Most source records between two offset syncs of a partition; default 100."),
		spec.NewField(FieldStart, spec.TypeString).Optional().Description("Where partitions without progress begin: earliest (default) or latest."),
		spec.NewField(FieldReplicationFactor, spec.TypeInt).Optional().Description("Replication factor of created topics; default -1 (the broker's)."),
		spec.NewField(FieldGroupID, spec.TypeString).Optional().Description("Source group holding the flow's progress; default kdeck-mirror-NAME."),
		spec.NewField(FieldTransactionalID, spec.TypeString).Optional().Description("Transactional id under exactly_once; default kdeck-mirror-NAME."),
		spec.NewField(FieldShutdownTimeout, spec.TypeDuration).Optional().Description("Bound of the final flush and commit; default 5s."),
		spec.NewField(FieldProducer, spec.TypeTable).Optional().Fields(producerSpec).Description("Target producer tuning ([mirrors.producer])."),
		spec.NewField(FieldConsumer, spec.TypeTable).Optional().Fields(consumerSpec).Description("Source consumer tuning ([mirrors.consumer])."),
		spec.NewField(FieldEnabled, spec.TypeBool).Optional().Description("Whether the flow starts with the worker (the supervisor's key)."),
		spec.NewField(FieldTasksMax, spec.TypeInt).Optional().Description("Shards the flow's partitions split into; default 1."),
	)
)

// Spec returns the declaration of a [[mirrors]] table: its keys, types and
// documentation.
func Spec() *spec.Spec { return flowSpec }

// ParseConfig decodes and validates one [[mirrors]] table, reporting every
// bad field at once (by path, "producer.linger", with suggestions for
// misspelt keys) in a *ConfigError.
func ParseConfig(table map[string]any) (Config, error) {
	var probs spec.Problems
	p := flowSpec.Decode(table, &probs)
	c := configOf(p)
	c.validate(&probs)
	if probs.Len() > 0 {
		errs := dedupe(probs.List())
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
		return Config{}, &ConfigError{Subject: subject(c.Name), Fields: errs}
	}
	return c, nil
}

// configOf fills a Config from a decoded [[mirrors]] table.
func configOf(p *spec.Parsed) Config {
	c := Config{
		Name: p.String(FieldName), Source: p.String(FieldSource), Target: p.String(FieldTarget),
		Topics: p.Strings(FieldTopics), Exclude: p.Strings(FieldExclude),
		Groups: p.Strings(FieldGroups), GroupsExclude: p.Strings(FieldGroupsExclude),
		Naming: p.String(FieldNaming), Separator: p.String(FieldSeparator),
		RefreshInterval: p.Duration(FieldRefreshInterval), ExactlyOnce: p.Bool(FieldExactlyOnce),
		SyncGroupOffsets: p.Bool(FieldSyncGroupOffsets), CheckpointInterval: p.Duration(FieldCheckpointInterval),
		HeartbeatInterval: p.Duration(FieldHeartbeatInterval), CommitInterval: p.Duration(FieldCommitInterval),
		OffsetLagMax: p.Int(FieldOffsetLagMax), Start: p.String(FieldStart),
		ReplicationFactor: int16(p.Int(FieldReplicationFactor)), TasksMax: int(p.Int(FieldTasksMax)),
		GroupID: p.String(FieldGroupID), TransactionalID: p.String(FieldTransactionalID),
		ShutdownTimeout: p.Duration(FieldShutdownTimeout),
	}
	if p.Has(FieldSyncConfigs) {
		b := p.Bool(FieldSyncConfigs)
		c.SyncConfigs = &b
	}
	pp := p.Sub(FieldProducer)
	c.Producer = ProducerConfig{Linger: pp.Duration(FieldLinger), BatchMaxBytes: int32(pp.Int(FieldBatchMaxBytes)),
		Compression: pp.String(FieldCompression), MaxBufferedRecords: int(pp.Int(FieldMaxBufferedRecords)),
		MaxBufferedBytes: int(pp.Int(FieldMaxBufferedBytes)), DeliveryTimeout: pp.Duration(FieldDeliveryTimeout),
		BufferTimeout: pp.Duration(FieldBufferTimeout)}
	cp := p.Sub(FieldConsumer)
	c.Consumer = ConsumerConfig{FetchMaxBytes: int32(cp.Int(FieldFetchMaxBytes)), FetchMaxPartitionBytes: int32(cp.Int(FieldFetchMaxPartitionBytes)),
		FetchMaxWait: cp.Duration(FieldFetchMaxWait), MaxConcurrentFetches: int(cp.Int(FieldMaxConcurrentFetches)),
		MaxPollRecords: int(cp.Int(FieldMaxPollRecords)), Isolation: cp.String(FieldIsolation)}
	return c
}

// subject names a flow in its errors: `mirror "NAME"`, or "mirror".
func subject(name string) string {
	if name == "" {
		return "mirror"
	}
	return fmt.Sprintf("mirror %q", name)
}

func dedupe(in []FieldError) []FieldError {
	seen := map[FieldError]bool{}
	out := make([]FieldError, 0, len(in))
	for _, e := range in {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
