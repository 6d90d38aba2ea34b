package tui

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/tui/screen"
)

// DefaultRefresh is the default refresh interval of live screens.
const DefaultRefresh = 2 * time.Second

// Opt configures a Model.
type Opt interface{ apply(*cfg) }

type optFn func(*cfg)

func (f optFn) apply(c *cfg) { f(c) }

type cfg struct {
	refresh   time.Duration
	timeout   time.Duration
	now       func() time.Time
	logger    *slog.Logger
	renderer  *lipgloss.Renderer
	utf8      *bool
	noColor   bool
	header    string
	worker    string
	started   time.Time
	clipboard io.Writer
	start     screen.ID
	startArg  string
	base      context.Context
}

// WithRefresh sets how often live screens reload, overriding the default of
// 2s (config: [tui] refresh). It must be positive.
func WithRefresh(d time.Duration) Opt { return optFn(func(c *cfg) { c.refresh = d }) }

// WithTimeout bounds each Service call, overriding the default of 10s.
func WithTimeout(d time.Duration) Opt { return optFn(func(c *cfg) { c.timeout = d }) }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Opt { return optFn(func(c *cfg) { c.now = now }) }

// WithLogger sets the logger; default discards. In a terminal it must not
// write to the terminal the TUI draws on.
func WithLogger(l *slog.Logger) Opt { return optFn(func(c *cfg) { c.logger = l }) }

// WithRenderer sets the lipgloss renderer whose colour profile the styles
// use; default a renderer on stdout that honours NO_COLOR. Tests pass one
// with termenv.Ascii.
func WithRenderer(r *lipgloss.Renderer) Opt { return optFn(func(c *cfg) { c.renderer = r }) }

// WithUTF8 forces rounded borders and block glyphs on or off; default from
// the locale (LC_ALL, LC_CTYPE, LANG).
func WithUTF8(on bool) Opt { return optFn(func(c *cfg) { c.utf8 = &on }) }

// WithNoColor draws without colours (NO_COLOR, --no-color): bold and
// reverse video only. Default false.
func WithNoColor(on bool) Opt { return optFn(func(c *cfg) { c.noColor = on }) }

// WithHeader adds text to the header, such as where the embedded cluster
// listens and why.
func WithHeader(s string) Opt { return optFn(func(c *cfg) { c.header = s }) }

// WithWorker says in the header that the console is attached to worker id,
// started at started: "worker ID up 5m".
func WithWorker(id string, started time.Time) Opt {
	return optFn(func(c *cfg) { c.worker, c.started = id, started })
}

// WithClipboard sets where `y` writes its OSC 52 sequence; default stdout.
func WithClipboard(w io.Writer) Opt { return optFn(func(c *cfg) { c.clipboard = w }) }

// WithStart opens page id (with argument arg) instead of the overview.
func WithStart(id screen.ID, arg string) Opt {
	return optFn(func(c *cfg) { c.start, c.startArg = id, arg })
}

// WithContext sets the context every Service call derives from, default
// context.Background(). Its values travel with each call: an SSH session
// passes ops.WithActor(ctx, actor) so the service audits and permits the
// session's key. A read-only actor also marks the console read-only (the
// READ-ONLY badge; mutations refused before they are tried, naming the
// role). Cancelling it cancels the calls in flight.
func WithContext(ctx context.Context) Opt { return optFn(func(c *cfg) { c.base = ctx }) }
