// Command loadgen produces load and measures its way through a program
// under test for the side-by-side benchmarks (scripts/bench-mirror.sh,
// scripts/bench-streams.sh), whichever program it is (Apache MirrorMaker 2
// or Kafka Streams, or kdeck's mirror or stream job):
//
//	loadgen produce -source A -topic t -records 2000000            # fill a topic
//	loadgen await   -target B -topic src.t -records 2000000        # wait until a topic holds them
//	loadgen latency -source A -target B -topic t -remote src.t     # end-to-end latency of probes
//	loadgen await-group -source A -topic t -group app              # wait until a group consumed the topic
//	loadgen counts -source A -topic out -shape streams|kdeck       # sum a windowed count's final counts
//
// produce -keys K uses K distinct keys (default: every record its own) and
// -span D spreads event timestamps evenly over the last D.
// Each subcommand prints one line of key=value figures and exits non-zero
// when its time limit passes first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen produce|await|await-group|counts|latency [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	source := fs.String("source", "", "source cluster bootstrap brokers")
	target := fs.String("target", "", "target cluster bootstrap brokers")
	topic := fs.String("topic", "bench-mirror", "source topic")
	remote := fs.String("remote", "", "remote topic on the target (await, latency)")
	records := fs.Int("records", 2_000_000, "records to produce or await")
	size := fs.Int("size", 100, "value size in bytes")
	partitions := fs.Int("partitions", 4, "partitions of the source topic")
	probes := fs.Int("probes", 200, "latency probes")
	keys := fs.Int("keys", 0, "distinct keys (0: every record its own key)")
	span := fs.Duration("span", 0, "spread event timestamps over the last D (0: now)")
	group := fs.String("group", "", "consumer group (await-group)")
	shape := fs.String("shape", "", "output shape (counts): streams or kdeck")
	timeout := fs.Duration("timeout", 15*time.Minute, "time limit")
	_ = fs.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(ctx, *source, *topic, int32(*partitions), *records, *size, *keys, *span)
	case "await":
		if *remote == "" {
			*remote = *topic
		}
		err = await(ctx, *target, *remote, *records)
	case "await-group":
		err = awaitGroup(ctx, *source, *topic, *group)
	case "counts":
		err = counts(ctx, *source, *topic, *shape)
	case "latency":
		err = latency(ctx, *source, *target, *topic, *remote, *probes)
	default:
		err = fmt.Errorf("unknown subcommand %q: use produce, await, await-group, counts or latency", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func client(brokers string, o ...kgo.Opt) (*kgo.Client, error) {
	if brokers == "" {
		return nil, errors.New("brokers are required (-source / -target)")
	}
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...)}, o...)...)
}

func produce(ctx context.Context, brokers, topic string, partitions int32, n, size, keys int, span time.Duration) error {
	cl, err := client(brokers, kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(200_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	r, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	val := []byte(strings.Repeat("x", size))
	start := time.Now()
	t0 := start.Add(-span)
	errc := make(chan error, 1)
	for i := range n {
		k := i
		if keys > 0 {
			k = i % keys
		}
		ts := start
		if span > 0 {
			ts = t0.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		}
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: strconv.AppendInt(nil, int64(k), 10), Value: val, Timestamp: ts}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	took := time.Since(start)
	fmt.Printf("produced=%d seconds=%.2f records_per_s=%.0f\n", n, took.Seconds(), float64(n)/took.Seconds())
	return nil
}

// await polls the remote topic's end offsets until they add up to n.
func await(ctx context.Context, brokers, topic string, n int) error {
	cl, err := client(brokers, kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	start := time.Now()
	var first time.Time
	for {
		var total int64
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil {
					total += o.Offset
				}
			})
		}
		if total > 0 && first.IsZero() {
			first = time.Now()
		}
		if total >= int64(n) {
			done := time.Now()
			fmt.Printf("records=%d seconds_from_start=%.2f seconds_from_first=%.2f records_per_s=%.0f\n",
				total, done.Sub(start).Seconds(), done.Sub(first).Seconds(), float64(n)/done.Sub(first).Seconds())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("target topic %s holds %d of %d records at the time limit", topic, total, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// awaitGroup polls group's committed offsets on topic until they reach
// the end offsets (lag 0), and reports the time from its start.
func awaitGroup(ctx context.Context, brokers, topic, group string) error {
	if group == "" {
		return errors.New("-group is required")
	}
	cl, err := client(brokers, kgo.MetadataMinAge(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	start := time.Now()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	var lag int64
	for {
		offs, err := adm.FetchOffsetsForTopics(ctx, group, topic)
		if err == nil {
			lag = 0
			ends.Each(func(o kadm.ListedOffset) {
				c, ok := offs.Lookup(o.Topic, o.Partition)
				if !ok || c.At < 0 {
					lag += o.Offset
				} else {
					lag += o.Offset - c.At
				}
			})
			if lag <= 0 {
				took := time.Since(start)
				fmt.Printf("records=%d seconds=%.2f records_per_s=%.0f\n", total, took.Seconds(), float64(total)/took.Seconds())
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("group %s still lags %d records on %s at the time limit", group, lag, topic)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// latency produces probes to the source, each carrying its send time, and
// reads them from the remote topic: receive time minus send time.
func latency(ctx context.Context, source, target, topic, remote string, probes int) error {
	prod, err := client(source, kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer prod.Close()
	cons, err := client(target, kgo.ConsumeTopics(remote), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer cons.Close()
	// Join the remote topic at its end before the first probe.
	for range 3 {
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		cons.PollFetches(pctx)
		cancel()
	}
	got := make(chan []time.Duration, 1)
	go func() {
		var lat []time.Duration
		for len(lat) < probes && ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				if v, ok := strings.CutPrefix(string(r.Value), "probe-"); ok {
					if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
						lat = append(lat, now.Sub(time.Unix(0, ns)))
					}
				}
			})
		}
		got <- lat
	}()
	for range probes {
		v := "probe-" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	lat := <-got
	if len(lat) < probes {
		return fmt.Errorf("%d of %d probes arrived before the time limit", len(lat), probes)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("probes=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", len(lat), pct(0.5), pct(0.99), pct(1))
	return nil
}
