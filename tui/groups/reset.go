package groups

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
	"github.com/kdeck/kdeck/tui/plandialog"
	"github.com/kdeck/kdeck/tui/screen"
)

// PlanMsg carries a PlanReset result to the reset dialog.
type PlanMsg struct {
	Req  ops.ResetRequest
	Plan *ops.Plan
	Err  error
}

// scopeOpt is one choice of what a reset covers.
type scopeOpt struct {
	label string
	all   bool
	scope []ops.TopicScope
}

// DialogKeys are the reset dialog's keys.
type DialogKeys struct {
	Next, Prev, Left, Right, Plan, Cancel key.Binding
}

// Form fields.
const (
	fieldScope = iota
	fieldMode
	fieldValue
	fieldAs
)

// ResetDialog asks for a reset's (or replay's) scope and mode, shows the
// plan ops computes and hands it to a plandialog for confirmation. Build it
// with NewResetDialog.
type ResetDialog struct {
	c      *screen.Common
	group  ops.GroupDetail
	replay bool

	field  int
	scopes []scopeOpt
	scope  int
	modes  []ops.ResetMode
	mode   int
	value  textinput.Model
	as     textinput.Model

	planning bool
	err      error
	confirm  *plandialog.Model
	w, h     int
	keys     DialogKeys
}

// NewResetDialog returns a reset dialog for g, or a replay dialog (into a
// new group, by default "<group>-replay") when replay is set. sel is the
// partition selected in the group detail, offered as a scope.
func NewResetDialog(c *screen.Common, g ops.GroupDetail, replay bool, sel *ops.PartitionOffset) *ResetDialog {
	gl := c.Styles.Glyphs
	d := &ResetDialog{c: c, group: g, replay: replay, keys: DialogKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/"+gl.Down, "next field")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/"+gl.Up, "previous field")),
		Left:   key.NewBinding(key.WithKeys("left", "h"), key.WithHelp(gl.Left+"/h", "previous choice")),
		Right:  key.NewBinding(key.WithKeys("right", "l", " "), key.WithHelp(gl.Right+"/l", "next choice")),
		Plan:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show plan")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}}
	d.scopes = []scopeOpt{{label: "all topics of the group", all: true}}
	for _, t := range g.Topics {
		d.scopes = append(d.scopes, scopeOpt{label: "topic " + t, scope: []ops.TopicScope{{Topic: t}}})
	}
	if sel != nil {
		d.scopes = append(d.scopes, scopeOpt{label: fmt.Sprintf("partition %s/%d", sel.Topic, sel.Partition),
			scope: []ops.TopicScope{{Topic: sel.Topic, Partitions: []int32{sel.Partition}}}})
	}
	if replay {
		d.modes = []ops.ResetMode{ops.ResetToEarliest, ops.ResetByDuration, ops.ResetToDatetime, ops.ResetToOffset, ops.ResetToCurrent}
	} else {
		d.modes = []ops.ResetMode{ops.ResetToEarliest, ops.ResetToLatest, ops.ResetShiftBy, ops.ResetToOffset, ops.ResetToDatetime, ops.ResetByDuration, ops.ResetToCurrent}
	}
	d.value = screen.NewInput("", 64)
	d.as = screen.NewInput("", 249)
	if replay {
		d.as.SetValue(g.Group + "-replay")
	}
	return d
}

// SetSize sets the dialog's size.
func (d *ResetDialog) SetSize(w, h int) {
	d.w, d.h = w, h
	d.value.Width = max(w-24, 10)
	d.as.Width = max(w-24, 10)
	if d.confirm != nil {
		d.confirm.SetSize(w, h)
	}
}

// Confirm returns the plan dialog once a plan was computed, else nil.
func (d *ResetDialog) Confirm() *plandialog.Model { return d.confirm }

func (d *ResetDialog) needsValue() bool {
	switch d.modes[d.mode] {
	case ops.ResetToOffset, ops.ResetShiftBy, ops.ResetToDatetime, ops.ResetByDuration:
		return true
	}
	return false
}

func (d *ResetDialog) fields() []int {
	f := []int{fieldScope, fieldMode}
	if d.needsValue() {
		f = append(f, fieldValue)
	}
	if d.replay {
		f = append(f, fieldAs)
	}
	return f
}

func (d *ResetDialog) move(delta int) {
	fs := d.fields()
	i := 0
	for j, f := range fs {
		if f == d.field {
			i = j
		}
	}
	i = (i + delta + len(fs)) % len(fs)
	d.field = fs[i]
	d.value.Blur()
	d.as.Blur()
	switch d.field {
	case fieldValue:
		d.value.Focus()
	case fieldAs:
		d.as.Focus()
	}
}

// Select sets the scope and mode choices by index, for tests and for
// callers that preselect.
func (d *ResetDialog) Select(scope int, mode ops.ResetMode) {
	d.scope = min(max(scope, 0), len(d.scopes)-1)
	for i, m := range d.modes {
		if m == mode {
			d.mode = i
		}
	}
}

// ShortHelp implements help.KeyMap.
func (d *ResetDialog) ShortHelp() []key.Binding {
	if d.confirm != nil {
		return d.confirm.ShortHelp()
	}
	return []key.Binding{d.keys.Plan, d.keys.Next, d.keys.Right, d.keys.Cancel}
}

// FullHelp implements help.KeyMap.
func (d *ResetDialog) FullHelp() [][]key.Binding {
	if d.confirm != nil {
		return d.confirm.FullHelp()
	}
	return [][]key.Binding{{d.keys.Plan, d.keys.Cancel}, {d.keys.Next, d.keys.Prev, d.keys.Left, d.keys.Right}}
}

// Update handles a message; closed reports that the dialog is finished.
func (d *ResetDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	if d.confirm != nil {
		return d.confirm.Update(msg)
	}
	switch msg := msg.(type) {
	case PlanMsg:
		if !d.planning {
			return nil, false
		}
		d.planning = false
		if msg.Err != nil {
			d.err = msg.Err
			return screen.Error(msg.Err), false
		}
		title := "Reset " + d.group.Group
		if d.replay {
			title = fmt.Sprintf("Replay %s as %s", d.group.Group, msg.Plan.Group)
		}
		d.confirm = plandialog.New(d.c, title, msg.Plan)
		d.confirm.SetSize(d.w, d.h)
		return nil, false
	case tea.KeyMsg:
		if d.planning {
			if key.Matches(msg, d.keys.Cancel) {
				return nil, true
			}
			return nil, false
		}
		switch {
		case key.Matches(msg, d.keys.Cancel):
			return nil, true
		case key.Matches(msg, d.keys.Plan):
			return d.plan(), false
		case msg.Type == tea.KeyTab || msg.Type == tea.KeyDown:
			d.move(1)
			return nil, false
		case msg.Type == tea.KeyShiftTab || msg.Type == tea.KeyUp:
			d.move(-1)
			return nil, false
		}
		switch d.field {
		case fieldScope, fieldMode:
			step := 0
			if key.Matches(msg, d.keys.Left) {
				step = -1
			} else if key.Matches(msg, d.keys.Right) {
				step = 1
			}
			if d.field == fieldScope {
				d.scope = (d.scope + step + len(d.scopes)) % len(d.scopes)
			} else {
				d.mode = (d.mode + step + len(d.modes)) % len(d.modes)
			}
			return nil, false
		case fieldValue:
			var c tea.Cmd
			d.value, c = d.value.Update(msg)
			return c, false
		case fieldAs:
			var c tea.Cmd
			d.as, c = d.as.Update(msg)
			return c, false
		}
	}
	return nil, false
}

// Request builds the ResetRequest from the form, or says what is wrong.
func (d *ResetDialog) Request() (ops.ResetRequest, error) {
	s := d.scopes[d.scope]
	req := ops.ResetRequest{Cluster: d.c.Cluster, Group: d.group.Group, Scope: s.scope, AllTopics: s.all, Mode: d.modes[d.mode]}
	v := strings.TrimSpace(d.value.Value())
	switch req.Mode {
	case ops.ResetToOffset, ops.ResetShiftBy:
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "+"), 10, 64)
		if err != nil {
			return req, fmt.Errorf("%s needs a whole number (for example %s), got %q", req.Mode, map[bool]string{true: "-100", false: "1500"}[req.Mode == ops.ResetShiftBy], v)
		}
		req.Offset = n
	case ops.ResetToDatetime:
		t, err := timespec.ParseTime(v, d.c.Now())
		if err != nil {
			return req, fmt.Errorf("to-datetime: %w", err)
		}
		req.Time = t
	case ops.ResetByDuration:
		dur, err := timespec.ParseDuration(v)
		if err != nil {
			return req, fmt.Errorf("by-duration: %w", err)
		}
		req.Duration = dur
		req.Time = d.c.Now().Add(-dur)
	}
	verb := "offsets reset"
	if d.replay {
		as := strings.TrimSpace(d.as.Value())
		if as == "" {
			return req, fmt.Errorf("replay needs the new group to write offsets to (as group)")
		}
		if as != d.group.Group {
			req.TargetGroup = as
		}
		verb = "replay"
	}
	scope := "--all-topics"
	if !s.all {
		scope = "--topic " + s.scope[0].Topic
		if len(s.scope[0].Partitions) > 0 {
			scope += fmt.Sprintf(":%d", s.scope[0].Partitions[0])
		}
	}
	req.Command = fmt.Sprintf("kdeck tui: %s %s %s --%s", verb, d.group.Group, scope, req.Mode)
	if v != "" && d.needsValue() {
		req.Command += " " + v
	}
	if req.TargetGroup != "" {
		req.Command += " --as " + req.TargetGroup
	}
	return req, nil
}

func (d *ResetDialog) plan() tea.Cmd {
	req, err := d.Request()
	if err != nil {
		d.err = err
		return screen.Error(err)
	}
	d.err = nil
	d.planning = true
	svc := d.c.Svc
	ctx, cancel := d.c.Ctx()
	return func() tea.Msg {
		defer cancel()
		p, err := svc.PlanReset(ctx, req)
		return PlanMsg{Req: req, Plan: p, Err: err}
	}
}

// View renders the form or the plan dialog.
func (d *ResetDialog) View() string {
	if d.confirm != nil {
		return d.confirm.View()
	}
	st := d.c.Styles
	var b strings.Builder
	title := "Reset offsets of " + d.group.Group
	if d.replay {
		title = "Replay " + d.group.Group + " into another group"
	}
	b.WriteString(st.DangerTitle.Render("! "+title) + "\n")
	if d.group.Members > 0 && !d.replay {
		b.WriteString(st.Warn.Render(fmt.Sprintf("The group has %d active member(s): ops will refuse the reset until they stop (or replay into a new group).", d.group.Members)) + "\n")
	}
	b.WriteString("\n")
	line := func(f int, label, val string) {
		mark := "  "
		if d.field == f {
			mark = st.Glyphs.Cursor + " "
		}
		b.WriteString(mark + st.Label.Render(fmt.Sprintf("%-9s", label)) + " " + val + "\n")
	}
	choice := func(f int, s string) string {
		if d.field == f {
			return st.Selected.Render("< " + s + " >")
		}
		return st.Value.Render(s)
	}
	line(fieldScope, "scope", choice(fieldScope, d.scopes[d.scope].label))
	line(fieldMode, "mode", choice(fieldMode, string(d.modes[d.mode])))
	if d.needsValue() {
		d.value.Placeholder = valueHints[d.modes[d.mode]]
		line(fieldValue, "value", d.value.View())
	}
	if d.replay {
		line(fieldAs, "as group", d.as.View())
	}
	b.WriteString("\n")
	switch {
	case d.planning:
		b.WriteString(st.Muted.Render("computing the plan..."))
	case d.err != nil:
		b.WriteString(st.StatusError.Render(d.err.Error()))
	default:
		b.WriteString(st.Muted.Render("enter shows the plan; nothing changes until you confirm it."))
	}
	return st.Dialog.Width(max(d.w-2, 20)).Render(b.String())
}

// valueHints are the placeholders of the value field per mode; every
// example in them is accepted (TestValueHintsParse).
var valueHints = map[ops.ResetMode]string{
	ops.ResetToOffset:   "offset, e.g. 1500",
	ops.ResetShiftBy:    "records, -100 rewinds, 100 skips",
	ops.ResetToDatetime: "2026-11-25T10:00:00Z or 10m ago",
	ops.ResetByDuration: "how far back: 10m, 2h, PT30M",
}
