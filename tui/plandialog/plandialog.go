// Package plandialog shows an ops.Plan (before, after, delta per partition,
// with totals), asks the user to confirm it by typing the name of the group
// whose offsets change, executes it with Service.ExecutePlan in a tea.Cmd,
// and shows the outcome and its audit id. The reset and replay dialogs and
// the audit screen's undo use it.
//
//	d := plandialog.New(c, "Reset demo-billing", plan)
//	cmd, closed := d.Update(msg)
package plandialog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/format"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// State is where the dialog is.
type State int

// Dialog states.
const (
	Confirming State = iota
	Executing
	Done
	Failed
)

// ExecutedMsg carries ExecutePlan's outcome.
type ExecutedMsg struct {
	Plan  *ops.Plan
	Entry ops.AuditEntry
	Err   error
}

// Keys are the dialog's keys.
type Keys struct {
	Confirm, Cancel, Copy, Up, Down key.Binding
}

// Model is the dialog. Build it with New.
type Model struct {
	c     *screen.Common
	title string
	plan  *ops.Plan
	rows  *table.Model
	input textinput.Model
	state State
	entry ops.AuditEntry
	err   error
	w, h  int
	// Keys are the dialog's key bindings.
	Keys Keys
}

// New returns a dialog confirming plan, titled title.
func New(c *screen.Common, title string, plan *ops.Plan) *Model {
	st := &c.Styles
	t := table.New(st, []table.Column{
		{Title: "TOPIC", Width: 10, Flex: true},
		{Title: "PART", Width: 4, Right: true},
		{Title: "CURRENT", Width: 9, Right: true},
		{Title: "NEW", Width: 9, Right: true},
		{Title: "DELTA", Width: 8, Right: true},
		{Title: "NOTE", Width: 6, Flex: true},
	})
	t.Empty = "the plan changes no partition"
	rows := make([]table.Row, len(plan.Rows))
	for i, r := range plan.Rows {
		delta := humanize.Count(r.Delta)
		if r.Delta > 0 {
			delta = "+" + delta
		}
		rows[i] = table.Row{ID: fmt.Sprintf("%s/%d", r.Topic, r.Partition),
			Cells: []string{r.Topic, fmt.Sprint(r.Partition), humanize.Offset(r.Current), humanize.Offset(r.New), delta, r.Note},
			Sort:  []any{r.Topic, r.Partition, r.Current, r.New, r.Delta, r.Note}}
	}
	t.SetRows(rows)
	in := screen.NewInput("> ", 256)
	in.Focus()
	return &Model{c: c, title: title, plan: plan, rows: t, input: in, Keys: Keys{
		Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "execute (after typing the group name)")),
		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Copy:    key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy plan")),
		Up:      key.NewBinding(key.WithKeys("up"), key.WithHelp(c.Styles.Glyphs.Up, "scroll")),
		Down:    key.NewBinding(key.WithKeys("down"), key.WithHelp(c.Styles.Glyphs.Down, "scroll")),
	}}
}

// State returns the dialog's state.
func (m *Model) State() State { return m.state }

// Entry returns the audit entry of an executed plan.
func (m *Model) Entry() ops.AuditEntry { return m.entry }

// Err returns why execution failed or the confirmation was refused.
func (m *Model) Err() error { return m.err }

// Plan returns the plan shown.
func (m *Model) Plan() *ops.Plan { return m.plan }

// SetSize sets the dialog's size.
func (m *Model) SetSize(w, h int) {
	m.w, m.h = w, h
	m.rows.SetSize(w-4, max(h-10, 3))
	m.input.Width = max(w-10, 10)
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	if m.state == Done || m.state == Failed {
		return []key.Binding{m.Keys.Cancel}
	}
	return []key.Binding{m.Keys.Confirm, m.Keys.Cancel, m.Keys.Copy}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	return [][]key.Binding{m.ShortHelp(), {m.Keys.Up, m.Keys.Down}}
}

// Update handles a message; closed reports that the user dismissed the
// dialog (after cancelling, or after seeing the outcome).
func (m *Model) Update(msg tea.Msg) (cmd tea.Cmd, closed bool) {
	switch msg := msg.(type) {
	case ExecutedMsg:
		if msg.Plan != m.plan {
			return nil, false
		}
		m.entry, m.err = msg.Entry, msg.Err
		if msg.Err != nil {
			m.state = Failed
			return screen.Error(msg.Err), false
		}
		m.state = Done
		return screen.Status(fmt.Sprintf("%s: done, audit id %s (undo it from the audit screen)", m.title, msg.Entry.ID)), false
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, m.Keys.Cancel):
			if m.state == Executing {
				return nil, false
			}
			return nil, true
		case key.Matches(msg, m.Keys.Copy):
			return screen.Copy("plan", PlanText(m.plan)), false
		case m.state == Done || m.state == Failed:
			if key.Matches(msg, m.Keys.Confirm) {
				return nil, true
			}
			return nil, false
		case m.state == Executing:
			return nil, false
		case key.Matches(msg, m.Keys.Confirm):
			return m.confirm(), false
		case key.Matches(msg, m.Keys.Up), key.Matches(msg, m.Keys.Down):
			m.rows.Update(msg)
			return nil, false
		}
		var c tea.Cmd
		m.input, c = m.input.Update(msg)
		return c, false
	}
	return nil, false
}

// confirm checks the typed name and starts execution.
func (m *Model) confirm() tea.Cmd {
	typed := strings.TrimSpace(m.input.Value())
	if typed != m.plan.Group {
		m.err = fmt.Errorf("confirmation refused: type the group name %q exactly to execute this plan, or esc to cancel", m.plan.Group)
		return screen.Error(m.err)
	}
	if m.c.Info.ReadOnly {
		m.err = errors.New(m.c.ReadOnlyText())
		return screen.Error(m.err)
	}
	m.err = nil
	m.state = Executing
	svc, plan := m.c.Svc, m.plan
	timeout, ctx := m.c.Timeout, m.c.Context()
	return func() tea.Msg {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 3*timeout)
			defer cancel()
		}
		e, err := svc.ExecutePlan(ctx, plan)
		return ExecutedMsg{Plan: plan, Entry: e, Err: err}
	}
}

// View renders the dialog.
func (m *Model) View() string {
	st := m.c.Styles
	p := m.plan
	var b strings.Builder
	b.WriteString(st.DangerTitle.Render("! "+m.title) + "\n")
	what := fmt.Sprintf("group %s on cluster %s", p.Group, p.Cluster)
	if p.SourceGroup != "" {
		what += fmt.Sprintf(", offsets computed from %s", p.SourceGroup)
	}
	if p.Mode != "" {
		what += ", mode " + string(p.Mode)
	}
	if p.Instant != nil {
		what += ", at " + p.Instant.UTC().Format("2006-01-02T15:04:05Z")
	}
	if p.UndoOf != "" {
		what += ", undoes " + p.UndoOf
	}
	// Wrapped here at spaces: the dialog's own wrap also breaks at '-',
	// which cut timestamps in two.
	for _, l := range format.Wrap(what, m.textWidth()) {
		b.WriteString(st.Muted.Render(l) + "\n")
	}
	t := p.Totals
	b.WriteString(fmt.Sprintf("%s partitions, %s changed, %s records read again, %s skipped\n",
		st.Value.Render(fmt.Sprint(t.Partitions)), st.Value.Render(fmt.Sprint(t.Changed)),
		st.Warn.Render(humanize.Count(t.Reread)), st.Warn.Render(humanize.Count(t.Skipped))))
	b.WriteString(m.rows.View() + "\n")
	switch m.state {
	case Confirming:
		b.WriteString(fmt.Sprintf("Type %s to execute (esc cancels):\n", st.Value.Render(p.Group)))
		b.WriteString(m.input.View())
		if m.err != nil {
			b.WriteString("\n" + st.StatusError.Render(m.err.Error()))
		}
	case Executing:
		b.WriteString(st.Warn.Render("executing..."))
	case Done:
		b.WriteString(st.OK.Render("Done.") + " audit id " + st.Value.Render(m.entry.ID) + "\n")
		b.WriteString(st.Muted.Render("Undo it from the audit screen (5, then u). enter or esc closes."))
	case Failed:
		b.WriteString(st.StatusError.Render("Refused: "+m.err.Error()) + "\n")
		b.WriteString(st.Muted.Render("Nothing was changed. esc closes."))
	}
	return st.Dialog.Width(max(m.w-2, 20)).Render(lipgloss.NewStyle().MaxHeight(max(m.h-2, 1)).Render(b.String()))
}

// PlanText renders a plan as plain text for the clipboard: a header line
// and one CSV line per partition (group,topic,partition,current,new,delta).
func PlanText(p *ops.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s plan for group %s on cluster %s (%s): %d partitions, %d changed, %d reread, %d skipped\n",
		p.Kind, p.Group, p.Cluster, p.Mode, p.Totals.Partitions, p.Totals.Changed, p.Totals.Reread, p.Totals.Skipped)
	b.WriteString("group,topic,partition,current,new,delta\n")
	for _, r := range p.Rows {
		fmt.Fprintf(&b, "%s,%s,%d,%d,%d,%d\n", p.Group, r.Topic, r.Partition, r.Current, r.New, r.Delta)
	}
	return b.String()
}

// textWidth is the width of the dialog's text: the screen less the dialog's
// margin, border and padding.
func (m *Model) textWidth() int { return max(m.w-2-m.c.Styles.Dialog.GetHorizontalFrameSize(), 18) }
