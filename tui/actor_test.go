package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/groups"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// actorFake is the fake service, noting the actor of each call's context.
type actorFake struct {
	*tuitest.Fake
	mu     sync.Mutex
	actors map[string][]string
}

func (f *actorFake) note(ctx context.Context, call string) {
	a, _ := ops.ActorFrom(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actors[call] = append(f.actors[call], a.User)
}

func (f *actorFake) ListGroups(ctx context.Context, cluster string) ([]ops.GroupSummary, error) {
	f.note(ctx, "ListGroups")
	return f.Fake.ListGroups(ctx, cluster)
}

func (f *actorFake) DescribeGroup(ctx context.Context, cluster, group string) (ops.GroupDetail, error) {
	f.note(ctx, "DescribeGroup")
	return f.Fake.DescribeGroup(ctx, cluster, group)
}

func (f *actorFake) ExecutePlan(ctx context.Context, plan *ops.Plan) (ops.AuditEntry, error) {
	f.note(ctx, "ExecutePlan")
	return f.Fake.ExecutePlan(ctx, plan)
}

// TestWithContextCarriesTheActor: every Service call of the console runs
// in the base context, so the SSH session's actor reaches the service, and
// an operator's reset executes as that actor.
func TestWithContextCarriesTheActor(t *testing.T) {
	f := &actorFake{Fake: tuitest.New(), actors: map[string][]string{}}
	ctx := ops.WithActor(context.Background(), ops.Actor{User: "alice (SHA256:x)", Via: "ssh"})
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m, err := New(f, WithRenderer(r), WithUTF8(true), WithClock(tuitest.Clock), WithRefresh(time.Hour), WithClipboard(io.Discard), WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	m.tick = func(time.Duration) tea.Cmd { return nil }
	h := &harness{t: t, m: m, f: f.Fake, clip: &bytes.Buffer{}}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.run(m.Init())
	h.keys(":", "group demo-billing", "enter", "r", "enter", "demo-billing", "enter")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, call := range []string{"ListGroups", "DescribeGroup", "ExecutePlan"} {
		got := f.actors[call]
		if len(got) == 0 {
			t.Errorf("%s was not called", call)
		}
		for _, u := range got {
			if u != "alice (SHA256:x)" {
				t.Errorf("%s ran as %q, want the session's actor", call, u)
			}
		}
	}
}

// TestReadOnlyActor: a read-only actor in the base context makes the
// console read-only, and the refusal names the role rather than
// --read-only.
func TestReadOnlyActor(t *testing.T) {
	ctx := ops.WithActor(context.Background(), ops.Actor{User: "bob (SHA256:y)", ReadOnly: true, Via: "ssh"})
	h := newHarness(t, tuitest.New(), 120, 40, WithContext(ctx))
	h.wantScreen("READ-ONLY")
	h.keys(":", "group demo-billing", "enter", "r")
	if h.m.Page().(*groups.Detail).Dialog() != nil {
		t.Fatal("r opened the reset dialog for a read-only actor")
	}
	s, isErr := h.m.StatusLine()
	if !isErr || !strings.Contains(s, "read role: bob (SHA256:y)") || strings.Contains(s, "--read-only") {
		t.Fatalf("status = %q, want the read role named", s)
	}
}
