package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestCLISchemasAttached: attached to a worker that reaches a registry,
// the schemas verbs and produce --schema run in the worker (the CLI has no
// registry of its own), mutations are audited there with the caller's
// uid, and drop-slot reaches the worker (its answer for a job that is not
// postgres-cdc, exit 2 as in-process).
func TestCLISchemasAttached(t *testing.T) {
	dir := isolate(t)
	c := kafkatest.New(t)
	reg := registryOn(t, c)
	c.CreateTopic(t, "orders", 1)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: filepath.Join(dir, "worker")}}
	l, err := ops.NewLocal(cfg, ops.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv, err := api.New(l, api.WithWorkerID("w-schemas"))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), api.SocketName)
	ln, _, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	defer func() { cancel(); <-done }()

	avsc := filepath.Join(dir, "order.avsc")
	if err := os.WriteFile(avsc, []byte(orderAvsc), 0o600); err != nil {
		t.Fatal(err)
	}
	k := func(stdin string, args ...string) result {
		t.Helper()
		return kdeck(t, stdin, append([]string{"--server", "unix://" + sock}, args...)...)
	}
	r := k("", "schemas", "register", "orders-value", "--file", avsc)
	if r.code != 0 || !strings.Contains(r.out, "version 1") {
		t.Fatalf("schemas register attached: %+v", r)
	}
	r = k("", "schemas", "list")
	if r.code != 0 || !strings.Contains(r.out, "orders-value") {
		t.Fatalf("schemas list attached: %+v", r)
	}
	r = k("", "schemas", "show", "nope")
	if r.code != 2 {
		t.Fatalf("schemas show of an unknown subject attached: want exit 2, got %+v", r)
	}
	r = k(`{"id": 1, "total": "12.50", "at": 0}`+"\n"+`{"id": "two", "total": 1, "at": 0}`+"\n", "produce", "orders", "--schema", "orders-value")
	if r.code != 1 || !strings.Contains(r.err, "line 2") {
		t.Fatalf("produce --schema attached with a bad line 2: %+v", r)
	}
	r = k("", "schemas", "compatibility", "orders-value", "FULL")
	if r.code != 0 {
		t.Fatalf("set compatibility attached: %+v", r)
	}
	entries, err := l.Audit(context.Background(), ops.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, e := range entries {
		users = append(users, e.Action+" by "+e.User)
	}
	if len(entries) < 2 || !strings.HasPrefix(entries[0].User, "uid:") {
		t.Fatalf("the worker's audit log: %v", users)
	}
	r = k("", "connect", "drop-slot", "nope")
	if r.code != 2 || !strings.Contains(r.err, "nope") {
		t.Fatalf("drop-slot of an unknown job attached: %+v", r)
	}
}
