// Package mirror is kdeck's cross-cluster replication runtime, MirrorMaker
// 2's job: a Flow copies the selected topics of a source cluster into remote
// topics of a target cluster, preserving partition, key, value, headers and
// timestamp, commits its progress only after the target acknowledged the
// records, translates consumer group offsets (offset syncs and checkpoints),
// prevents cycles in active-active topologies and measures replication
// latency with heartbeats.
//
//	cfg, err := mirror.ParseConfig(job.Table) // a [[mirrors]] table
//	if err != nil {
//		return err // *mirror.ConfigError (a spec.Error): every bad field, by path
//	}
//	f, err := mirror.New(cfg, sourceOpts, targetOpts, mirror.WithLogger(l))
//	if err != nil {
//		return err
//	}
//	go f.Run(ctx) // blocks until ctx ends (nil) or the flow FAILS (error)
//	st := f.Status()
//
// Goroutines: Run owns everything it starts: the fetch-and-produce loop
// runs in Run's own goroutine; one housekeeping goroutine commits progress,
// writes offset syncs, heartbeats and checkpoints, rediscovers topics and
// watches the producer buffer; franz-go's clients own theirs. All stop before
// Run returns. Lock order: Flow.mu before partition.mu; neither is held
// while calling Kafka.
//
// Memory is bounded by configuration, not by backlog: the consumer buffers
// at most about MaxConcurrentFetches × FetchMaxBytes, the producer at most
// MaxBufferedRecords / MaxBufferedBytes; when the producer is full the loop
// blocks (the source is no longer fetched), and when it stays full for
// BufferTimeout the flow FAILS with ErrBufferOverrun.
//
// The package never imports ops or tui.
package mirror
