package tui

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// TestViewFitsTerminal checks every screen at several sizes, including
// after a resize: exactly as many lines as the terminal has, none wider.
func TestViewFitsTerminal(t *testing.T) {
	walks := map[string][]string{
		"overview":      nil,
		"topics":        {"2"},
		"topic":         {"2", "enter"},
		"groups":        {"3"},
		"group":         {"3", "enter"},
		"reset":         {"3", "enter", "r"},
		"plan":          {"3", "enter", "r", "enter"},
		"records":       {"2", "t"},
		"record":        {"2", "t", "enter"},
		"jobs":          {"4"},
		"job":           {"4", "enter", "x"},
		"audit":         {"5"},
		"audit detail":  {"5", "enter"},
		"help":          {"?"},
		"command":       {":", "topic "},
		"filter prompt": {"3", "/", "demo"},
	}
	sizes := [][2]int{{80, 24}, {250, 70}, {40, 12}}
	for name, keys := range walks {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s_%dx%d", name, sz[0], sz[1]), func(t *testing.T) {
				h := newHarness(t, tuitest.New(), 120, 40)
				h.keys(keys...)
				h.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				lines := strings.Split(h.m.View(), "\n")
				if len(lines) != sz[1] {
					t.Fatalf("%d lines, want %d:\n%s", len(lines), sz[1], h.screen())
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > sz[0] {
						t.Fatalf("line %d is %d wide, terminal %d: %q", i, w, sz[0], ansi.Strip(l))
					}
				}
			})
		}
	}
}

func TestSpinnerWhileLoading(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24)
	h.keys("3")
	cmd := h.m.Page().Refresh() // in flight: its result is never delivered
	if cmd == nil || !h.m.Page().Loading() {
		t.Fatal("refresh did not start a load")
	}
	if h.m.Page().Refresh() != nil {
		t.Fatal("a second refresh started while one is in flight")
	}
	if first := strings.Split(h.screen(), "\n")[0]; !strings.Contains(first, h.m.spin.View()) {
		t.Fatalf("header shows no spinner while loading: %q", first)
	}
	// Keys still work while the load is in flight.
	h.keys("enter")
	h.wantPage(screen.GroupDetail, "demo-billing")
}

// TestNoColor draws with NO_COLOR's mono theme on a 16-colour profile: no
// colour codes, the selection in reverse video.
func TestNoColor(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	h := newHarness(t, tuitest.New(), 80, 24, WithRenderer(r), WithNoColor(true))
	h.keys("3", "enter")
	v := h.m.View()
	if !strings.Contains(v, "\x1b[7m") {
		t.Fatal("no reverse video for the selection")
	}
	if m := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|4[0-7]|10[0-7]|38;|48;)[0-9;]*m`).FindString(v); m != "" {
		t.Fatalf("colour code %q in a NO_COLOR frame", m)
	}
}
