// Package audit is the audit screen: the audit log's entries (newest
// first, filtered with /), an entry's detail with the offsets it replaced
// and wrote, and undo: ops plans restoring the replaced offsets
// (Service.PlanUndo), the user confirms the plan by typing the group name,
// and ops executes it as a new, audited change.
//
//	p := audit.New(c)
//	cmd := p.Open("")
package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/plandialog"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// Limit is how many entries the screen loads.
const Limit = 1000

// ListMsg carries an Audit result.
type ListMsg struct {
	Entries []ops.AuditEntry
	Err     error
	At      time.Time
}

// UndoPlanMsg carries a PlanUndo result.
type UndoPlanMsg struct {
	ID   string
	Plan *ops.Plan
	Err  error
}

// Keys are the audit screen's keys.
type Keys struct {
	Open, Undo, Copy key.Binding
	Table            screen.TableKeys
}

// Page is the audit page.
type Page struct {
	table.Page
	c       *screen.Common
	entries map[string]ops.AuditEntry
	keys    Keys
	load    screen.Load
	loaded  bool

	detail   *ops.AuditEntry
	vp       viewport.Model
	planning string
	dialog   *plandialog.Model
}

// New returns the audit page.
func New(c *screen.Common) *Page {
	st := &c.Styles
	t := table.New(st, []table.Column{
		{Title: "TIME", Width: 14},
		{Title: "USER", Width: 8, Drop: 2},
		{Title: "ACTION", Width: 14},
		{Title: "CLUSTER", Width: 8, Drop: 1},
		{Title: "TARGET", Width: 12, Flex: true},
		{Title: "OUTCOME", Width: 7, Color: func(s string) lipgloss.Style {
			if s == "ok" {
				return st.OK
			}
			return st.Bad
		}},
		{Title: "ID", Width: 22}, // whole: 'kdeck offsets undo ID' needs it; y copies it
	})
	t.Empty = "no audited changes yet: resets, replays, undos and job actions appear here"
	undo := key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "undo (!)"))
	if c.Info.ReadOnly {
		undo.SetHelp("u", "undo: off, read-only")
	}
	return &Page{Page: table.Page{T: t}, c: c, entries: map[string]ops.AuditEntry{}, keys: Keys{
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Undo:  undo,
		Copy:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy id")),
		Table: t.Keys,
	}}
}

// Title implements screen.Page.
func (p *Page) Title() string { return "audit" }

// SetSize implements screen.Page.
func (p *Page) SetSize(w, h int) {
	p.Page.SetSize(w, h)
	p.vp.Width, p.vp.Height = w, h
	if p.dialog != nil {
		p.dialog.SetSize(w, h)
	}
}

// Open implements screen.Page; arg filters the entries.
func (p *Page) Open(arg string) tea.Cmd {
	if arg != "" {
		p.T.SetFilter(arg)
	}
	return p.Refresh()
}

// Refresh implements screen.Page.
func (p *Page) Refresh() tea.Cmd {
	if p.dialog != nil {
		return nil
	}
	svc, now := p.c.Svc, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		es, err := svc.Audit(ctx, ops.AuditFilter{Limit: Limit})
		return ListMsg{Entries: es, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Page) Loading() bool { return p.load.Busy() || p.planning != "" }

// Capturing implements screen.Page.
func (p *Page) Capturing() bool { return p.dialog != nil }

// Dialog returns the open undo dialog, or nil.
func (p *Page) Dialog() *plandialog.Model { return p.dialog }

// Back implements screen.Backer.
func (p *Page) Back() bool {
	if p.detail != nil {
		p.detail = nil
		return true
	}
	return false
}

func target(e ops.AuditEntry) string {
	for _, s := range []string{e.Group, e.Job, e.Topic} {
		if s != "" {
			return s
		}
	}
	return ""
}

// Update implements tea.Model.
func (p *Page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ListMsg:
		p.load.Done()
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		p.loaded = true
		loc := p.c.Now().Location()
		rows := make([]table.Row, len(msg.Entries))
		for i, e := range msg.Entries {
			p.entries[e.ID] = e
			rows[i] = table.Row{ID: e.ID, Cells: []string{e.Time.In(loc).Format("01-02 15:04:05"), e.User, e.Action, e.Cluster, target(e), e.Outcome, e.ID},
				Sort: []any{e.Time, e.User, e.Action, e.Cluster, target(e), e.Outcome, e.ID}}
		}
		p.T.SetRows(rows)
		return p, screen.Refreshed(msg.At)
	case UndoPlanMsg:
		if msg.ID != p.planning {
			return p, nil
		}
		p.planning = ""
		if msg.Err != nil {
			return p, screen.Error(fmt.Errorf("cannot undo %s: %w", msg.ID, msg.Err))
		}
		p.dialog = plandialog.New(p.c, "Undo "+msg.ID, msg.Plan)
		p.dialog.SetSize(p.W, p.H)
		return p, nil
	}
	if p.dialog != nil {
		cmd, closed := p.dialog.Update(msg)
		if closed {
			p.dialog, p.detail = nil, nil
			return p, tea.Batch(cmd, p.Refresh())
		}
		return p, cmd
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, nil
	}
	sel := p.detail
	if sel == nil {
		if r, ok := p.T.Selected(); ok {
			e := p.entries[r.ID]
			sel = &e
		}
	}
	switch {
	case key.Matches(km, p.keys.Undo) && sel != nil:
		if p.c.Info.ReadOnly {
			return p, screen.Error(errors.New(p.c.ReadOnlyText()))
		}
		p.planning = sel.ID
		svc, id := p.c.Svc, sel.ID
		ctx, cancel := p.c.Ctx()
		return p, func() tea.Msg {
			defer cancel()
			plan, err := svc.PlanUndo(ctx, id)
			return UndoPlanMsg{ID: id, Plan: plan, Err: err}
		}
	case key.Matches(km, p.keys.Copy) && sel != nil:
		return p, screen.Copy("audit id", sel.ID)
	case p.detail != nil:
		var cmd tea.Cmd
		p.vp, cmd = p.vp.Update(km)
		return p, cmd
	case key.Matches(km, p.keys.Open) && sel != nil:
		e := *sel
		p.detail = &e
		p.vp.SetContent(p.detailText(e))
		p.vp.GotoTop()
	default:
		p.T.Update(km)
	}
	return p, nil
}

func (p *Page) detailText(e ops.AuditEntry) string {
	st := p.c.Styles
	var b strings.Builder
	l := func(k, v string) {
		if v != "" {
			b.WriteString(st.Label.Render(fmt.Sprintf("%-9s", k)) + " " + v + "\n")
		}
	}
	out := st.OK.Render(e.Outcome)
	if e.Outcome != "ok" {
		out = st.Bad.Render(e.Outcome)
	}
	l("id", st.Value.Render(e.ID))
	l("time", e.Time.UTC().Format(time.RFC3339))
	l("who", fmt.Sprintf("%s on %s %s", e.User, e.Host, e.SSHClient))
	l("action", e.Action)
	l("outcome", out)
	l("error", e.Error)
	l("cluster", e.Cluster)
	l("group", e.Group)
	l("topic", e.Topic)
	l("job", e.Job)
	l("undoes", e.UndoOf)
	l("command", e.Command)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l(k, e.Details[k])
	}
	if len(e.Before) > 0 || len(e.After) > 0 {
		b.WriteString("\n" + st.TableHeader.Render(fmt.Sprintf("%-24s %5s %12s %12s", "TOPIC", "PART", "BEFORE", "AFTER")) + "\n")
		after := map[string]int64{}
		for _, a := range e.After {
			after[fmt.Sprintf("%s/%d", a.Topic, a.Partition)] = a.Offset
		}
		for _, bf := range e.Before {
			a, ok := after[fmt.Sprintf("%s/%d", bf.Topic, bf.Partition)]
			as := "-"
			if ok {
				as = fmt.Sprint(a)
			}
			fmt.Fprintf(&b, "%-24s %5d %12d %12s\n", table.Fit(bf.Topic, 24, false, st.Glyphs.Ellipsis), bf.Partition, bf.Offset, as)
		}
		if len(e.Before) > 0 && !p.c.Info.ReadOnly {
			b.WriteString("\n" + st.Muted.Render("u plans an undo that restores the BEFORE offsets; you confirm it first."))
		}
	}
	return b.String()
}

// View implements tea.Model.
func (p *Page) View() string {
	st := p.c.Styles
	switch {
	case p.dialog != nil:
		return p.dialog.View()
	case p.detail != nil:
		return p.vp.View()
	case !p.loaded:
		return st.Muted.Render(" loading the audit log...")
	}
	return p.T.View()
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding {
	if p.dialog != nil {
		return p.dialog.ShortHelp()
	}
	return []key.Binding{p.keys.Open, p.keys.Undo, p.keys.Copy}
}

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding {
	if p.dialog != nil {
		return p.dialog.FullHelp()
	}
	return [][]key.Binding{{p.keys.Open, p.keys.Undo, p.keys.Copy}, p.keys.Table.List()}
}
