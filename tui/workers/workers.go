// Package workers is the worker group screen: the workers of the group
// this console is attached to (or runs in), each with its host, the tasks
// it runs and its load, from ops.Service.Workers. Any worker of a group
// answers for the whole group.
//
//	p := workers.New(c)
//	cmd := p.Open("")
package workers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// ListMsg carries a Workers result.
type ListMsg struct {
	Report ops.WorkersReport
	Err    error
	At     time.Time
}

// Keys are the workers screen's keys.
type Keys struct {
	Open  key.Binding
	Table screen.TableKeys
}

// Page is the workers page.
type Page struct {
	table.Page
	c      *screen.Common
	keys   Keys
	load   screen.Load
	loaded bool
	rep    ops.WorkersReport
	jobs   map[string]string // worker id -> first job it runs
}

// New returns the workers page.
func New(c *screen.Common) *Page {
	st := &c.Styles
	t := table.New(st, []table.Column{
		{Title: "WORKER", Width: 14},
		{Title: "HOST", Width: 10},
		{Title: "TASKS", Width: 5, Right: true},
		{Title: "IN/S", Width: 7, Right: true},
		{Title: "OUT/S", Width: 7, Right: true},
		{Title: "JOBS", Width: 20, Flex: true},
	})
	t.Empty = "no live worker: start 'kdeck run --worker-group NAME'"
	return &Page{Page: table.Page{T: t}, c: c, keys: Keys{
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "its first job")),
		Table: t.Keys,
	}}
}

// Title implements screen.Page.
func (p *Page) Title() string {
	switch {
	case !p.loaded:
		return "workers"
	case p.rep.Group == "":
		return "workers: no group"
	}
	return fmt.Sprintf("workers: %s, %d unassigned", p.rep.Group, p.rep.Unassigned)
}

// Open implements screen.Page; arg filters the workers.
func (p *Page) Open(arg string) tea.Cmd {
	if arg != "" {
		p.T.SetFilter(arg)
	}
	return p.Refresh()
}

// Refresh implements screen.Page.
func (p *Page) Refresh() tea.Cmd {
	svc, now := p.c.Svc, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		rep, err := svc.Workers(ctx)
		return ListMsg{Report: rep, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Page) Loading() bool { return p.load.Busy() }

// Capturing implements screen.Page.
func (p *Page) Capturing() bool { return false }

// Tasks formats a worker's tasks as "job[0,2] other[1]", "-" for none.
func Tasks(ts map[string][]int) string {
	jobs := make([]string, 0, len(ts))
	for j := range ts {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	parts := make([]string, 0, len(jobs))
	for _, j := range jobs {
		ids := make([]string, len(ts[j]))
		for k, id := range ts[j] {
			ids[k] = fmt.Sprint(id)
		}
		parts = append(parts, j+"["+strings.Join(ids, ",")+"]")
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// Update implements tea.Model.
func (p *Page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ListMsg:
		p.load.Done()
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		p.loaded, p.rep = true, msg.Report
		p.jobs = map[string]string{}
		rows := make([]table.Row, len(msg.Report.Workers))
		for i, w := range msg.Report.Workers {
			id := w.ID
			if w.Self {
				id += " *"
			}
			tasks := Tasks(w.Tasks)
			if f := strings.Fields(tasks); len(w.Tasks) > 0 && len(f) > 0 {
				p.jobs[w.ID], _, _ = strings.Cut(f[0], "[")
			}
			rows[i] = table.Row{ID: w.ID, Cells: []string{id, w.Host, fmt.Sprint(w.TaskCount),
				fmt.Sprintf("%.1f", w.RecordsInPerSec), fmt.Sprintf("%.1f", w.RecordsOutPerSec), tasks},
				Sort: []any{w.ID, w.Host, w.TaskCount, w.RecordsInPerSec, w.RecordsOutPerSec, tasks}}
		}
		p.T.SetRows(rows)
		return p, screen.Refreshed(msg.At)
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, nil
	}
	switch {
	case key.Matches(km, p.keys.Open):
		r, ok := p.T.Selected()
		if !ok || p.jobs[r.ID] == "" {
			return p, nil
		}
		return p, screen.Navigate(screen.JobDetail, p.jobs[r.ID])
	default:
		p.T.Update(km)
	}
	return p, nil
}

// View implements tea.Model.
func (p *Page) View() string {
	if !p.loaded {
		return p.c.Styles.Muted.Render(" loading workers...")
	}
	return p.T.View()
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding { return []key.Binding{p.keys.Open} }

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.keys.Open}, p.keys.Table.List()}
}
