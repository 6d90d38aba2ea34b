package kafkatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestClustersAreIndependent(t *testing.T) {
	a, b := New(t, Name("a")), New(t, Name("b"))
	a.CreateTopic(t, "only-a", 2)
	a.ProduceN(t, "only-a", 10)
	if a.Addr() == b.Addr() {
		t.Fatal("same address")
	}
	tds, err := b.Admin(t).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tds.Has("only-a") {
		t.Error("cluster b sees cluster a's topic")
	}
	a.Commit(t, "g", map[string]map[int32]int64{"only-a": {0: 3, 1: 5}})
	if got := a.Committed(t, "g"); got["only-a"][0] != 3 || got["only-a"][1] != 5 {
		t.Errorf("committed = %v", got)
	}
}

func TestFaults(t *testing.T) {
	c := New(t)
	c.CreateTopic(t, "t", 1)
	remove := c.FailRequests(kmsg.ListOffsets, 2, kerr.UnknownServerError)
	defer remove()
	adm := c.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A non-retriable error reaches the caller twice; the third request succeeds.
	var errs int
	for range 3 {
		lo, err := adm.ListEndOffsets(ctx, "t")
		if err == nil {
			err = lo.Error()
		}
		if errors.Is(err, kerr.UnknownServerError) {
			errs++
		}
	}
	if errs != 2 {
		t.Errorf("%d faulted requests, want 2", errs)
	}

	c.DelayRequests(kmsg.Metadata, 300*time.Millisecond, 1)
	start := time.Now()
	if _, err := adm.ListTopics(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("metadata request was not delayed")
	}
}

func TestActiveMemberBothProtocols(t *testing.T) {
	c := New(t)
	c.CreateTopic(t, "t", 2)
	for _, kip848 := range []bool{false, true} {
		name := map[bool]string{false: "classic", true: "848"}[kip848]
		t.Run(name, func(t *testing.T) {
			stop := c.ActiveMember(t, "g"+name, kip848, "t")
			stop()
		})
	}
}
