// Package jobs holds the jobs screens: one table for connectors, mirrors
// and stream jobs (kind, state, tasks, throughput, lag, last error) and a
// job's detail with its tasks, metrics and lifecycle actions (pause,
// resume, stop, restart, reset), each confirmed before it runs.
//
//	l := jobs.NewList(c)
//	d := jobs.NewDetail(c)
//	cmd := d.Open("orders-datagen")
package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/format"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// EmptyHint is shown when the service hosts no jobs.
const EmptyHint = "no jobs: configure [[connectors]], [[mirrors]] or [[streams]] to see them here"

// ListMsg carries a Jobs result.
type ListMsg struct {
	Jobs []ops.JobStatus
	Err  error
	At   time.Time
}

// List is the jobs list page.
type List struct {
	table.Page
	c      *screen.Common
	open   key.Binding
	load   screen.Load
	loaded bool
}

func stateColor(st *screen.Common) func(string) lipgloss.Style {
	return func(s string) lipgloss.Style { return st.Styles.StatusWord(s) }
}

// NewList returns the jobs list.
func NewList(c *screen.Common) *List {
	t := table.New(&c.Styles, []table.Column{
		{Title: "JOB", Width: 14, Flex: true},
		{Title: "KIND", Width: 9, Drop: 1},
		{Title: "STATE", Width: 10, Color: stateColor(c)},
		{Title: "TASKS", Width: 5, Right: true},
		{Title: "IN", Width: 8, Right: true, Drop: 2},
		{Title: "OUT", Width: 8, Right: true},
		{Title: "LAG", Width: 8, Right: true},
		{Title: "LAST ERROR", Width: 12, Flex: true},
	})
	t.Empty = EmptyHint
	return &List{Page: table.Page{T: t}, c: c, open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open job"))}
}

// Title implements screen.Page.
func (l *List) Title() string { return "jobs" }

// Open implements screen.Page.
func (l *List) Open(arg string) tea.Cmd {
	if arg != "" {
		l.T.SetFilter(arg)
	}
	return l.Refresh()
}

// Refresh implements screen.Page.
func (l *List) Refresh() tea.Cmd {
	svc, now := l.c.Svc, l.c.Now
	return l.load.Start(l.c, func(ctx context.Context) tea.Msg {
		js, err := svc.Jobs(ctx)
		return ListMsg{Jobs: js, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (l *List) Loading() bool { return l.load.Busy() }

func tasksCell(j ops.JobStatus) string {
	run := 0
	for _, t := range j.Tasks {
		if t.State == ops.StateRunning {
			run++
		}
	}
	return fmt.Sprintf("%d/%d", run, len(j.Tasks))
}

// Update implements tea.Model.
func (l *List) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ListMsg:
		l.load.Done()
		if msg.Err != nil {
			return l, screen.Error(msg.Err)
		}
		l.loaded = true
		rows := make([]table.Row, len(msg.Jobs))
		for i, j := range msg.Jobs {
			rows[i] = table.Row{ID: j.Name,
				Cells: []string{j.Name, string(j.Kind), string(j.State), tasksCell(j), format.Rate(j.Metrics.RecordsInPerSec),
					format.Rate(j.Metrics.RecordsOutPerSec), format.Count(j.Metrics.Lag), j.LastError},
				Sort: []any{j.Name, string(j.Kind), string(j.State), len(j.Tasks), j.Metrics.RecordsInPerSec, j.Metrics.RecordsOutPerSec, j.Metrics.Lag, j.LastError}}
		}
		l.T.SetRows(rows)
		return l, screen.Refreshed(msg.At)
	case tea.KeyMsg:
		if key.Matches(msg, l.open) {
			if r, ok := l.T.Selected(); ok {
				return l, screen.Navigate(screen.JobDetail, r.ID)
			}
			return l, nil
		}
		l.T.Update(msg)
	}
	return l, nil
}

// View implements tea.Model.
func (l *List) View() string {
	if !l.loaded {
		return l.c.Styles.Muted.Render(" loading jobs...")
	}
	return l.T.View()
}

// ShortHelp implements help.KeyMap.
func (l *List) ShortHelp() []key.Binding { return []key.Binding{l.open, l.T.Keys.Sort} }

// FullHelp implements help.KeyMap.
func (l *List) FullHelp() [][]key.Binding { return [][]key.Binding{{l.open}, l.T.Keys.List()} }

// JobMsg carries a Job result.
type JobMsg struct {
	Name string
	Job  ops.JobStatus
	Err  error
	At   time.Time
}

// ActionMsg carries a JobAction outcome.
type ActionMsg struct {
	Name   string
	Action ops.JobAction
	Entry  ops.AuditEntry
	Err    error
}

// DetailKeys are the job detail's keys; every action is flagged (!) and
// confirmed.
type DetailKeys struct {
	Pause, Resume, Stop, Restart, Reset, Confirm, Cancel key.Binding
	// Task opens the selected task: its state, worker, metrics and its
	// whole error, wrapped; Close closes it.
	Task, Close key.Binding
}

// Detail is a job's detail page.
type Detail struct {
	c      *screen.Common
	name   string
	j      ops.JobStatus
	tasks  *table.Model
	load   screen.Load
	loaded bool
	keys   DetailKeys
	// pending is the action awaiting confirmation ("" for none).
	pending ops.JobAction
	confirm textinput.Model
	running bool
	w, h    int
	// task is the task whose detail is open, -1 for none.
	task int
}

// NewDetail returns the job detail page.
func NewDetail(c *screen.Common) *Detail {
	tasks := table.New(&c.Styles, []table.Column{
		{Title: "TASK", Width: 4, Right: true},
		{Title: "STATE", Width: 10, Color: stateColor(c)},
		{Title: "WORKER", Width: 10},
		{Title: "IN", Width: 8, Right: true},
		{Title: "OUT", Width: 8, Right: true},
		{Title: "LAG", Width: 8, Right: true},
		{Title: "TRACE", Width: 0, Flex: true},
	})
	tasks.Empty = "no tasks"
	b := func(k, h string) key.Binding {
		if c.Info.ReadOnly {
			h += ": off, read-only"
		}
		return key.NewBinding(key.WithKeys(k), key.WithHelp(k, h))
	}
	in := screen.NewInput("> ", 256)
	return &Detail{c: c, tasks: tasks, confirm: in, task: -1, keys: DetailKeys{
		Task:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "task detail")),
		Close:   key.NewBinding(key.WithKeys("esc", "enter"), key.WithHelp("esc", "close")),
		Pause:   b("p", "pause (!)"),
		Resume:  b("u", "resume (!)"),
		Stop:    b("x", "stop (!)"),
		Restart: b("r", "restart (!)"),
		Reset:   b("X", "reset offsets+state (!)"),
		Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}}
}

// Init implements tea.Model.
func (p *Detail) Init() tea.Cmd { return nil }

// Title implements screen.Page.
func (p *Detail) Title() string { return "job " + p.name }

// SetSize implements screen.Page.
func (p *Detail) SetSize(w, h int) { p.w, p.h = w, h; p.tasks.SetSize(w, max(h-6, 3)) }

// Open implements screen.Page.
func (p *Detail) Open(arg string) tea.Cmd {
	if arg != p.name {
		p.name, p.loaded, p.load, p.pending, p.task = arg, false, screen.Load{}, "", -1
	}
	return p.Refresh()
}

// Refresh implements screen.Page.
func (p *Detail) Refresh() tea.Cmd {
	if p.name == "" {
		return nil
	}
	svc, name, now := p.c.Svc, p.name, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		j, err := svc.Job(ctx, name)
		return JobMsg{Name: name, Job: j, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Detail) Loading() bool { return p.load.Busy() || p.running }

// Capturing implements screen.Page: a confirmation or an open task takes
// every key (esc closes it).
func (p *Detail) Capturing() bool { return p.pending != "" || p.task >= 0 }

// Pending returns the action awaiting confirmation.
func (p *Detail) Pending() ops.JobAction { return p.pending }

// Update implements tea.Model.
func (p *Detail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case JobMsg:
		p.load.Done()
		if msg.Name != p.name {
			return p, p.Refresh()
		}
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		p.loaded, p.j = true, msg.Job
		rows := make([]table.Row, len(msg.Job.Tasks))
		for i, t := range msg.Job.Tasks {
			rows[i] = table.Row{ID: fmt.Sprint(t.ID), Cells: []string{fmt.Sprint(t.ID), string(t.State), t.Worker,
				format.Rate(t.Metrics.RecordsInPerSec), format.Rate(t.Metrics.RecordsOutPerSec), format.Count(t.Metrics.Lag), traceOrDetail(t)},
				Sort: []any{t.ID, string(t.State), t.Worker, t.Metrics.RecordsInPerSec, t.Metrics.RecordsOutPerSec, t.Metrics.Lag, t.Trace}}
		}
		p.tasks.SetRows(rows)
		return p, screen.Refreshed(msg.At)
	case ActionMsg:
		p.running = false
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		return p, tea.Batch(screen.Status(fmt.Sprintf("%s %s: done, audit id %s", msg.Action, msg.Name, msg.Entry.ID)), p.Refresh())
	case tea.KeyMsg:
		if p.pending != "" {
			return p, p.confirmKey(msg)
		}
		if p.task >= 0 {
			if key.Matches(msg, p.keys.Close) {
				p.task = -1
			}
			return p, nil
		}
		if key.Matches(msg, p.keys.Task) {
			if r, ok := p.tasks.Selected(); ok {
				fmt.Sscan(r.ID, &p.task)
			}
			return p, nil
		}
		actions := []struct {
			b key.Binding
			a ops.JobAction
		}{{p.keys.Pause, ops.ActionPause}, {p.keys.Resume, ops.ActionResume}, {p.keys.Stop, ops.ActionStop}, {p.keys.Restart, ops.ActionRestart}, {p.keys.Reset, ops.ActionReset}}
		for _, a := range actions {
			if key.Matches(msg, a.b) {
				if p.c.Info.ReadOnly {
					return p, screen.Error(errors.New(p.c.ReadOnlyText()))
				}
				if !p.loaded {
					return p, nil
				}
				p.pending = a.a
				p.confirm.SetValue("")
				p.confirm.Focus()
				return p, nil
			}
		}
		p.tasks.Update(msg)
	}
	return p, nil
}

// typed reports whether an action needs the job name typed (it loses data
// or progress) rather than just enter.
func typed(a ops.JobAction) bool { return a == ops.ActionReset || a == ops.ActionStop }

func (p *Detail) confirmKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.keys.Cancel):
		p.pending = ""
		return nil
	case key.Matches(msg, p.keys.Confirm):
		if typed(p.pending) && strings.TrimSpace(p.confirm.Value()) != p.name {
			return screen.Error(fmt.Errorf("confirmation refused: type the job name %q exactly to %s it, or esc to cancel", p.name, p.pending))
		}
		a, name, svc := p.pending, p.name, p.c.Svc
		p.pending, p.running = "", true
		timeout, base := 3*p.c.Timeout, p.c.Context()
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, timeout)
			defer cancel()
			e, err := svc.JobAction(ctx, name, a, ops.JobActionOptions{Command: fmt.Sprintf("kdeck tui: jobs %s %s", a, name)})
			return ActionMsg{Name: name, Action: a, Entry: e, Err: err}
		}
	}
	var cmd tea.Cmd
	p.confirm, cmd = p.confirm.Update(msg)
	return cmd
}

var actionEffect = map[ops.JobAction]string{
	ops.ActionPause:   "stops processing but keeps tasks and offsets; resume continues",
	ops.ActionResume:  "continues processing from the committed offsets",
	ops.ActionStop:    "stops every task; the job stays STOPPED until started",
	ops.ActionRestart: "stops and starts every task; in-flight records are re-read from the committed offsets",
	ops.ActionReset:   "deletes the job's committed offsets, internal topics and local state; it starts over from its start position",
}

// View implements tea.Model.
func (p *Detail) View() string {
	st := p.c.Styles
	if !p.loaded {
		return st.Muted.Render(" loading job " + p.name + "...")
	}
	j := p.j
	m := j.Metrics
	lines := []string{
		fmt.Sprintf(" %s  %s %s  %s %s  %s %s  %s %s", st.Title.Render(j.Name), st.Label.Render("kind"), j.Kind, st.Label.Render("class"), j.Class,
			st.Label.Render("cluster"), j.Cluster, st.Label.Render("state"), st.StatusWord(string(j.State)).Render(string(j.State))),
		fmt.Sprintf(" %s %s  %s %s  %s %s  %s %s  %s %s  %s %s", st.Label.Render("in"), format.Rate(m.RecordsInPerSec), st.Label.Render("out"), format.Rate(m.RecordsOutPerSec),
			st.Label.Render("total in"), format.Count(m.RecordsIn), st.Label.Render("out"), format.Count(m.RecordsOut), st.Label.Render("lag"), format.Count(m.Lag),
			st.Label.Render("errors"), format.Count(m.Errors)),
	}
	if j.LastError != "" {
		at := ""
		if j.LastErrorAt != nil {
			at = " (" + format.Ago(*j.LastErrorAt, p.c.Now()) + ")"
		}
		lines = append(lines, " "+st.Bad.Render(format.Cut("last error: "+j.LastError, max(p.w-2-len(at), 10), st.Glyphs.Ellipsis))+st.Muted.Render(at))
	} else {
		lines = append(lines, "")
	}
	if p.pending != "" {
		what := fmt.Sprintf("%s job %s? It %s.", strings.ToUpper(string(p.pending)[:1])+string(p.pending)[1:], j.Name, actionEffect[p.pending])
		body := st.DangerTitle.Render("! "+what) + "\n"
		if typed(p.pending) {
			body += fmt.Sprintf("Type %s to confirm (esc cancels):\n%s", st.Value.Render(j.Name), p.confirm.View())
		} else {
			body += "enter confirms, esc cancels"
		}
		lines = append(lines, st.Dialog.Width(max(p.w-2, 20)).Render(body))
	}
	if t, ok := p.openTask(); ok {
		lines = append(lines, p.taskView(t))
	} else {
		lines = append(lines, p.tasks.View())
	}
	return lipgloss.NewStyle().MaxHeight(p.h).MaxWidth(p.w).Render(strings.Join(lines, "\n"))
}

// openTask returns the task whose detail is open.
func (p *Detail) openTask() (ops.TaskStatus, bool) {
	if p.task < 0 {
		return ops.TaskStatus{}, false
	}
	for _, t := range p.j.Tasks {
		if t.ID == p.task {
			return t, true
		}
	}
	return ops.TaskStatus{}, false
}

// taskView shows one task with its whole error, wrapped at words.
func (p *Detail) taskView(t ops.TaskStatus) string {
	st := p.c.Styles
	m := t.Metrics
	lines := []string{
		fmt.Sprintf(" %s  %s %s  %s %s", st.Title.Render(fmt.Sprintf("task %d", t.ID)), st.Label.Render("state"), st.StatusWord(string(t.State)).Render(string(t.State)),
			st.Label.Render("worker"), t.Worker),
		fmt.Sprintf(" %s %s  %s %s  %s %s  %s %s", st.Label.Render("in"), format.Rate(m.RecordsInPerSec), st.Label.Render("out"), format.Rate(m.RecordsOutPerSec),
			st.Label.Render("lag"), format.Count(m.Lag), st.Label.Render("errors"), format.Count(m.Errors)),
		"",
	}
	if t.Trace == "" {
		lines = append(lines, " "+st.Muted.Render("no error"))
	} else {
		lines = append(lines, " "+st.Label.Render("error"))
		for _, l := range format.Wrap(t.Trace, max(p.w-3, 10)) {
			lines = append(lines, "  "+st.Bad.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

// ShortHelp implements help.KeyMap.
func (p *Detail) ShortHelp() []key.Binding {
	if p.pending != "" {
		return []key.Binding{p.keys.Confirm, p.keys.Cancel}
	}
	if p.task >= 0 {
		return []key.Binding{p.keys.Close}
	}
	return []key.Binding{p.keys.Task, p.keys.Pause, p.keys.Resume, p.keys.Restart, p.keys.Stop}
}

// FullHelp implements help.KeyMap.
func (p *Detail) FullHelp() [][]key.Binding {
	k := p.keys
	return [][]key.Binding{{k.Task, k.Pause, k.Resume, k.Stop, k.Restart, k.Reset}, p.tasks.Keys.List()}
}

// traceOrDetail is a task's trace or, for a healthy task, its own facts
// (postgres-cdc: its slot, confirmed LSN and retained WAL, a warning first).
func traceOrDetail(t ops.TaskStatus) string {
	if t.Trace != "" || len(t.Detail) == 0 {
		return t.Trace
	}
	keys := make([]string, 0, len(t.Detail))
	for k := range t.Detail {
		if k != "warning" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys)+1)
	if w := t.Detail["warning"]; w != "" {
		parts = append(parts, "WARNING: "+w)
	}
	for _, k := range keys {
		parts = append(parts, k+"="+t.Detail[k])
	}
	return strings.Join(parts, " ")
}
