// Package schemas is the Schema Registry screen: the cluster's subjects
// with their latest version, schema id and format, and a subject's detail
// (compatibility level, versions, the topics that use it, the schema).
// It reads through ops.SchemaService, an optional interface of the
// service; a service without it (or a cluster without a registry) shows
// why on the status line.
//
//	p := schemas.New(c)
//	cmd := p.Open("")
package schemas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// ListMsg carries a ListSubjects result.
type ListMsg struct {
	Subjects []ops.SubjectSummary
	Err      error
	At       time.Time
}

// DetailMsg carries a Subject result.
type DetailMsg struct {
	Detail ops.SubjectDetail
	Err    error
}

// Keys are the subjects screen's keys.
type Keys struct {
	Open, Records, Copy key.Binding
	Table               screen.TableKeys
}

// Page is the subjects page.
type Page struct {
	table.Page
	c      *screen.Common
	keys   Keys
	load   screen.Load
	loaded bool

	detail *ops.SubjectDetail
	vp     viewport.Model
}

// ErrNoSchemaService reports a service without Schema Registry support.
var ErrNoSchemaService = errors.New("this service does not reach a schema registry")

// New returns the subjects page.
func New(c *screen.Common) *Page {
	st := &c.Styles
	t := table.New(st, []table.Column{
		{Title: "SUBJECT", Width: 24, Flex: true},
		{Title: "VERSION", Width: 7, Right: true},
		{Title: "VERSIONS", Width: 8, Right: true},
		{Title: "ID", Width: 6, Right: true},
		{Title: "FORMAT", Width: 11},
	})
	t.Empty = "no subjects: register one with 'kdeck schemas register SUBJECT --file F'"
	return &Page{Page: table.Page{T: t}, c: c, keys: Keys{
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "schema")),
		Records: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "records of its topic")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy schema")),
		Table:   t.Keys,
	}}
}

// Title implements screen.Page.
func (p *Page) Title() string { return "schemas" }

// SetSize implements screen.Page.
func (p *Page) SetSize(w, h int) {
	p.Page.SetSize(w, h)
	p.vp.Width, p.vp.Height = w, h
}

// Open implements screen.Page; arg filters the subjects.
func (p *Page) Open(arg string) tea.Cmd {
	p.detail = nil
	if arg != "" {
		p.T.SetFilter(arg)
	}
	return p.Refresh()
}

func (p *Page) service() (ops.SchemaService, error) {
	ss, ok := p.c.Svc.(ops.SchemaService)
	if !ok {
		return nil, ErrNoSchemaService
	}
	return ss, nil
}

// Refresh implements screen.Page.
func (p *Page) Refresh() tea.Cmd {
	ss, err := p.service()
	if err != nil {
		return screen.Error(err)
	}
	cluster, now := p.c.Cluster, p.c.Now
	return p.load.Start(p.c, func(ctx context.Context) tea.Msg {
		subs, err := ss.ListSubjects(ctx, cluster)
		return ListMsg{Subjects: subs, Err: err, At: now()}
	})
}

// Loading implements screen.Page.
func (p *Page) Loading() bool { return p.load.Busy() }

// Capturing implements screen.Page.
func (p *Page) Capturing() bool { return false }

// Back implements screen.Backer.
func (p *Page) Back() bool {
	if p.detail != nil {
		p.detail = nil
		return true
	}
	return false
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
		rows := make([]table.Row, len(msg.Subjects))
		for i, s := range msg.Subjects {
			format := s.Format
			if s.Error != "" {
				format = "error: " + s.Error
			}
			rows[i] = table.Row{ID: s.Subject, Cells: []string{s.Subject, fmt.Sprint(s.LatestVersion), fmt.Sprint(s.Versions), fmt.Sprint(s.SchemaID), format},
				Sort: []any{s.Subject, s.LatestVersion, s.Versions, s.SchemaID, format}}
		}
		p.T.SetRows(rows)
		return p, screen.Refreshed(msg.At)
	case DetailMsg:
		if msg.Err != nil {
			return p, screen.Error(msg.Err)
		}
		d := msg.Detail
		p.detail = &d
		p.vp.SetContent(p.detailText(d))
		p.vp.GotoTop()
		return p, nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, nil
	}
	switch {
	case p.detail != nil && key.Matches(km, p.keys.Copy):
		return p, screen.Copy("schema", p.detail.Latest.Schema)
	case p.detail != nil && key.Matches(km, p.keys.Records) && len(p.detail.Topics) > 0:
		return p, screen.Navigate(screen.Records, p.detail.Topics[0])
	case p.detail != nil:
		var cmd tea.Cmd
		p.vp, cmd = p.vp.Update(km)
		return p, cmd
	case key.Matches(km, p.keys.Open):
		r, ok := p.T.Selected()
		if !ok {
			return p, nil
		}
		ss, err := p.service()
		if err != nil {
			return p, screen.Error(err)
		}
		subject, cluster := r.ID, p.c.Cluster
		ctx, cancel := p.c.Ctx()
		return p, func() tea.Msg {
			defer cancel()
			d, err := ss.Subject(ctx, cluster, subject)
			return DetailMsg{Detail: d, Err: err}
		}
	default:
		p.T.Update(km)
	}
	return p, nil
}

func (p *Page) detailText(d ops.SubjectDetail) string {
	st := p.c.Styles
	var b strings.Builder
	l := func(k, v string) { b.WriteString(st.Label.Render(fmt.Sprintf("%-13s", k)) + " " + v + "\n") }
	l("subject", st.Value.Render(d.Subject))
	l("latest", fmt.Sprintf("version %d, schema id %d, %s", d.Latest.Version, d.Latest.ID, d.Latest.Format))
	l("compatibility", d.Compatibility)
	l("versions", strings.Trim(fmt.Sprint(d.Versions), "[]"))
	topics := st.Muted.Render("none by name (TopicNameStrategy)")
	if len(d.Topics) > 0 {
		topics = strings.Join(d.Topics, ", ") + st.Muted.Render("   r: its records")
	}
	l("topics", topics)
	for _, r := range d.Latest.References {
		l("reference", fmt.Sprintf("%s: %s version %d", r.Name, r.Subject, r.Version))
	}
	b.WriteString("\n")
	text := d.Latest.Schema
	if json.Valid([]byte(text)) {
		var out bytes.Buffer
		if json.Indent(&out, []byte(text), "", "  ") == nil {
			text = out.String()
		}
	}
	b.WriteString(text)
	return b.String()
}

// View implements tea.Model.
func (p *Page) View() string {
	switch {
	case p.detail != nil:
		return p.vp.View()
	case !p.loaded:
		return p.c.Styles.Muted.Render(" loading subjects...")
	}
	return p.T.View()
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding {
	if p.detail != nil {
		return []key.Binding{p.keys.Records, p.keys.Copy, screen.DefaultGlobalKeys().Back}
	}
	return []key.Binding{p.keys.Open}
}

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.keys.Open, p.keys.Records, p.keys.Copy}, p.keys.Table.List()}
}
