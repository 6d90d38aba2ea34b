// Package overview is the TUI's first screen: each cluster's health
// (reachable, brokers, controller, topics, groups), the health report, the
// groups with the most lag and their status, jobs by state and the last
// audit entries.
//
//	p := overview.New(c)
//	cmd := p.Open("")
package overview

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/format"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// Msg carries everything the overview shows; each part has its own error
// so one failure does not hide the rest.
type Msg struct {
	Cluster   string
	Clusters  []ops.ClusterInfo
	Groups    []ops.GroupSummary
	Jobs      []ops.JobStatus
	Audit     []ops.AuditEntry
	Health    *ops.HealthReport
	ErrGroups error
	ErrOther  error
	At        time.Time
}

// Keys are the overview's keys.
type Keys struct {
	Groups, Audit key.Binding
}

// Page is the overview page.
type Page struct {
	c      *screen.Common
	m      Msg
	loaded bool
	load   screen.Load
	w, h   int
	keys   Keys
}

// New returns the overview page.
func New(c *screen.Common) *Page {
	return &Page{c: c, keys: Keys{
		Groups: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "groups")),
		Audit:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "audit")),
	}}
}

// Init implements tea.Model.
func (p *Page) Init() tea.Cmd { return nil }

// Title implements screen.Page.
func (p *Page) Title() string { return "overview" }

// SetSize implements screen.Page.
func (p *Page) SetSize(w, h int) { p.w, p.h = w, h }

// Open implements screen.Page.
func (p *Page) Open(string) tea.Cmd { return p.Refresh() }

// Loading implements screen.Page.
func (p *Page) Loading() bool { return p.load.Busy() }

// Capturing implements screen.Page.
func (p *Page) Capturing() bool { return false }

// Refresh implements screen.Page: the five calls run concurrently, each
// bounded by the common timeout.
func (p *Page) Refresh() tea.Cmd {
	svc, cluster, now := p.c.Svc, p.c.Cluster, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		m := Msg{Cluster: cluster}
		var wg sync.WaitGroup
		var mu sync.Mutex
		other := func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && m.ErrOther == nil {
				m.ErrOther = err
			}
		}
		wg.Go(func() {
			cs, err := svc.Clusters(ctx)
			m.Clusters = cs
			other(err)
		})
		wg.Go(func() { m.Groups, m.ErrGroups = svc.ListGroups(ctx, cluster) })
		wg.Go(func() {
			js, err := svc.Jobs(ctx)
			m.Jobs = js
			other(err)
		})
		wg.Go(func() {
			as, err := svc.Audit(ctx, ops.AuditFilter{Limit: 5})
			m.Audit = as
			other(err)
		})
		wg.Go(func() {
			hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
			defer hcancel()
			if h, err := svc.Health(hctx); err == nil {
				m.Health = &h
			}
		})
		wg.Wait()
		m.At = now()
		return m
	})
}

// Update implements tea.Model.
func (p *Page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Msg:
		p.load.Done()
		if msg.Cluster != p.c.Cluster {
			return p, p.Refresh()
		}
		p.m, p.loaded = msg, true
		var cmds []tea.Cmd
		cmds = append(cmds, screen.Refreshed(msg.At))
		if msg.ErrGroups != nil {
			cmds = append(cmds, screen.Error(msg.ErrGroups))
		} else if msg.ErrOther != nil {
			cmds = append(cmds, screen.Error(msg.ErrOther))
		}
		return p, tea.Batch(cmds...)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, p.keys.Groups):
			return p, screen.Navigate(screen.Groups, "")
		case key.Matches(msg, p.keys.Audit):
			return p, screen.Navigate(screen.Audit, "")
		}
	}
	return p, nil
}

// View implements tea.Model.
func (p *Page) View() string {
	st := p.c.Styles
	if !p.loaded {
		return st.Muted.Render(" loading...")
	}
	m := p.m
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	head := func(s string) { add(st.Title.Render(" " + s)) }

	head("Clusters")
	for _, c := range m.Clusters {
		name := fmt.Sprintf("%-10s", c.Name)
		if c.Name == p.c.ClusterName() {
			name = st.Value.Render(name)
		}
		if !c.Reachable {
			add("  " + name + " " + st.Bad.Render("DOWN") + " " + st.Muted.Render(c.Error))
			continue
		}
		ctrl := fmt.Sprint(c.Controller)
		if c.Controller < 0 {
			ctrl = st.Bad.Render("none")
		}
		add(fmt.Sprintf("  %s %s  %d/%d brokers up  controller %s  %s topics  %s groups  %s",
			name, st.OK.Render("up  "), len(c.Brokers), len(c.Brokers), ctrl, format.Count(int64(c.Topics)), format.Count(int64(c.Groups)),
			st.Muted.Render(strings.Join(c.Bootstrap, ","))))
	}
	if h := m.Health; h != nil {
		if h.OK {
			add("  " + st.Label.Render("health ") + st.OK.Render("OK"))
		} else {
			add("  " + st.Label.Render("health ") + st.Bad.Render(fmt.Sprintf("%d problem(s): ", len(h.Problems))) + strings.Join(h.Problems, "; "))
		}
	}
	add("")

	head(fmt.Sprintf("Most lag on %s", p.c.ClusterName()))
	gs := slices.Clone(m.Groups)
	slices.SortStableFunc(gs, func(a, b ops.GroupSummary) int { return int(b.Lag - a.Lag) })
	n := min(len(gs), 5)
	if p.h > 0 {
		n = min(n, max(p.h-len(lines)-9-len(m.Audit), 1))
	}
	if len(gs) == 0 {
		add("  " + st.Muted.Render("no consumer groups"))
	}
	gw := max(min(p.w-50, 40), 12)
	for _, g := range gs[:n] {
		status := g.Status
		if status == "" {
			status = "-"
		}
		add(fmt.Sprintf("  %s %s  %s  %s  %s",
			table.Fit(g.Group, gw, false, st.Glyphs.Ellipsis), table.Fit(format.Count(g.Lag), 10, true, st.Glyphs.Ellipsis), table.Fit(format.Seconds(g.TimeLagEstimate), 7, true, st.Glyphs.Ellipsis),
			st.StatusWord(status).Render(table.Fit(status, 6, false, st.Glyphs.Ellipsis)), st.Muted.Render(fmt.Sprintf("%s, %d member(s)", g.State, g.Members))))
	}
	add("")

	head("Jobs")
	if len(m.Jobs) == 0 {
		add("  " + st.Muted.Render("no jobs: connectors, mirrors and stream jobs in the configuration appear here"))
	} else {
		by := map[ops.State]int{}
		for _, j := range m.Jobs {
			by[j.State]++
		}
		var parts []string
		for _, s := range []ops.State{ops.StateRunning, ops.StatePaused, ops.StateStopped, ops.StateFailed, ops.StateUnassigned, ops.StateRestarting} {
			if by[s] > 0 {
				parts = append(parts, st.StatusWord(string(s)).Render(fmt.Sprintf("%s %d", s, by[s])))
			}
		}
		add("  " + strings.Join(parts, "  "))
	}
	add("")

	head("Recent changes")
	if len(m.Audit) == 0 {
		add("  " + st.Muted.Render("no audited changes yet"))
	}
	loc := p.c.Now().Location()
	for _, e := range m.Audit {
		what := e.Group
		if what == "" {
			what = e.Topic + e.Job
		}
		out := st.OK.Render(e.Outcome)
		if e.Outcome != "ok" {
			out = st.Bad.Render(e.Outcome)
		}
		add(fmt.Sprintf("  %s  %-8s %-14s %-20s %s  %s", e.Time.In(loc).Format("01-02 15:04:05"), table.Fit(e.User, 8, false, st.Glyphs.Ellipsis), e.Action, table.Fit(what, 20, false, st.Glyphs.Ellipsis), out, st.Muted.Render(e.ID)))
	}
	s := lipgloss.NewStyle().MaxWidth(p.w).MaxHeight(p.h)
	return s.Render(strings.Join(lines, "\n"))
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding { return []key.Binding{p.keys.Groups, p.keys.Audit} }

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
