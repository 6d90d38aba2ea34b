// Package streams is kdeck's stream processor: Kafka Streams' job as a Go
// library. A Topology describes steps over records (filter, map, flat-map,
// branch, merge), keyed aggregation into tables (with a repartition topic when
// grouping by a new key), tumbling and hopping windows with a grace period,
// tables materialised from compacted or change-data-capture topics, and
// stream-table and windowed stream-stream joins. A Job runs a topology as a
// member of a consumer group named by the application id: each input
// partition is a task, and each task keeps its state in local Pebble stores
// backed by compacted changelog topics, so that state moves with partitions.
//
//	top := streams.NewTopology("orders-per-customer")
//	top.Stream("orders", []string{"demo.orders"}).
//		Filter("positive", func(r streams.Record) (bool, error) { return len(r.Value) > 0, nil }).
//		GroupBy("by-customer", func(r streams.Record) ([]byte, error) { return customer(r), nil }).
//		Windowed(streams.Tumbling(time.Minute).WithGrace(10*time.Second)).
//		Aggregate("totals", streams.Count(), streams.EmitFinal).
//		To("out", "orders-per-customer-1m")
//	job, err := streams.New(top, []kgo.Opt{kgo.SeedBrokers("localhost:9092")},
//		streams.DataDir("/var/lib/kdeck/streams"))
//	if err != nil { ... }
//	err = job.Run(ctx) // blocks until ctx is cancelled or the job fails
//
// Declarative jobs ([[streams]] tables in kdeck's TOML) are declared with
// package spec (Spec), parsed by ParseJob (a *JobError, a spec.Error, names
// every bad field by path) and compile to the same topology (JobSpec.Build).
//
// Internal names are derived from the application id and the step names the
// user gives: APP-STORE-changelog for a store's changelog and
// APP-NAME-repartition for a GroupBy step, never from a position counter.
package streams
