// Command mirrorworker runs one mirror flow until it is killed; the SIGKILL
// tests of package mirror start it as a subprocess.
//
//	mirrorworker -source 127.0.0.1:9092 -target 127.0.0.1:9093 -name ab [-eos]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/mirror"
)

func main() {
	src := flag.String("source", "", "source bootstrap addresses, comma separated")
	tgt := flag.String("target", "", "target bootstrap addresses, comma separated")
	name := flag.String("name", "ab", "flow name")
	eos := flag.Bool("eos", false, "exactly once")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := mirror.Config{Name: *name, Source: "a", Target: "b", ExactlyOnce: *eos,
		Exclude: []string{mirror.HeartbeatTopic}, CommitInterval: 50 * time.Millisecond,
		RefreshInterval: time.Second, CheckpointInterval: time.Second}
	cfg.Consumer.MaxPollRecords = 200
	o := func(addrs string) []kgo.Opt {
		return []kgo.Opt{kgo.SeedBrokers(strings.Split(addrs, ",")...), kgo.MetadataMinAge(100 * time.Millisecond)}
	}
	level := slog.LevelWarn
	if os.Getenv("MIRROR_WORKER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	f, err := mirror.New(cfg, o(*src), o(*tgt), mirror.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
