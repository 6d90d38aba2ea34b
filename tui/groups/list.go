// Package groups holds the consumer group screens: the list (state,
// members, lag, time lag, lag status and a sparkline of sampled lag), the
// group detail (per-partition offsets and members) and the reset and replay
// dialogs opened from it.
//
//	l := groups.NewList(c)
//	cmd := l.Open("")
package groups

import (
	"context"
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

// samples is how many lag samples the list keeps per group for sparklines.
const samples = 30

// ListMsg carries a ListGroups result.
type ListMsg struct {
	Cluster string
	Groups  []ops.GroupSummary
	Err     error
	At      time.Time
}

// ListKeys are the group list's keys.
type ListKeys struct {
	Open, Copy key.Binding
	Table      screen.TableKeys
}

// List is the group list page.
type List struct {
	table.Page
	c       *screen.Common
	keys    ListKeys
	load    screen.Load
	loaded  bool
	history map[string][]int64
}

// NewList returns the group list.
func NewList(c *screen.Common) *List {
	st := &c.Styles
	t := table.New(st, []table.Column{
		{Title: "GROUP", Width: 14, Flex: true},
		{Title: "STATE", Width: 11},
		{Title: "MEMB", Width: 4, Right: true},
		{Title: "LAG", Width: 9, Right: true},
		{Title: "TIME LAG", Width: 8, Right: true},
		{Title: "STATUS", Width: 6, Color: func(s string) lipgloss.Style { return st.StatusWord(s) }},
		{Title: "TREND", Width: 10, Drop: 1},
		{Title: "TOPICS", Width: 10, Flex: true, Drop: 2},
	})
	t.Empty = emptyGroups
	return &List{Page: table.Page{T: t}, c: c, history: map[string][]int64{}, keys: ListKeys{
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open group")),
		Copy:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy name")),
		Table: t.Keys,
	}}
}

// Title implements screen.Page.
func (l *List) Title() string { return "groups" }

// Open implements screen.Page.
func (l *List) Open(arg string) tea.Cmd {
	if arg != "" {
		l.T.SetFilter(arg)
	}
	return l.Refresh()
}

// Refresh implements screen.Page.
func (l *List) Refresh() tea.Cmd {
	svc, cluster, now := l.c.Svc, l.c.Cluster, l.c.Now
	return l.load.Start(l.c, func(ctx context.Context) tea.Msg {
		gs, err := svc.ListGroups(ctx, cluster)
		return ListMsg{Cluster: cluster, Groups: gs, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (l *List) Loading() bool { return l.load.Busy() }

// Update implements tea.Model.
func (l *List) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ListMsg:
		l.load.Done()
		if msg.Cluster != l.c.Cluster {
			return l, l.Refresh()
		}
		if msg.Err != nil {
			// Say why there is nothing to show, not "no consumer groups".
			l.T.Empty = fmt.Sprintf("cannot list the groups of cluster %s: %v", l.c.ClusterName(), msg.Err)
			if !l.loaded {
				l.T.SetRows(nil)
			}
			return l, screen.Error(msg.Err)
		}
		l.loaded = true
		l.T.Empty = emptyGroups
		l.setGroups(msg.Groups)
		return l, screen.Refreshed(msg.At)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, l.keys.Open):
			if r, ok := l.T.Selected(); ok {
				return l, screen.Navigate(screen.GroupDetail, r.ID)
			}
		case key.Matches(msg, l.keys.Copy):
			if r, ok := l.T.Selected(); ok {
				return l, screen.Copy("group name", r.ID)
			}
		default:
			l.T.Update(msg)
		}
	}
	return l, nil
}

func (l *List) setGroups(gs []ops.GroupSummary) {
	rows := make([]table.Row, len(gs))
	seen := map[string]bool{}
	for i, g := range gs {
		h := append(l.history[g.Group], g.Lag)
		if len(h) > samples {
			h = h[len(h)-samples:]
		}
		l.history[g.Group] = h
		seen[g.Group] = true
		status := g.Status
		if g.Error != "" {
			status = "ERR"
		} else if g.Owner != "" {
			status = ownerWord(g.Owner) // kdeck's own bookkeeping, not judged
		} else if status == "" {
			status = "-"
		}
		rows[i] = table.Row{ID: g.Group,
			Cells: []string{g.Group, g.State, fmt.Sprint(g.Members), humanize.Count(g.Lag), humanize.Seconds(g.TimeLagEstimate), status,
				format.Sparkline(h, l.c.Styles.Glyphs.Spark, 10), strings.Join(g.Topics, ",")},
			Sort: []any{g.Group, g.State, g.Members, g.Lag, g.TimeLagEstimate, status, g.Lag, strings.Join(g.Topics, ",")}}
	}
	for g := range l.history {
		if !seen[g] {
			delete(l.history, g)
		}
	}
	l.T.SetRows(rows)
}

// History returns the lag samples the list has taken of a group, oldest
// first.
func (l *List) History(group string) []int64 { return l.history[group] }

// View implements tea.Model.
func (l *List) View() string {
	if !l.loaded && l.load.Busy() {
		return l.c.Styles.Muted.Render(" loading groups...")
	}
	return l.T.View()
}

// ShortHelp implements help.KeyMap.
func (l *List) ShortHelp() []key.Binding {
	return []key.Binding{l.keys.Open, l.keys.Table.Sort, l.keys.Copy}
}

// FullHelp implements help.KeyMap.
func (l *List) FullHelp() [][]key.Binding {
	return [][]key.Binding{{l.keys.Open, l.keys.Copy}, l.keys.Table.List()}
}

// emptyGroups is what the list says when the cluster answered with none.
const emptyGroups = "no consumer groups on this cluster"

// ownerWord is the status cell of a group kept by one of kdeck's jobs: the
// job's kind ("mirror"), as the owner is "KIND NAME".
func ownerWord(owner string) string {
	kind, _, _ := strings.Cut(owner, " ")
	return kind
}
