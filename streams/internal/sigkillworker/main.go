// Command sigkillworker runs a windowed-sum stream job until it is killed.
// The streams package's SIGKILL test builds it, kills it repeatedly and
// checks the final sums.
//
//	sigkillworker -brokers 127.0.0.1:9092 -dir /tmp/state -guarantee exactly_once
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/streams"
)

func main() {
	brokers := flag.String("brokers", "", "bootstrap brokers, comma separated")
	dir := flag.String("dir", "", "data dir")
	guarantee := flag.String("guarantee", "at_least_once", "at_least_once or exactly_once")
	app := flag.String("app", "sigkill", "application id")
	instance := flag.String("instance", "w1", "static instance id")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *brokers, *dir, *guarantee, *app, *instance); err != nil {
		fmt.Fprintln(os.Stderr, "sigkillworker:", err)
		os.Exit(1)
	}
}

// Topology builds the job: input "amounts" keyed by account, value an
// integer; tumbling 1s windows, final sums to "sums".
func Topology(app string) *streams.Topology {
	top := streams.NewTopology(app)
	top.Stream("amounts", []string{"amounts"}).GroupByKey().
		Windowed(streams.Tumbling(time.Second)).
		Aggregate("sums", streams.Sum(func(r streams.Record) (float64, error) {
			return strconv.ParseFloat(string(r.Value), 64)
		}), streams.EmitFinal).
		To("out", "sums")
	return top
}

func run(ctx context.Context, brokers, dir, guarantee, app, instance string) error {
	job, err := streams.New(Topology(app),
		[]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.SessionTimeout(6 * time.Second)},
		streams.DataDir(dir), streams.WithGuarantee(streams.Guarantee(guarantee)),
		streams.MaxPollRecords(50), streams.InstanceID(instance))
	if err != nil {
		return err
	}
	return job.Run(ctx)
}
