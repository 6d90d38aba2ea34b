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

	"github.com/kdeck/kdeck/humanize"
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
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	head := func(s string) { add(st.Title.Render(" " + s)) }

	head("Clusters")
	p.viewClusters(add)
	p.viewHealth(add)
	add("")

	head(fmt.Sprintf("Most lag on %s", p.c.ClusterName()))
	p.viewLag(add, len(lines))
	add("")

	head("Jobs")
	p.viewJobs(add)
	add("")

	head("Recent changes")
	p.viewAudit(add)
	s := lipgloss.NewStyle().MaxWidth(p.w).MaxHeight(p.h)
	return s.Render(strings.Join(lines, "\n"))
}

// viewClusters adds a line per cluster: up with its address and counts, or
// down with its error.
func (p *Page) viewClusters(add func(string)) {
	st, m := p.c.Styles, p.m
	for _, c := range m.Clusters {
		name := fmt.Sprintf("%-10s", c.Name)
		if c.Name == p.c.ClusterName() {
			name = st.Value.Render(name)
		}
		if !c.Reachable {
			// The error wraps at words onto a second line, then is cut.
			indent := strings.Repeat(" ", 2+10+1+5)
			msg := format.Wrap(c.Error, max(p.w-len(indent), 20))
			if len(msg) > 2 {
				msg[1] = format.Cut(strings.Join(msg[1:], " "), max(p.w-len(indent), 20), st.Glyphs.Ellipsis)
				msg = msg[:2]
			}
			add("  " + name + " " + st.Bad.Render("DOWN") + " " + st.Muted.Render(msg[0]))
			for _, l := range msg[1:] {
				add(indent + st.Muted.Render(l))
			}
			continue
		}
		ctrl := fmt.Sprint(c.Controller)
		if c.Controller < 0 {
			ctrl = st.Bad.Render("none")
		}
		// The address comes first: it is what a client needs; the counts
		// after it are left out whole when the line is too long.
		add(fitFields(p.w, "  "+name+" "+st.OK.Render("up"), st.Muted.Render(strings.Join(c.Bootstrap, ",")),
			fmt.Sprintf("%d/%d brokers up", len(c.Brokers), len(c.Brokers)), "controller "+ctrl,
			humanize.Count(int64(c.Topics))+" topics", humanize.Count(int64(c.Groups))+" groups"))
	}
}

// viewHealth adds the health verdict and up to three problems.
func (p *Page) viewHealth(add func(string)) {
	st, m := p.c.Styles, p.m
	if h := m.Health; h != nil {
		if h.OK {
			add("  " + st.Label.Render("health ") + st.OK.Render("OK"))
		} else {
			// Every problem on its own line, cut at a word; past three, a
			// count and where to see them all.
			add("  " + st.Label.Render("health ") + st.Bad.Render(fmt.Sprintf("%d problem(s)", len(h.Problems))))
			shown := h.Problems
			if len(shown) > 3 {
				shown = shown[:2]
			}
			for _, pr := range shown {
				add("    " + format.Cut(pr, max(p.w-4, 10), st.Glyphs.Ellipsis))
			}
			if len(shown) < len(h.Problems) {
				add("    " + st.Muted.Render(fmt.Sprintf("and %d more: 'kdeck health' lists them all", len(h.Problems)-len(shown))))
			}
		}
	}
}

// viewLag adds the groups with the most lag, as many as fit below the used
// lines above.
func (p *Page) viewLag(add func(string), used int) {
	st, m := p.c.Styles, p.m
	gs := slices.Clone(m.Groups)
	slices.SortStableFunc(gs, func(a, b ops.GroupSummary) int { return int(b.Lag - a.Lag) })
	n := min(len(gs), 5)
	if p.h > 0 {
		n = min(n, max(p.h-used-5-len(m.Audit), 1)) // 5: the lines of Jobs and Recent changes
	}
	if len(gs) == 0 {
		add("  " + st.Muted.Render("no consumer groups"))
	}
	gw := max(min(p.w-53, 40), 12)
	for _, g := range gs[:n] {
		status := g.Status
		if g.Owner != "" {
			status, _, _ = strings.Cut(g.Owner, " ") // kdeck's own group: not judged
		} else if status == "" {
			status = "-"
		}
		line := fmt.Sprintf("  %s %s  %s  %s  ",
			table.Fit(g.Group, gw, false, st.Glyphs.Ellipsis), table.Fit(humanize.Count(g.Lag), 10, true, st.Glyphs.Ellipsis), table.Fit(humanize.Seconds(g.TimeLagEstimate), 7, true, st.Glyphs.Ellipsis),
			st.StatusWord(status).Render(table.Fit(status, 6, false, st.Glyphs.Ellipsis)))
		add(line + st.Muted.Render(format.Cut(fmt.Sprintf("%s, %d member(s)", g.State, g.Members), max(p.w-lipgloss.Width(line), 0), st.Glyphs.Ellipsis)))
	}
}

// viewJobs adds the count of jobs in each state.
func (p *Page) viewJobs(add func(string)) {
	st, m := p.c.Styles, p.m
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
}

// viewAudit adds the recent audited changes.
func (p *Page) viewAudit(add func(string)) {
	st, m := p.c.Styles, p.m
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
		// The id stays whole (undo needs it); the subject is cut and the
		// user left out first.
		line := fmt.Sprintf("  %s  %s  %-14s %s  ", e.Time.In(loc).Format("01-02 15:04:05"), st.Muted.Render(e.ID), e.Action, out)
		add(fitFields(p.w, line+format.Cut(what, max(p.w-lipgloss.Width(line), 8), st.Glyphs.Ellipsis), e.User))
	}
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding { return []key.Binding{p.keys.Groups, p.keys.Audit} }

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// fitFields joins styled fields with two spaces, leaving out whole the
// fields from the first that would pass width w (the first always shows).
func fitFields(w int, fields ...string) string {
	out := fields[0]
	for _, f := range fields[1:] {
		if w > 0 && lipgloss.Width(out)+2+lipgloss.Width(f) > w {
			break
		}
		out += "  " + f
	}
	return out
}
