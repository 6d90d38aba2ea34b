package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// countsIdle is how long the output must stay silent before counts takes
// it as read to its end (the job is stopped when counts runs).
const countsIdle = 3 * time.Second

// counts reads a windowed count's output topic from its start (read
// committed), keeps the last count of each key and window, and prints their
// sum and number: the records the job counted, to compare with the input.
// shape says how the output is written: "streams" (Kafka Streams'
// WindowedCount: key "KEY@WINDOW_START", value a big-endian long) or
// "kdeck" (a [[streams]] aggregate: key the group key, value
// {"value": N, "window_start": ...}).
func counts(ctx context.Context, brokers, topic, shape string) error {
	if shape != "streams" && shape != "kdeck" {
		return fmt.Errorf("-shape %q: use streams or kdeck", shape)
	}
	cl, err := client(brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	last := map[string]int64{}
	read := 0
	for {
		pctx, cancel := context.WithTimeout(ctx, countsIdle)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("read %d records of %s at the time limit", read, topic)
		}
		if fs.Empty() || pctx.Err() != nil && fs.NumRecords() == 0 {
			break
		}
		var rerr error
		fs.EachRecord(func(r *kgo.Record) {
			read++
			switch shape {
			case "streams":
				if len(r.Value) != 8 {
					rerr = fmt.Errorf("offset %d: value of %d bytes, want a long", r.Offset, len(r.Value))
					return
				}
				last[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value))
			case "kdeck":
				var v struct {
					Value       float64 `json:"value"`
					WindowStart string  `json:"window_start"`
				}
				if err := json.Unmarshal(r.Value, &v); err != nil {
					rerr = fmt.Errorf("offset %d: %w", r.Offset, err)
					return
				}
				last[string(r.Key)+"@"+v.WindowStart] = int64(v.Value)
			}
		})
		if rerr != nil {
			return rerr
		}
	}
	var sum int64
	for _, n := range last {
		sum += n
	}
	fmt.Printf("output_records=%d windows=%d counted=%d\n", read, len(last), sum)
	return nil
}
