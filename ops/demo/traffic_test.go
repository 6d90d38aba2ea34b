package demo_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/kdeck/kdeck/ops/demo"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// SeedBilling commits offsets for the billing group once; run again, it
// leaves the group's offsets (a user's reset) alone.
func TestSeedBillingOnce(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, demo.OrdersTopic, 1)
	c.ProduceN(t, demo.OrdersTopic, 20)
	g := demo.Generators{Addr: c.Addr(), Rate: 50, Log: slog.New(slog.DiscardHandler)}
	g.SeedBilling(context.Background())
	if got := c.Committed(t, demo.BillingGroup)[demo.OrdersTopic][0]; got != 20 {
		t.Fatalf("seeded offset %d, want 20 (all that was there)", got)
	}
	c.Commit(t, demo.BillingGroup, map[string]map[int32]int64{demo.OrdersTopic: {0: 3}})
	g.SeedBilling(context.Background())
	if got := c.Committed(t, demo.BillingGroup)[demo.OrdersTopic][0]; got != 3 {
		t.Fatalf("offset %d after a second seed, want the reset's 3 kept", got)
	}
}
