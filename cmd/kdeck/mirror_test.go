package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/mirror"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMirrorCommands(t *testing.T) {
	a := kafkatest.New(t, kafkatest.Name("a"))
	b := kafkatest.New(t, kafkatest.Name("b"))
	a.CreateTopic(t, "orders", 1)
	a.ProduceN(t, "orders", 10)
	a.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 10}})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kdeck.toml")
	os.WriteFile(cfg, []byte(a.TOML()+b.TOML()+`
[ops]
data_dir = "`+dir+`"

[[mirrors]]
name = "ab"
source = "a"
target = "b"
topics = ["orders"]
`), 0o644)
	// A flow run here writes the checkpoints 'failover' reads.
	f, err := mirror.New(mirror.Config{Name: "ab", Source: "a", Target: "b", Topics: []string{"orders"}, CheckpointInterval: 100 * time.Millisecond},
		[]kgo.Opt{kgo.SeedBrokers(a.Addrs()...)}, []kgo.Opt{kgo.SeedBrokers(b.Addrs()...)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ctx, cancel := contextWithCancel()
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	kafkatest.WaitFor(t, 20*time.Second, "a checkpoint", func() bool {
		code, _, _ := runKdeck(t, "--config", cfg, "mirror", "failover", "billing", "--flow", "ab")
		return code == 0
	})
	for _, tc := range []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"mirror", "list"}, 0, "UNASSIGNED", ""},
		{[]string{"mirror", "list", "-o", "json"}, 0, `"kind": "mirror"`, ""},
		{[]string{"mirror", "status", "ab"}, 0, "not hosted by this process", ""},
		{[]string{"mirror", "pause", "ab"}, 3, "", "this process hosts no jobs"},
		{[]string{"mirror", "failover", "billing"}, 2, "", "--flow is required"},
		{[]string{"mirror", "failover", "billing", "--flow", "ba"}, 2, "", `no mirror flow "ba"`},
		{[]string{"mirror", "failover", "billing", "--flow", "ab"}, 0, "a.orders", "Dry run"},
		{[]string{"mirror", "failover", "billing", "--flow", "ab", "--execute"}, 0, "Executed", ""},
		{[]string{"config", "validate"}, 0, "is valid", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runKdeck(t, append([]string{"--config", cfg}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.out) || !strings.Contains(out+errOut, tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	if c := b.Committed(t, "billing")["a.orders"]; c[0] != 10 {
		t.Fatalf("billing in b after failover: %v", c)
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
