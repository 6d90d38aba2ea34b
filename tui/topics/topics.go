// Package topics holds the topic screens: the list (partitions, replication
// factor, records) and a topic's detail (partitions with leader, replicas,
// ISR and watermarks; configs).
//
//	l := topics.NewList(c)
//	d := topics.NewDetail(c)
//	cmd := d.Open("demo.orders")
package topics

import (
	"context"
	"fmt"
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

// ListMsg carries a ListTopics result.
type ListMsg struct {
	Cluster  string
	Internal bool
	Topics   []ops.TopicSummary
	Err      error
	At       time.Time
}

// ListKeys are the topic list's keys.
type ListKeys struct {
	Open, Tail, Internal, Copy key.Binding
	Table                      screen.TableKeys
}

// List is the topic list page.
type List struct {
	table.Page
	c        *screen.Common
	keys     ListKeys
	internal bool
	load     screen.Load
	loaded   bool
}

// NewList returns the topic list.
func NewList(c *screen.Common) *List {
	t := table.New(&c.Styles, []table.Column{
		{Title: "TOPIC", Width: 20, Flex: true},
		{Title: "PARTITIONS", Width: 10, Right: true},
		{Title: "RF", Width: 3, Right: true},
		{Title: "RECORDS", Width: 14, Right: true},
		{Title: "INTERNAL", Width: 8},
	})
	t.Empty = "no topics"
	return &List{Page: table.Page{T: t}, c: c, keys: ListKeys{
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open topic")),
		Tail:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tail records")),
		Internal: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "internal topics")),
		Copy:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy name")),
		Table:    t.Keys,
	}}
}

// Title implements screen.Page.
func (l *List) Title() string { return "topics" }

// Open implements screen.Page.
func (l *List) Open(arg string) tea.Cmd {
	if arg != "" {
		l.T.SetFilter(arg)
	}
	return l.Refresh()
}

// Refresh implements screen.Page.
func (l *List) Refresh() tea.Cmd {
	svc, cluster, internal, now := l.c.Svc, l.c.Cluster, l.internal, l.c.Now
	return l.load.Start(l.c, func(ctx context.Context) tea.Msg {
		ts, err := svc.ListTopics(ctx, cluster, ops.ListTopicsOptions{Internal: internal})
		return ListMsg{Cluster: cluster, Internal: internal, Topics: ts, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (l *List) Loading() bool { return l.load.Busy() }

// Update implements tea.Model.
func (l *List) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ListMsg:
		l.load.Done()
		if msg.Cluster != l.c.Cluster || msg.Internal != l.internal {
			return l, l.Refresh()
		}
		if msg.Err != nil {
			return l, screen.Error(msg.Err)
		}
		l.loaded = true
		rows := make([]table.Row, len(msg.Topics))
		for i, t := range msg.Topics {
			in := ""
			if t.Internal {
				in = "yes"
			}
			rows[i] = table.Row{ID: t.Name, Cells: []string{t.Name, fmt.Sprint(t.Partitions), fmt.Sprint(t.ReplicationFactor), humanize.Count(t.Records), in},
				Sort: []any{t.Name, t.Partitions, t.ReplicationFactor, t.Records, in}}
		}
		l.T.SetRows(rows)
		return l, screen.Refreshed(msg.At)
	case tea.KeyMsg:
		r, ok := l.T.Selected()
		switch {
		case key.Matches(msg, l.keys.Open) && ok:
			return l, screen.Navigate(screen.TopicDetail, r.ID)
		case key.Matches(msg, l.keys.Tail) && ok:
			return l, screen.Navigate(screen.Records, r.ID)
		case key.Matches(msg, l.keys.Copy) && ok:
			return l, screen.Copy("topic name", r.ID)
		case key.Matches(msg, l.keys.Internal):
			l.internal = !l.internal
			l.load.Done()
			return l, l.Refresh()
		default:
			l.T.Update(msg)
		}
	}
	return l, nil
}

// View implements tea.Model.
func (l *List) View() string {
	if !l.loaded {
		return l.c.Styles.Muted.Render(" loading topics...")
	}
	return l.T.View()
}

// ShortHelp implements help.KeyMap.
func (l *List) ShortHelp() []key.Binding {
	return []key.Binding{l.keys.Open, l.keys.Tail, l.keys.Table.Sort}
}

// FullHelp implements help.KeyMap.
func (l *List) FullHelp() [][]key.Binding {
	return [][]key.Binding{{l.keys.Open, l.keys.Tail, l.keys.Internal, l.keys.Copy}, l.keys.Table.List()}
}

// DetailMsg carries a DescribeTopic result.
type DetailMsg struct {
	Cluster, Topic string
	Detail         ops.TopicDetail
	Err            error
	At             time.Time
}

// Detail is a topic's detail page: partitions and configs, tab between.
type Detail struct {
	c       *screen.Common
	topic   string
	d       ops.TopicDetail
	parts   *table.Model
	configs *table.Model
	pane    int
	load    screen.Load
	loaded  bool
	keys    ListKeys
	w, h    int
}

// NewDetail returns the topic detail page.
func NewDetail(c *screen.Common) *Detail {
	st := &c.Styles
	parts := table.New(st, []table.Column{
		{Title: "PART", Width: 4, Right: true},
		{Title: "LEADER", Width: 6, Right: true},
		{Title: "REPLICAS", Width: 10},
		{Title: "ISR", Width: 10},
		{Title: "START", Width: 10, Right: true},
		{Title: "END", Width: 10, Right: true},
		{Title: "RECORDS", Width: 10, Right: true},
		{Title: "ERROR", Width: 0, Flex: true, Color: func(string) lipgloss.Style { return st.Bad }},
	})
	configs := table.New(st, []table.Column{
		{Title: "CONFIG", Width: 30},
		{Title: "VALUE", Width: 20, Flex: true},
		{Title: "SOURCE", Width: 20},
	})
	configs.Focus(false)
	l := NewList(c)
	return &Detail{c: c, parts: parts, configs: configs, keys: l.keys}
}

// Init implements tea.Model.
func (p *Detail) Init() tea.Cmd { return nil }

// Title implements screen.Page.
func (p *Detail) Title() string { return "topic " + p.topic }

// SetSize implements screen.Page.
func (p *Detail) SetSize(w, h int) {
	p.w, p.h = w, h
	body := max(h-2, 4)
	ph := max(body*3/5, 3)
	p.parts.SetSize(w, ph)
	p.configs.SetSize(w, max(body-ph-1, 2))
}

// Open implements screen.Page.
func (p *Detail) Open(arg string) tea.Cmd {
	if arg != p.topic {
		p.topic, p.loaded, p.load = arg, false, screen.Load{}
	}
	return p.Refresh()
}

// Refresh implements screen.Page.
func (p *Detail) Refresh() tea.Cmd {
	if p.topic == "" {
		return nil
	}
	svc, cluster, topic, now := p.c.Svc, p.c.Cluster, p.topic, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		d, err := svc.DescribeTopic(ctx, cluster, topic)
		return DetailMsg{Cluster: cluster, Topic: topic, Detail: d, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Detail) Loading() bool { return p.load.Busy() }

// Capturing implements screen.Page.
func (p *Detail) Capturing() bool { return false }

// SetFilter implements screen.Filterable (the configs table).
func (p *Detail) SetFilter(s string) { p.configs.SetFilter(s) }

// Filter implements screen.Filterable.
func (p *Detail) Filter() string { return p.configs.Filter() }

// Update implements tea.Model.
func (p *Detail) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case DetailMsg:
		p.load.Done()
		if msg.Cluster != p.c.Cluster || msg.Topic != p.topic {
			return p, p.Refresh()
		}
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		p.loaded, p.d = true, msg.Detail
		rows := make([]table.Row, len(msg.Detail.Partitions))
		for i, pd := range msg.Detail.Partitions {
			rows[i] = table.Row{ID: fmt.Sprint(pd.Partition),
				Cells: []string{fmt.Sprint(pd.Partition), fmt.Sprint(pd.Leader), format.Int32s(pd.Replicas), format.Int32s(pd.ISR),
					fmt.Sprint(pd.LogStartOffset), fmt.Sprint(pd.LogEndOffset), humanize.Count(pd.LogEndOffset - pd.LogStartOffset), pd.Error},
				Sort: []any{pd.Partition, pd.Leader, len(pd.Replicas), len(pd.ISR), pd.LogStartOffset, pd.LogEndOffset, pd.LogEndOffset - pd.LogStartOffset, pd.Error}}
		}
		p.parts.SetRows(rows)
		crows := make([]table.Row, len(msg.Detail.Configs))
		for i, c := range msg.Detail.Configs {
			v := c.Value
			if c.Sensitive {
				v = "(sensitive)"
			}
			crows[i] = table.Row{ID: c.Name, Cells: []string{c.Name, v, c.Source}}
		}
		p.configs.SetRows(crows)
		return p, screen.Refreshed(msg.At)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, p.keys.Table.Pane):
			p.pane = 1 - p.pane
			p.parts.Focus(p.pane == 0)
			p.configs.Focus(p.pane == 1)
		case key.Matches(msg, p.keys.Tail):
			return p, screen.Navigate(screen.Records, p.topic)
		case key.Matches(msg, p.keys.Copy):
			if r, ok := p.configs.Selected(); ok && p.pane == 1 {
				return p, screen.Copy("config", r.Cells[0]+"="+r.Cells[1])
			}
			return p, screen.Copy("topic name", p.topic)
		default:
			if p.pane == 0 {
				p.parts.Update(msg)
			} else {
				p.configs.Update(msg)
			}
		}
	}
	return p, nil
}

// View implements tea.Model.
func (p *Detail) View() string {
	st := p.c.Styles
	if !p.loaded {
		return st.Muted.Render(" loading topic " + p.topic + "...")
	}
	d := p.d
	head := fmt.Sprintf(" %s  %s %d  %s %d  %s %s  %s %s", st.Title.Render(d.Name), st.Label.Render("partitions"), len(d.Partitions),
		st.Label.Render("rf"), d.ReplicationFactor, st.Label.Render("records"), humanize.Count(d.Records), st.Label.Render("id"), d.ID)
	ct := st.Muted.Render(fmt.Sprintf(" configs (%d)", len(d.Configs)))
	if p.pane == 1 {
		ct = st.Accent.Render(fmt.Sprintf(" configs (%d)", len(d.Configs)))
	}
	return lipgloss.NewStyle().MaxHeight(p.h).MaxWidth(p.w).Render(
		lipgloss.JoinVertical(lipgloss.Left, head, p.parts.View(), ct, p.configs.View()))
}

// ShortHelp implements help.KeyMap.
func (p *Detail) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Table.Pane, p.keys.Tail, p.keys.Copy}
}

// FullHelp implements help.KeyMap.
func (p *Detail) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.keys.Table.Pane, p.keys.Tail, p.keys.Copy}, p.keys.Table.List()}
}
