// Command seedgroups fills a cluster with consumer groups for the
// side-by-side benchmarks (scripts/bench-real.sh): it creates a topic,
// writes records to it and commits offsets for N groups, each behind the
// log end by a different amount, so every group has lag to report.
//
//	go run ./testing/realkafka/seedgroups -brokers 127.0.0.1:9092 -groups 1000
//
// Groups are named PREFIX-0000 ... and have no members (state Empty), as
// groups look to kafka-consumer-groups between deployments.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap brokers, comma separated")
	groups := flag.Int("groups", 1000, "number of consumer groups to create")
	prefix := flag.String("prefix", "bench", "group name prefix")
	topic := flag.String("topic", "bench-orders", "topic the groups consume")
	partitions := flag.Int("partitions", 4, "partitions of the topic")
	records := flag.Int("records", 100, "records per partition")
	timeout := flag.Duration("timeout", 5*time.Minute, "overall time limit")
	flag.Parse()
	if err := run(*brokers, *groups, *prefix, *topic, int32(*partitions), *records, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "seedgroups:", err)
		os.Exit(1)
	}
}

func run(brokers string, groups int, prefix, topic string, partitions int32, records int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if r, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil || (r.Err != nil && !strings.Contains(r.Err.Error(), "TOPIC_ALREADY_EXISTS")) {
		return fmt.Errorf("create topic %s: %v %v", topic, err, r.Err)
	}
	var recs []*kgo.Record
	for p := range partitions {
		for i := range records {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "value-%d-%d", p, i)})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	// Commit with a few workers; each group gets its own lag.
	work := make(chan int)
	errs := make(chan error, groups)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for g := range work {
				os := kadm.Offsets{}
				for p := range partitions {
					os.Add(kadm.Offset{Topic: topic, Partition: p, At: int64((g + int(p)) % records), LeaderEpoch: -1})
				}
				r, err := adm.CommitOffsets(ctx, fmt.Sprintf("%s-%04d", prefix, g), os)
				if err == nil {
					err = r.Error()
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	fmt.Printf("seeded %d groups on %s (topic %s, %d partitions x %d records)\n", groups, brokers, topic, partitions, records)
	return nil
}
