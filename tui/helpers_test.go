package tui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/tuitest"
)

// harness drives a root Model synchronously: it runs every command a
// message produces and feeds the results back until nothing is left,
// dropping the refresh and spinner ticks (tests trigger refreshes
// explicitly).
type harness struct {
	t    testing.TB
	m    *Model
	f    *tuitest.Fake
	clip *bytes.Buffer
	quit bool
}

func newHarness(t testing.TB, f *tuitest.Fake, w, h int, opts ...Opt) *harness {
	t.Helper()
	return newSvcHarness(t, f, f, w, h, opts...)
}

// newSvcHarness drives a Model over any Service (a real ops.Local, say);
// f, the fake, may be nil then.
func newSvcHarness(t testing.TB, svc ops.Service, f *tuitest.Fake, w, h int, opts ...Opt) *harness {
	t.Helper()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	clip := &bytes.Buffer{}
	base := []Opt{WithRenderer(r), WithUTF8(true), WithClock(tuitest.Clock), WithRefresh(time.Hour), WithClipboard(clip)}
	m, err := New(svc, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.tick = func(time.Duration) tea.Cmd { return nil }
	hs := &harness{t: t, m: m, f: f, clip: clip}
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	hs.run(m.Init())
	return hs
}

// run executes cmd and everything that follows from it.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(5 * time.Second):
		h.t.Fatal("a command did not return within 5s")
	}
	switch msg := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	case spinner.TickMsg, screen.TickMsg:
	default:
		h.send(msg)
	}
}

func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

// keys types keys: "enter", "esc", "tab", "up", "down", "ctrl+c", or text
// (each rune a key press).
func (h *harness) keys(ks ...string) {
	h.t.Helper()
	for _, k := range ks {
		switch k {
		case "enter":
			h.send(tea.KeyMsg{Type: tea.KeyEnter})
		case "esc":
			h.send(tea.KeyMsg{Type: tea.KeyEsc})
		case "tab":
			h.send(tea.KeyMsg{Type: tea.KeyTab})
		case "shift+tab":
			h.send(tea.KeyMsg{Type: tea.KeyShiftTab})
		case "up":
			h.send(tea.KeyMsg{Type: tea.KeyUp})
		case "down":
			h.send(tea.KeyMsg{Type: tea.KeyDown})
		case "left":
			h.send(tea.KeyMsg{Type: tea.KeyLeft})
		case "right":
			h.send(tea.KeyMsg{Type: tea.KeyRight})
		case "backspace":
			h.send(tea.KeyMsg{Type: tea.KeyBackspace})
		case "ctrl+c":
			h.send(tea.KeyMsg{Type: tea.KeyCtrlC})
		case "space":
			h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
		default:
			for _, r := range k {
				h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			}
		}
	}
}

// screen returns the current frame without escape sequences.
func (h *harness) screen() string { return ansi.Strip(h.m.View()) }

// refresh runs the current page's refresh as the tick would.
func (h *harness) refresh() { h.send(screen.TickMsg{Time: tuitest.Now}) }

func (h *harness) wantPage(id screen.ID, arg string) {
	h.t.Helper()
	got, a := h.m.PageID()
	if got != id || a != arg {
		h.t.Fatalf("page = %s %q, want %s %q\n%s", got, a, id, arg, h.screen())
	}
}

func (h *harness) wantScreen(subs ...string) {
	h.t.Helper()
	s := h.screen()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			h.t.Fatalf("screen lacks %q:\n%s", sub, s)
		}
	}
}
