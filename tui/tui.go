// Package tui is kdeck's terminal UI: a bubbletea program over ops.Service.
// The root Model routes messages to one page at a time (overview, topics,
// groups, records, jobs, audit and their details, under tui/...), draws the
// header, the status line and the help, and owns the refresh tick, the `:`
// command line, the `/` filter and OSC 52 copying.
//
//	svc, _ := ops.NewLocal(cfg)
//	err := tui.Run(ctx, svc, tui.WithRefresh(2*time.Second))
//
// All I/O happens in tea.Cmd functions that call the Service and return
// typed messages, so a slow cluster never blocks input.
package tui

// Why this file is long (~630 lines): it is the root model, whose Update
// routes every message to the page it is for (STYLE.md: "the root Update
// may be long; each case hands off to a child"), with the header, status
// line, command line and filter it owns. Each page lives in tui/<page>.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/kdeck/kdeck/humanize"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/audit"
	"github.com/kdeck/kdeck/tui/format"
	"github.com/kdeck/kdeck/tui/groups"
	"github.com/kdeck/kdeck/tui/jobs"
	"github.com/kdeck/kdeck/tui/overview"
	"github.com/kdeck/kdeck/tui/records"
	"github.com/kdeck/kdeck/tui/schemas"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/styles"
	"github.com/kdeck/kdeck/tui/topics"
	"github.com/kdeck/kdeck/tui/workers"
)

// inputMode is what the bottom line is doing.
type inputMode int

const (
	modeNormal inputMode = iota
	modeCommand
	modeFilter
)

type navEntry struct {
	id  screen.ID
	arg string
}

// Model is the root model. Build it with New; run it with Run or pass it to
// tea.NewProgram. It is not safe for concurrent use (bubbletea calls it from
// one goroutine).
type Model struct {
	c     *screen.Common
	cfg   cfg
	pages map[screen.ID]screen.Page
	cur   navEntry
	stack []navEntry

	w, h     int
	help     help.Model
	showHelp bool
	spin     spinner.Model
	spinning bool

	status    string
	statusErr bool

	mode  inputMode
	input textinput.Model
	names map[string][]string
	// cands are the completions of the command line's current word.
	cands []string

	updated time.Time
	// tick builds the refresh tick; tests may replace it.
	tick func(time.Duration) tea.Cmd
}

// namesMsg carries resource names for command-line completion.
type namesMsg struct {
	names map[string][]string
}

// ErrNoService reports New called without a service.
var ErrNoService = errors.New("tui: no ops.Service given")

// New returns the root model over svc. It validates the options and starts
// nothing: the first load happens in Init.
func New(svc ops.Service, opts ...Opt) (*Model, error) {
	if svc == nil {
		return nil, ErrNoService
	}
	cf := cfg{refresh: DefaultRefresh, timeout: 10 * time.Second, now: time.Now, start: screen.Overview}
	for _, o := range opts {
		o.apply(&cf)
	}
	if cf.refresh <= 0 {
		return nil, fmt.Errorf("tui: refresh interval must be positive, got %v: set [tui] refresh to a duration like 2s", cf.refresh)
	}
	if cf.timeout <= 0 {
		return nil, fmt.Errorf("tui: timeout must be positive, got %v", cf.timeout)
	}
	if cf.logger == nil {
		cf.logger = slog.New(slog.DiscardHandler)
	}
	if cf.renderer == nil {
		cf.renderer = lipgloss.NewRenderer(os.Stdout)
		cf.renderer.SetHasDarkBackground(true)
	}
	utf8 := styles.UTF8Locale()
	if cf.utf8 != nil {
		utf8 = *cf.utf8
	}
	if cf.clipboard == nil {
		cf.clipboard = os.Stdout
	}
	theme := styles.DefaultTheme()
	if cf.noColor {
		theme = styles.MonoTheme()
	}
	st := styles.New(theme, cf.renderer, utf8)
	c := &screen.Common{Svc: svc, Info: svc.Info(), Styles: st, Keys: screen.DefaultGlobalKeys(), Logger: cf.logger,
		Now: cf.now, Timeout: cf.timeout, Header: cf.header, Base: cf.base}
	if a, ok := ops.ActorFrom(c.Context()); ok && a.ReadOnly {
		c.Info.ReadOnly = true
		c.ReadOnlyWhy = fmt.Sprintf("read role: %s may look but not change anything (an operate key can)", a.User)
	}
	m := &Model{c: c, cfg: cf, names: map[string][]string{}, tick: func(d time.Duration) tea.Cmd {
		return tea.Tick(d, func(t time.Time) tea.Msg { return screen.TickMsg{Time: t} })
	}}
	m.pages = map[screen.ID]screen.Page{
		screen.Overview:    overview.New(c),
		screen.Topics:      topics.NewList(c),
		screen.TopicDetail: topics.NewDetail(c),
		screen.Groups:      groups.NewList(c),
		screen.GroupDetail: groups.NewDetail(c),
		screen.Records:     records.New(c),
		screen.Jobs:        jobs.NewList(c),
		screen.JobDetail:   jobs.NewDetail(c),
		screen.Audit:       audit.New(c),
		screen.Schemas:     schemas.New(c),
		screen.Workers:     workers.New(c),
	}
	if _, ok := m.pages[cf.start]; !ok {
		return nil, fmt.Errorf("tui: unknown start page %q", cf.start)
	}
	m.cur = navEntry{id: cf.start, arg: cf.startArg}
	m.help = help.New()
	m.help.Styles.ShortKey = st.Key
	m.help.Styles.FullKey = st.Key
	m.help.Styles.ShortDesc = st.Muted
	m.help.Styles.FullDesc = st.Muted
	m.help.Styles.ShortSeparator = st.Muted
	m.help.Styles.FullSeparator = st.Muted
	m.help.Ellipsis = st.Glyphs.Ellipsis
	if !utf8 {
		m.help.ShortSeparator = " | "
	}
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	if !utf8 {
		m.spin.Spinner = spinner.Line
	}
	m.input = screen.NewInput("", 256)
	return m, nil
}

// Run runs the TUI on the terminal until the user quits or ctx is done,
// restoring the terminal. It blocks.
func Run(ctx context.Context, svc ops.Service, opts ...Opt) error {
	m, err := New(svc, opts...)
	if err != nil {
		return err
	}
	// bubbles' default styles use the global renderer: fix its background
	// and profile so it never queries the terminal (a slow or silent
	// terminal would delay the first frame) and NO_COLOR holds everywhere.
	lipgloss.SetHasDarkBackground(true)
	if m.cfg.noColor {
		lipgloss.SetColorProfile(termenv.Ascii)
	} else {
		lipgloss.SetColorProfile(m.cfg.renderer.ColorProfile())
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	_, err = p.Run()
	m.Close()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Close stops what pages hold open (a running tail). Run calls it.
func (m *Model) Close() {
	for _, p := range m.pages {
		if l, ok := p.(screen.Leaver); ok {
			l.Leave()
		}
	}
}

// Common returns the shared state, for tests.
func (m *Model) Common() *screen.Common { return m.c }

// Page returns the current page.
func (m *Model) Page() screen.Page { return m.pages[m.cur.id] }

// PageID returns the current page's id and argument.
func (m *Model) PageID() (screen.ID, string) { return m.cur.id, m.cur.arg }

// PageByID returns a page, for tests.
func (m *Model) PageByID(id screen.ID) screen.Page { return m.pages[id] }

// StatusLine returns the status line's text and whether it is an error.
func (m *Model) StatusLine() (string, bool) { return m.status, m.statusErr }

// Init implements tea.Model: the first page's load and the refresh tick.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.Page().Open(m.cur.arg), m.tick(m.cfg.refresh))
}

// bodyHeight is the page's height: header, tabs, status and help lines
// are the root's.
func (m *Model) bodyHeight() int { return max(m.h-4, 1) }

func (m *Model) resize() {
	m.help.Width = m.w
	for _, p := range m.pages {
		p.SetSize(m.w, m.bodyHeight())
	}
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.resize()
		return m, nil
	case screen.TickMsg:
		cmds = append(cmds, m.Page().Refresh(), m.tick(m.cfg.refresh))
		return m, m.withSpinner(tea.Batch(cmds...))
	case spinner.TickMsg:
		if !m.Page().Loading() {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case screen.NavigateMsg:
		return m, m.withSpinner(m.navigate(navEntry{id: msg.To, arg: msg.Arg}, true))
	case screen.BackMsg:
		return m, m.withSpinner(m.back())
	case screen.StatusMsg:
		m.statusErr = msg.Err != nil
		if msg.Err != nil {
			m.status = msg.Err.Error()
			m.c.Logger.Warn("tui error", "page", m.cur.id, "err", msg.Err)
		} else {
			m.status = msg.Text
		}
		return m, nil
	case screen.CopyMsg:
		w := m.cfg.clipboard
		text, what := msg.Text, msg.What
		m.status, m.statusErr = fmt.Sprintf("copied %s to the clipboard (%d bytes, OSC 52)", what, len(text)), false
		return m, func() tea.Msg {
			if err := copyTo(w, text); err != nil {
				return screen.StatusMsg{Err: fmt.Errorf("copying %s: %w", what, err)}
			}
			return nil
		}
	case screen.RefreshedMsg:
		m.updated = msg.Time
		return m, nil
	case namesMsg:
		for k, v := range msg.names {
			m.names[k] = v
		}
		m.complete(false)
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			return m, m.typed(msg)
		}
		cmd, handled := m.handleKey(msg)
		if handled {
			return m, m.withSpinner(cmd)
		}
	}
	// Everything else (data messages, keys the root did not take) goes to
	// every page that may be waiting for it: data messages are typed per
	// page, so only the owner acts on them.
	if _, ok := msg.(tea.KeyMsg); ok {
		_, cmd := m.Page().Update(msg)
		return m, m.withSpinner(cmd)
	}
	for _, p := range m.pages {
		_, cmd := p.Update(msg)
		cmds = append(cmds, cmd)
	}
	return m, m.withSpinner(tea.Batch(cmds...))
}

// typed handles keys that arrived together as one message, one key at a
// time. bubbletea reports the printable runes of one terminal read as one
// KeyRunes message: a fast typist, a terminal multiplexer, an SSH link that
// coalesces keystrokes or a script sends ":group orders" in one read, and
// ":" must still open the command line rather than reach the page as
// ":group". Bracketed paste (msg.Paste) stays one message.
func (m *Model) typed(msg tea.KeyMsg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(msg.Runes))
	for _, r := range msg.Runes {
		_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// withSpinner adds the spinner's tick when the page started loading.
func (m *Model) withSpinner(cmd tea.Cmd) tea.Cmd {
	if m.Page().Loading() && !m.spinning {
		m.spinning = true
		return tea.Batch(cmd, m.spin.Tick)
	}
	return cmd
}

func (m *Model) handleKey(msg tea.KeyMsg) (tea.Cmd, bool) {
	k := m.c.Keys
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit, true
	}
	switch m.mode {
	case modeCommand:
		return m.commandKey(msg), true
	case modeFilter:
		return m.filterKey(msg), true
	}
	if m.showHelp {
		if key.Matches(msg, k.Quit) && msg.String() == "q" {
			return tea.Quit, true
		}
		m.showHelp = false
		return nil, true
	}
	if m.Page().Capturing() {
		return nil, false
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit, true
	case key.Matches(msg, k.Suspend):
		return tea.Suspend, true
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil, true
	case key.Matches(msg, k.Command):
		m.mode = modeCommand
		m.input.Prompt = ":"
		m.input.Placeholder = "groups, topic NAME, group NAME, cluster NAME, records TOPIC, jobs, audit..."
		m.input.SetValue("")
		m.input.Focus()
		m.cands = nil
		m.complete(false)
		return m.loadNames(), true
	case key.Matches(msg, k.Filter):
		f, ok := m.Page().(screen.Filterable)
		if !ok {
			m.status, m.statusErr = "this screen has no table to filter", false
			return nil, true
		}
		m.mode = modeFilter
		m.input.Prompt = "/"
		m.input.Placeholder = "text in any column"
		m.input.SetValue(f.Filter())
		m.input.CursorEnd()
		m.input.Focus()
		return nil, true
	case key.Matches(msg, k.Back):
		if b, ok := m.Page().(screen.Backer); ok && b.Back() {
			return nil, true
		}
		if f, ok := m.Page().(screen.Filterable); ok && f.Filter() != "" {
			f.SetFilter("")
			return nil, true
		}
		return m.back(), true
	case key.Matches(msg, k.Overview):
		return m.jump(screen.Overview), true
	case key.Matches(msg, k.Topics):
		return m.jump(screen.Topics), true
	case key.Matches(msg, k.Groups):
		return m.jump(screen.Groups), true
	case key.Matches(msg, k.Jobs):
		return m.jump(screen.Jobs), true
	case key.Matches(msg, k.Audit):
		return m.jump(screen.Audit), true
	}
	return nil, false
}

// jump goes to a top-level page, forgetting the history.
func (m *Model) jump(id screen.ID) tea.Cmd {
	m.stack = nil
	return m.navigate(navEntry{id: id}, false)
}

func (m *Model) navigate(to navEntry, push bool) tea.Cmd {
	p, ok := m.pages[to.id]
	if !ok {
		m.status, m.statusErr = fmt.Sprintf("no screen %q", to.id), true
		return nil
	}
	if push && m.cur != to {
		m.stack = append(m.stack, m.cur)
	}
	if l, ok := m.Page().(screen.Leaver); ok && to.id != m.cur.id {
		l.Leave()
	}
	m.cur = to
	m.showHelp = false
	m.status, m.statusErr = "", false
	p.SetSize(m.w, m.bodyHeight())
	return p.Open(to.arg)
}

func (m *Model) back() tea.Cmd {
	if len(m.stack) == 0 {
		if m.cur.id != screen.Overview {
			return m.navigate(navEntry{id: screen.Overview}, false)
		}
		return nil
	}
	prev := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return m.navigate(prev, false)
}

func (m *Model) filterKey(msg tea.KeyMsg) tea.Cmd {
	f, _ := m.Page().(screen.Filterable)
	switch msg.Type {
	case tea.KeyEnter:
		m.mode = modeNormal
		m.input.Blur()
		return nil
	case tea.KeyEsc:
		m.mode = modeNormal
		m.input.Blur()
		if f != nil {
			f.SetFilter("")
		}
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if f != nil {
		f.SetFilter(m.input.Value())
	}
	return cmd
}

// View implements tea.Model.
func (m *Model) View() string {
	if m.w == 0 || m.h == 0 {
		return ""
	}
	st := m.c.Styles
	var body string
	if m.showHelp {
		body = m.helpView()
	} else {
		body = m.Page().View()
	}
	body = lipgloss.NewStyle().MaxHeight(m.bodyHeight()).MaxWidth(m.w).Render(body)
	if n := lipgloss.Height(body); n < m.bodyHeight() {
		body += strings.Repeat("\n", m.bodyHeight()-n)
	}
	var bottom string
	switch m.mode {
	case modeCommand, modeFilter:
		bottom = m.input.View()
	default:
		if m.status != "" {
			s := st.StatusInfo
			if m.statusErr {
				s = st.StatusError
			}
			bottom = s.Render(ansi.Truncate(m.status, m.w-1, st.Glyphs.Ellipsis))
		} else if f, ok := m.Page().(screen.Filterable); ok && f.Filter() != "" {
			bottom = st.Muted.Render("filter: ") + f.Filter() + st.Muted.Render("  (esc clears)")
		}
	}
	return strings.Join([]string{m.header(), m.tabs(), body, clip(bottom, m.w), clip(m.shortHelp(), m.w)}, "\n")
}

func clip(s string, w int) string { return ansi.Truncate(s, w, "") }

func (m *Model) header() string {
	st := m.c.Styles
	in := m.c.Info
	parts := []string{st.Header.Render("kdeck"), st.HeaderDim.Render("cluster ") + m.c.ClusterName()}
	if m.cfg.worker != "" {
		up := max(m.c.Now().Sub(m.cfg.started), 0).Round(time.Second)
		parts = append(parts, st.HeaderDim.Render("worker "+m.cfg.worker+" up "+humanize.Duration(up)))
	}
	if m.c.Header != "" {
		parts = append(parts, st.HeaderDim.Render(m.c.Header))
	} else if in.Embedded {
		parts = append(parts, st.HeaderDim.Render("embedded "+in.Bootstrap))
	}
	if in.ReadOnly {
		parts = append(parts, st.Warn.Render("READ-ONLY"))
	}
	right := ""
	if m.Page().Loading() {
		right = m.spin.View() + " "
	}
	if !m.updated.IsZero() {
		right += st.HeaderDim.Render("updated " + m.updated.In(m.c.Now().Location()).Format("15:04:05"))
	}
	left := " " + strings.Join(parts, st.HeaderDim.Render(" "+st.Glyphs.Sep+" "))
	gap := m.w - lipgloss.Width(left) - lipgloss.Width(right) - 1
	if gap < 1 {
		return clip(left, m.w)
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) tabs() string {
	st := m.c.Styles
	top := []struct {
		id    screen.ID
		key   string
		title string
	}{{screen.Overview, "1", "overview"}, {screen.Topics, "2", "topics"}, {screen.Groups, "3", "groups"}, {screen.Jobs, "4", "jobs"}, {screen.Audit, "5", "audit"}}
	root := m.cur.id
	for _, e := range m.stack {
		root = e.id
		break
	}
	var b strings.Builder
	for _, t := range top {
		s := st.Tab
		if t.id == root || t.id == m.cur.id {
			s = st.TabActive
		}
		b.WriteString(s.Render(t.key + " " + t.title))
	}
	if m.cur.id != root || !isTop(m.cur.id) {
		b.WriteString(st.Muted.Render(" > ") + st.Accent.Render(m.Page().Title()))
	}
	return clip(b.String(), m.w)
}

func isTop(id screen.ID) bool {
	switch id {
	case screen.Overview, screen.Topics, screen.Groups, screen.Jobs, screen.Audit:
		return true
	}
	return false
}

func (m *Model) shortHelp() string {
	k := m.c.Keys
	b := append([]key.Binding{}, m.Page().ShortHelp()...)
	switch m.mode {
	case modeCommand:
		if len(m.cands) > 0 {
			return m.c.Styles.Key.Render("tab") + " " + m.c.Styles.Muted.Render(strings.Join(m.cands, " "))
		}
		b = []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
			key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		}
	case modeFilter:
		b = []key.Binding{
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		}
	default:
		if !m.Page().Capturing() {
			return m.fitHelp(append(b, k.Command, k.Filter), []key.Binding{k.Help, k.Quit})
		}
	}
	return m.help.ShortHelpView(b)
}

// fitHelp renders the bindings b and then keep in one line of the screen's
// width: bindings of b that do not fit are left out, whole, from the end;
// keep (? help, q quit) always shows.
func (m *Model) fitHelp(b, keep []key.Binding) string {
	hm := m.help
	hm.Width = 0 // measure without help's own cut
	for n := len(b); n >= 0; n-- {
		s := hm.ShortHelpView(append(append([]key.Binding{}, b[:n]...), keep...))
		if lipgloss.Width(s) <= m.w || n == 0 {
			return s
		}
	}
	return ""
}

func (m *Model) helpView() string {
	k := m.c.Keys
	groups := m.Page().FullHelp()
	groups = append(groups,
		[]key.Binding{k.Command, k.Filter, k.Back, k.Help, k.Quit, k.Suspend},
		[]key.Binding{k.Overview, k.Topics, k.Groups, k.Jobs, k.Audit})
	st := m.c.Styles
	// The title and its note break between words, never inside one.
	name := " Keys on " + m.Page().Title()
	note := "(any key closes; (!) marks actions that change offsets or jobs and ask first)"
	title := st.Title.Render(name) + st.Muted.Render("   "+note)
	if lipgloss.Width(title) > m.w {
		lines := []string{st.Title.Render(format.Cut(name, m.w, st.Glyphs.Ellipsis))}
		for _, l := range format.Wrap(note, m.w-1) {
			lines = append(lines, " "+st.Muted.Render(l))
		}
		title = strings.Join(lines, "\n")
	}
	var cmds []string
	for i, l := range format.Wrap("Commands: :overview :topics :topic NAME :groups :group NAME :records TOPIC :jobs :job NAME :audit :cluster NAME :quit", m.w-1) {
		if i == 0 {
			l = st.Muted.Render("Commands:") + strings.TrimPrefix(l, "Commands:")
		}
		cmds = append(cmds, " "+l)
	}
	hm := m.help
	hm.ShowAll = true
	return lipgloss.JoinVertical(lipgloss.Left, title, "", hm.FullHelpView(groups), "", strings.Join(cmds, "\n"))
}
