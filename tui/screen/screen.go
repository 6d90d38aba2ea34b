// Package screen is what every TUI page shares: Common (service, styles,
// size, keys, logger, clock), the Page interface the root model routes to,
// the global key map, and the typed messages pages use to navigate, report
// status and copy to the clipboard.
//
//	type Page struct{ c *screen.Common; w, h int }
//	func (p *Page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
//		return p, screen.Navigate(screen.GroupDetail, "demo-billing")
//	}
package screen

import (
	"context"
	"log/slog"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/styles"
)

// Common is shared by the root model and every page. The root owns it and
// changes it only inside Update (the bubbletea event loop), so pages read it
// without locks; tea.Cmd functions must copy what they need (Cluster,
// Timeout) before they run.
type Common struct {
	// Svc is the only thing the TUI talks to.
	Svc ops.Service
	// Info is Svc.Info(), read once at start.
	Info ops.Info
	// Cluster is the cluster the screens show; "" means the default.
	Cluster string
	Styles  styles.Styles
	Keys    GlobalKeys
	Logger  *slog.Logger
	// Now is the clock; time.Now unless a test fixes it.
	Now func() time.Time
	// Timeout bounds every Service call made by a page; default 10 s.
	Timeout time.Duration
	// Header is extra text for the header, such as the embedded cluster's
	// address and why it is not on 9092.
	Header string
	// Base is the context every Service call derives from (its values,
	// such as the ops.Actor of an SSH session, and its cancellation);
	// context.Background() when nil.
	Base context.Context
	// ReadOnlyWhy, when set, replaces ReadOnlyReason as the sentence shown
	// when a mutation is refused (a read role rather than --read-only).
	ReadOnlyWhy string
}

// Context returns Base, or context.Background() when it is nil. tea.Cmd
// functions that run longer than Timeout derive their context from it.
func (c *Common) Context() context.Context {
	if c.Base != nil {
		return c.Base
	}
	return context.Background()
}

// ReadOnlyText is the sentence shown when a mutation is refused because the
// service is read-only: ReadOnlyWhy, else ReadOnlyReason.
func (c *Common) ReadOnlyText() string {
	if c.ReadOnlyWhy != "" {
		return c.ReadOnlyWhy
	}
	return ReadOnlyReason
}

// ClusterName returns the cluster shown, resolving "" to the default.
func (c *Common) ClusterName() string {
	if c.Cluster != "" {
		return c.Cluster
	}
	return c.Info.DefaultCluster
}

// Ctx returns a context bounded by Timeout for one Service call.
func (c *Common) Ctx() (context.Context, context.CancelFunc) {
	d := c.Timeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(c.Context(), d)
}

// ReadOnlyReason is the sentence shown when a mutation is refused because
// the service is read-only.
const ReadOnlyReason = "read-only mode: changes are disabled (started with --read-only or [ops] read_only = true)"

// Page is a screen. Pages are pointers updated in place: Update returns the
// same page. SetSize gives the body's size (the root draws the header,
// status line and help around it).
type Page interface {
	tea.Model
	help.KeyMap
	// SetSize sets the size of the page body.
	SetSize(width, height int)
	// Title names the page in the header and breadcrumbs.
	Title() string
	// Open is called when the page is shown, with the navigation argument
	// (a topic, group, job or audit id; "" for lists). It returns the
	// first load.
	Open(arg string) tea.Cmd
	// Refresh returns the command that reloads live data, or nil when a
	// load is already in flight or the page has nothing live.
	Refresh() tea.Cmd
	// Capturing reports whether the page is taking text input (a dialog),
	// so the root must pass every key to it, including q, : and /.
	Capturing() bool
	// Loading reports whether a Service call is in flight.
	Loading() bool
}

// Filterable is a page with a table that `/` filters.
type Filterable interface {
	SetFilter(s string)
	Filter() string
}

// ID names a page.
type ID string

// Pages.
const (
	Overview    ID = "overview"
	Topics      ID = "topics"
	TopicDetail ID = "topic"
	Groups      ID = "groups"
	GroupDetail ID = "group"
	Records     ID = "records"
	Jobs        ID = "jobs"
	JobDetail   ID = "job"
	Audit       ID = "audit"
	Schemas     ID = "schemas"
	Workers     ID = "workers"
)

// NavigateMsg asks the root to show page To with argument Arg, pushing the
// current page so esc returns to it.
type NavigateMsg struct {
	To  ID
	Arg string
}

// Navigate returns a command that navigates.
func Navigate(to ID, arg string) tea.Cmd {
	return func() tea.Msg { return NavigateMsg{To: to, Arg: arg} }
}

// BackMsg asks the root to return to the previous page.
type BackMsg struct{}

// Back returns a command that goes back.
func Back() tea.Msg { return BackMsg{} }

// StatusMsg sets the status line: Err in the error style, else Text.
type StatusMsg struct {
	Text string
	Err  error
}

// Status returns a command that shows text in the status line.
func Status(text string) tea.Cmd { return func() tea.Msg { return StatusMsg{Text: text} } }

// Error returns a command that shows err in the status line.
func Error(err error) tea.Cmd { return func() tea.Msg { return StatusMsg{Err: err} } }

// CopyMsg asks the root to copy Text to the clipboard through OSC 52; What
// names it in the status line ("value", "plan").
type CopyMsg struct {
	Text, What string
}

// Copy returns a command that copies text.
func Copy(what, text string) tea.Cmd {
	return func() tea.Msg { return CopyMsg{Text: text, What: what} }
}

// TickMsg is the root's refresh tick.
type TickMsg struct{ Time time.Time }

// RefreshedMsg tells the root that a page's data arrived at Time, for the
// header's "updated" mark.
type RefreshedMsg struct{ Time time.Time }

// Backer is a page with inner views (a record's detail) that esc closes
// before the root navigates back: Back reports whether it closed one.
type Backer interface {
	Back() bool
}

// Leaver is a page that holds resources while shown (a running tail); the
// root calls Leave when it navigates away and when the program ends.
type Leaver interface {
	Leave()
}

// NewInput returns a text input with a steady cursor: no blink timer, so
// an idle screen sends nothing over a slow SSH link.
func NewInput(prompt string, limit int) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.CharLimit = limit
	in.Cursor.SetMode(cursor.CursorStatic)
	return in
}

// Load runs at most one Service call of a page at a time, so refresh ticks
// never pile calls up behind a slow cluster. The zero value is ready.
type Load struct{ busy bool }

// Start returns a command running fn with a context bounded by c.Timeout,
// or nil when a call is already in flight. The page calls Done when the
// message arrives.
func (l *Load) Start(c *Common, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	if l.busy {
		return nil
	}
	l.busy = true
	ctx, cancel := c.Ctx()
	return func() tea.Msg {
		defer cancel()
		return fn(ctx)
	}
}

// Done marks the call finished.
func (l *Load) Done() { l.busy = false }

// Busy reports whether a call is in flight.
func (l *Load) Busy() bool { return l.busy }

// Refreshed returns a command reporting data that arrived at t.
func Refreshed(t time.Time) tea.Cmd { return func() tea.Msg { return RefreshedMsg{Time: t} } }
