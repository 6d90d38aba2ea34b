package tui

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// TestGolden renders every screen at 80x24 and 120x40 against the fake's
// fixed data with the ASCII colour profile. Regenerate with
// go test ./tui -run TestGolden -update.
func TestGolden(t *testing.T) {
	screens := []struct {
		name string
		// steps brings the model to the screen.
		steps func(h *harness)
	}{
		{"overview", func(h *harness) {}},
		{"topics", func(h *harness) { h.keys("2") }},
		{"topic_detail", func(h *harness) { h.keys("2", "enter") }},
		{"groups", func(h *harness) { h.keys("3"); h.refresh(); h.refresh() }},
		{"groups_unreachable", func(h *harness) {
			h.f.Err = errors.New(`cluster "local" at 127.0.0.1:9092 did not answer in time; check the address and that the brokers are up`)
			h.keys("3")
		}},
		{"group_detail", func(h *harness) { h.keys("3", "enter") }},
		{"reset_form", func(h *harness) { h.keys("3", "enter", "r") }},
		{"reset_plan", func(h *harness) { h.keys("3", "enter", "r", "enter") }},
		// A to-datetime plan: its header names the instant, never cut inside.
		{"reset_plan_datetime", func(h *harness) {
			h.keys("3", "enter", "r", "down", "right", "right", "right", "right", "down", "2026-11-26T09:14:07Z", "enter")
		}},
		{"reset_done", func(h *harness) { h.keys("3", "enter", "r", "enter", "demo-billing", "enter") }},
		{"replay_form", func(h *harness) { h.keys("3", "enter", "R") }},
		{"records", func(h *harness) { h.keys(":", "records demo.orders", "enter") }},
		{"record_detail", func(h *harness) { h.keys(":", "records demo.orders", "enter", "enter") }},
		{"jobs", func(h *harness) { h.keys("4") }},
		{"jobs_empty", func(h *harness) { h.f.JobList = nil; h.keys("4") }},
		{"job_detail", func(h *harness) { h.keys("4", "down", "enter") }},
		// The failed job and its failed task: the whole error, wrapped.
		{"job_failed", func(h *harness) { h.keys("4", "enter") }},
		{"job_task_error", func(h *harness) { h.keys("4", "enter", "down", "enter") }},
		{"job_confirm", func(h *harness) { h.keys("4", "enter", "x") }},
		{"audit", func(h *harness) { h.keys("5") }},
		{"audit_detail", func(h *harness) { h.keys("5", "enter") }},
		{"undo_plan", func(h *harness) { h.keys("5", "u") }},
		{"help", func(h *harness) { h.keys("3", "enter", "?") }},
		{"command", func(h *harness) { h.keys(":", "gr") }},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, sc := range screens {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				h := newHarness(t, tuitest.New(), size[0], size[1])
				sc.steps(h)
				golden.RequireEqual(t, h.screen())
			})
		}
	}
}

// TestGoldenASCII renders the group detail with ASCII borders and glyphs,
// as in a non-UTF-8 locale.
func TestGoldenASCII(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24, WithUTF8(false))
	h.keys("3", "enter", "r")
	golden.RequireEqual(t, h.screen())
}

// TestGoldenReadOnly renders the group detail of a read-only service: the
// reset and replay keys are shown as off, with the reason.
func TestGoldenReadOnly(t *testing.T) {
	f := tuitest.New()
	f.InfoValue.ReadOnly = true
	h := newHarness(t, f, 80, 24)
	h.keys("3", "enter", "r")
	golden.RequireEqual(t, h.screen())
}

// TestGoldenMirrorGroup renders the groups screen and the overview with a
// mirror flow's progress group: labelled as the mirror's, not judged STOP.
func TestGoldenMirrorGroup(t *testing.T) {
	for _, page := range []string{"1", "3"} {
		t.Run("page"+page, func(t *testing.T) {
			f := tuitest.New()
			f.Groups = append(f.Groups, ops.GroupDetail{GroupSummary: ops.GroupSummary{Group: "kdeck-mirror-demo-local-to-dr", State: "Empty",
				Protocol: "classic", Topics: []string{"demo.orders"}, Lag: 5000, TimeLagEstimate: 1, Owner: "mirror demo-local-to-dr"}})
			h := newHarness(t, f, 80, 24)
			h.keys(page)
			s := h.screen()
			if !regexp.MustCompile(`kdeck-mirror-demo-local\S*\s.*\smirror\s`).MatchString(s) {
				t.Errorf("the mirror's group is not labelled:\n%s", s)
			}
			golden.RequireEqual(t, s)
		})
	}
}

// TestAuditIDWholeAndCopied checks at 80x24 that the audit screen shows
// each id whole (what 'kdeck offsets undo ID' takes; it showed
// "20261125-1") and that y copies it.
func TestAuditIDWholeAndCopied(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24)
	h.keys("5")
	h.wantScreen("20261125-114500-a1b2c3", "20261125-110000-d4e5f6")
	h.keys("y")
	want := base64.StdEncoding.EncodeToString([]byte("20261125-114500-a1b2c3"))
	if !strings.Contains(h.clip.String(), "\x1b]52;c;"+want+"\x07") {
		t.Fatalf("y wrote %q, want the OSC 52 sequence of the whole id", h.clip.String())
	}
}
