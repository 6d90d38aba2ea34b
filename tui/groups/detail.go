package groups

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// DetailMsg carries a DescribeGroup result.
type DetailMsg struct {
	Cluster, Group string
	Detail         ops.GroupDetail
	Err            error
	At             time.Time
}

// DetailKeys are the group detail's keys.
type DetailKeys struct {
	Reset, Replay, Tail, Copy key.Binding
	Table                     screen.TableKeys
}

// Detail is the group detail page: a summary, per-partition offsets and
// members, and the reset and replay dialogs.
type Detail struct {
	c       *screen.Common
	group   string
	d       ops.GroupDetail
	loaded  bool
	load    screen.Load
	samples []int64
	parts   *table.Model
	members *table.Model
	pane    int
	dialog  *ResetDialog
	keys    DetailKeys
	w, h    int
}

// NewDetail returns the group detail page.
func NewDetail(c *screen.Common) *Detail {
	st := &c.Styles
	parts := table.New(st, []table.Column{
		{Title: "TOPIC", Width: 12, Flex: true},
		{Title: "PART", Width: 4, Right: true},
		{Title: "COMMITTED", Width: 9, Right: true},
		{Title: "END", Width: 9, Right: true},
		{Title: "LAG", Width: 8, Right: true},
		{Title: "TIME LAG", Width: 8, Right: true},
		{Title: "STATUS", Width: 6, Color: func(s string) lipgloss.Style { return st.StatusWord(s) }},
		{Title: "CLIENT", Width: 0, Flex: true},
	})
	parts.Empty = "no committed offsets"
	members := table.New(st, []table.Column{
		{Title: "MEMBER", Width: 16, Flex: true},
		{Title: "CLIENT", Width: 14},
		{Title: "HOST", Width: 14},
		{Title: "ASSIGNED", Width: 10, Flex: true},
	})
	members.Empty = "no active members"
	members.Focus(false)
	ro := c.Info.ReadOnly
	reset := key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset offsets (!)"))
	replay := key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "replay as new group (!)"))
	if ro {
		reset.SetHelp("r", "reset: off, read-only")
		replay.SetHelp("R", "replay: off, read-only")
	}
	return &Detail{c: c, parts: parts, members: members, keys: DetailKeys{
		Reset:  reset,
		Replay: replay,
		Tail:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tail topic")),
		Copy:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy row")),
		Table:  parts.Keys,
	}}
}

// Init implements tea.Model.
func (p *Detail) Init() tea.Cmd { return nil }

// Title implements screen.Page.
func (p *Detail) Title() string { return "group " + p.group }

// Group returns the group shown.
func (p *Detail) Group() string { return p.group }

// Dialog returns the open reset or replay dialog, or nil.
func (p *Detail) Dialog() *ResetDialog { return p.dialog }

// SetSize implements screen.Page.
func (p *Detail) SetSize(w, h int) {
	p.w, p.h = w, h
	body := max(h-3, 4)
	ph := max(body*2/3, 3)
	p.parts.SetSize(w, ph)
	p.members.SetSize(w, max(body-ph-1, 2))
	if p.dialog != nil {
		p.dialog.SetSize(w, h)
	}
}

// Open implements screen.Page.
func (p *Detail) Open(arg string) tea.Cmd {
	if arg != p.group {
		p.group, p.loaded, p.samples, p.d = arg, false, nil, ops.GroupDetail{}
		p.load = screen.Load{}
		p.dialog = nil
		p.parts.SetRows(nil)
		p.members.SetRows(nil)
	}
	return p.Refresh()
}

// Refresh implements screen.Page; it pauses while a dialog is open so the
// plan is not overtaken by a newer view.
func (p *Detail) Refresh() tea.Cmd {
	if p.group == "" || p.dialog != nil {
		return nil
	}
	svc, cluster, group, now := p.c.Svc, p.c.Cluster, p.group, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		d, err := svc.DescribeGroup(ctx, cluster, group)
		return DetailMsg{Cluster: cluster, Group: group, Detail: d, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Detail) Loading() bool { return p.load.Busy() }

// Capturing implements screen.Page.
func (p *Detail) Capturing() bool { return p.dialog != nil }

// SetFilter implements screen.Filterable.
func (p *Detail) SetFilter(s string) { p.parts.SetFilter(s) }

// Filter implements screen.Filterable.
func (p *Detail) Filter() string { return p.parts.Filter() }

// Update implements tea.Model.
func (p *Detail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m, ok := msg.(DetailMsg); ok {
		p.load.Done()
		if m.Cluster != p.c.Cluster || m.Group != p.group {
			return p, p.Refresh()
		}
		if m.Err != nil {
			return p, screen.Error(m.Err)
		}
		p.loaded = true
		p.set(m.Detail)
		return p, screen.Refreshed(m.At)
	}
	if p.dialog != nil {
		cmd, closed := p.dialog.Update(msg)
		if closed {
			p.dialog = nil
			return p, tea.Batch(cmd, p.Refresh())
		}
		return p, cmd
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, nil
	}
	switch {
	case key.Matches(km, p.keys.Table.Pane):
		p.pane = 1 - p.pane
		p.parts.Focus(p.pane == 0)
		p.members.Focus(p.pane == 1)
	case key.Matches(km, p.keys.Reset), key.Matches(km, p.keys.Replay):
		if p.c.Info.ReadOnly {
			return p, screen.Error(errors.New(p.c.ReadOnlyText()))
		}
		if !p.loaded {
			return p, screen.Status("wait for the group to load")
		}
		var sel *ops.PartitionOffset
		if r, ok := p.parts.Selected(); ok && p.pane == 0 {
			for i := range p.d.Offsets {
				o := &p.d.Offsets[i]
				if fmt.Sprintf("%s/%d", o.Topic, o.Partition) == r.ID {
					sel = o
				}
			}
		}
		p.dialog = NewResetDialog(p.c, p.d, key.Matches(km, p.keys.Replay), sel)
		p.dialog.SetSize(p.w, p.h)
	case key.Matches(km, p.keys.Tail):
		if r, ok := p.parts.Selected(); ok {
			return p, screen.Navigate(screen.Records, strings.SplitN(r.ID, "/", 2)[0])
		}
		if len(p.d.Topics) > 0 {
			return p, screen.Navigate(screen.Records, p.d.Topics[0])
		}
	case key.Matches(km, p.keys.Copy):
		t := p.parts
		if p.pane == 1 {
			t = p.members
		}
		if r, ok := t.Selected(); ok {
			return p, screen.Copy("row", strings.Join(r.Cells, "\t"))
		}
	default:
		if p.pane == 0 {
			p.parts.Update(km)
		} else {
			p.members.Update(km)
		}
	}
	return p, nil
}

func (p *Detail) set(d ops.GroupDetail) {
	p.d = d
	p.samples = append(p.samples, d.Lag)
	if len(p.samples) > samples {
		p.samples = p.samples[len(p.samples)-samples:]
	}
	rows := make([]table.Row, len(d.Offsets))
	for i, o := range d.Offsets {
		client := o.ClientID
		if o.Host != "" {
			client += " " + o.Host
		}
		status := o.Status
		if o.Error != "" {
			status = "ERR"
			client = o.Error
		}
		lag, timeLag := humanize.Count(o.Lag), humanize.Seconds(o.TimeLag)
		if o.Committed < 0 {
			lag, timeLag = "-", "-" // no commit: as kafka-consumer-groups prints it
		}
		rows[i] = table.Row{ID: fmt.Sprintf("%s/%d", o.Topic, o.Partition),
			Cells: []string{o.Topic, fmt.Sprint(o.Partition), humanize.Offset(o.Committed), fmt.Sprint(o.LogEndOffset), lag, timeLag, status, client},
			Sort:  []any{o.Topic, o.Partition, o.Committed, o.LogEndOffset, o.Lag, o.TimeLag, status, client}}
	}
	p.parts.SetRows(rows)
	mrows := make([]table.Row, len(d.MemberList))
	for i, m := range d.MemberList {
		var as []string
		for _, s := range m.Assigned {
			as = append(as, s.Topic+"["+format.Int32s(s.Partitions)+"]")
		}
		mrows[i] = table.Row{ID: m.MemberID, Cells: []string{m.MemberID, m.ClientID, m.Host, strings.Join(as, " ")}}
	}
	p.members.SetRows(mrows)
}

// trend returns the lag history: ops's samples when it has them, else the
// ones this page took on each refresh.
func (p *Detail) trend() []int64 {
	if len(p.d.LagHistory) > 1 {
		out := make([]int64, len(p.d.LagHistory))
		for i, s := range p.d.LagHistory {
			out[i] = s.Lag
		}
		return out
	}
	return p.samples
}

// View implements tea.Model.
func (p *Detail) View() string {
	st := p.c.Styles
	if p.dialog != nil {
		return p.dialog.View()
	}
	if !p.loaded {
		return st.Muted.Render(" loading group " + p.group + "...")
	}
	d := p.d
	status := d.Status
	if status == "" {
		status = "-"
	}
	l1 := fmt.Sprintf(" %s  %s %s  %s %s  %s %d  %s %d",
		st.Title.Render(d.Group), st.Label.Render("state"), st.StatusWord(d.State).Render(d.State),
		st.Label.Render("protocol"), d.Protocol, st.Label.Render("members"), d.Members, st.Label.Render("coordinator"), d.Coordinator)
	sw := max(min(p.w-60, 40), 8)
	l2 := fmt.Sprintf(" %s %s  %s %s  %s %s  %s %s",
		st.Label.Render("lag"), st.Value.Render(humanize.Count(d.Lag)), st.Label.Render("time lag"), humanize.Seconds(d.TimeLagEstimate),
		st.Label.Render("status"), st.StatusWord(status).Render(status),
		st.Label.Render("trend"), st.Accent.Render(format.Sparkline(p.trend(), st.Glyphs.Spark, sw)))
	if d.Error != "" {
		l2 = " " + st.StatusError.Render(d.Error)
	}
	hint := ""
	if p.c.Info.ReadOnly {
		hint = st.Muted.Render(" read-only: reset and replay are disabled")
	}
	title := func(s string, focused bool) string {
		if focused {
			return st.Accent.Render(" " + s)
		}
		return st.Muted.Render(" " + s)
	}
	parts := lipgloss.JoinVertical(lipgloss.Left, lipgloss.NewStyle().MaxWidth(p.w).Render(l1), lipgloss.NewStyle().MaxWidth(p.w).Render(l2), hint,
		p.parts.View(), title(fmt.Sprintf("members (%d)", len(d.MemberList)), p.pane == 1), p.members.View())
	return lipgloss.NewStyle().MaxHeight(p.h).Render(parts)
}

// ShortHelp implements help.KeyMap.
func (p *Detail) ShortHelp() []key.Binding {
	if p.dialog != nil {
		return p.dialog.ShortHelp()
	}
	return []key.Binding{p.keys.Reset, p.keys.Replay, p.keys.Table.Pane, p.keys.Tail}
}

// FullHelp implements help.KeyMap.
func (p *Detail) FullHelp() [][]key.Binding {
	if p.dialog != nil {
		return p.dialog.FullHelp()
	}
	return [][]key.Binding{{p.keys.Reset, p.keys.Replay, p.keys.Tail, p.keys.Copy, p.keys.Table.Pane}, p.keys.Table.List()}
}
