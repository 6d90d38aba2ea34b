package tui

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops/remote"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// TestSchemasScreenAttached: attached to a worker (the console holds an
// ops/remote client of the worker's API), :schemas lists and shows the
// worker's subjects as in-process.
func TestSchemasScreenAttached(t *testing.T) {
	f := tuitest.New()
	srv, err := api.New(f, api.WithWorkerID("w1"))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), api.SocketName)
	ln, _, err := api.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	c, err := remote.New("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	h := newSvcHarness(t, c, f, 120, 30)
	h.keys(":", "schemas", "enter")
	h.wantScreen("demo.payments-value", "avro")
	h.keys("enter")
	h.wantScreen("compatibility BACKWARD", "versions      1 2", "demo.payments", `"namespace": "kdeck.demo"`)
	h.keys("r")
	h.wantPage(screen.Records, "demo.payments")
}
