package sshd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui"
	"github.com/kdeck/kdeck/tui/styles"
)

// exitUsage is the exit status of a refused session request (kdeck's usage
// error code).
const exitUsage = 2

// sessionKey keys the *session in an ssh.Context.
type sessionKey struct{}

// session is what dispatch learns about one SSH session; program reads it
// to build the console.
type session struct {
	user  user
	actor ops.Actor
	// view is the shared service as this session's key (ops.ForActor).
	view ops.Service
	// ctx carries the actor and ends when the session's handler returns.
	ctx   context.Context
	input *idleReader
	model *tui.Model
	// wg owns the session's idle watcher.
	wg sync.WaitGroup
}

// dispatch is the outer middleware: it names the session's user and actor,
// runs an exec request, refuses a session with neither a command nor a
// terminal, and hands a terminal session to the bubbletea middleware
// (next), cleaning up after it.
func (s *Server) dispatch(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if !s.enter() {
			_ = sess.Exit(1)
			return
		}
		defer s.sessions.Done()
		key := sess.PublicKey()
		u, ok := s.authorize(key)
		if key == nil || !ok {
			// Not reached: authentication already matched the key. A key
			// removed from its file since then is refused here.
			fmt.Fprintln(sess.Stderr(), "kdeck: this key is no longer allowed")
			_ = sess.Exit(1)
			return
		}
		fp := gossh.FingerprintSHA256(key)
		actor := ops.Actor{User: fmt.Sprintf("%s (%s)", u.Name, fp), Host: sess.RemoteAddr().String(),
			ReadOnly: u.Role != config.RoleOperate, Via: "ssh"}
		ctx, cancel := context.WithCancel(ops.WithActor(sess.Context(), actor))
		ss := &session{user: u, actor: actor, view: ops.ForActor(s.svc, actor), ctx: ctx, input: newIdleReader(sess)}
		defer func() {
			cancel()
			ss.wg.Wait()
		}()
		log := s.log.With("user", u.Name, "fingerprint", fp, "remote", actor.Host, "role", u.Role)
		start := time.Now()

		if cmd := sess.Command(); len(cmd) > 0 {
			log.Info("ssh exec", "command", strings.Join(cmd, " "))
			code := exitUsage
			if s.exec == nil {
				fmt.Fprintln(sess.Stderr(), "kdeck: this server serves only the console: connect without a command, from a terminal")
			} else {
				ectx, in := ctx, io.Reader(sess)
				if _, _, isPty := sess.Pty(); isPty {
					var interrupt context.CancelFunc
					ectx, interrupt = context.WithCancel(ctx)
					defer interrupt()
					ir := watchInterrupts(sess, &ss.wg, interrupt)
					defer ir.close()
					in = ir
				}
				code = s.exec(ectx, cmd, ss.view, in, sess, sess.Stderr())
			}
			log.Info("ssh exec done", "command", strings.Join(cmd, " "), "exit", code, "took", time.Since(start).Round(time.Millisecond))
			_ = sess.Exit(code)
			return
		}
		if _, _, isPty := sess.Pty(); !isPty {
			fmt.Fprintln(sess.Stderr(), "kdeck: there is no shell here: connect from a terminal for the console (ssh -t), or give a kdeck subcommand such as 'groups -o json'")
			_ = sess.Exit(exitUsage)
			return
		}
		log.Info("ssh console opened")
		sess.Context().SetValue(sessionKey{}, ss)
		next(sess)
		if ss.model != nil {
			ss.model.Close()
		}
		if ss.input.expired.Load() {
			fmt.Fprintf(sess, "kdeck: closed after %s without input; connect again to continue\r\n", s.idle)
			log.Info("ssh console closed: idle", "took", time.Since(start).Round(time.Second))
			_ = sess.Exit(0)
			return
		}
		log.Info("ssh console closed", "took", time.Since(start).Round(time.Second))
	}
}

// program builds the session's console: the tui over the session's view of
// the service, drawn for the client's terminal (its TERM, locale and
// NO_COLOR), reading input through the idle watch. The bubbletea
// middleware runs it and forwards window changes.
func (s *Server) program(sess ssh.Session) *tea.Program {
	ss, _ := sess.Context().Value(sessionKey{}).(*session)
	if ss == nil {
		return nil
	}
	env := sshEnviron(sess.Environ())
	r, noColor := clientRenderer(sess, env)
	utf8, set := styles.LocaleUTF8(env.Getenv)
	if !set {
		// No locale sent (no SendEnv LANG): today's terminals are UTF-8.
		utf8 = true
	}
	opts := append([]tui.Opt{}, s.tuiOpts...)
	opts = append(opts,
		tui.WithContext(ss.ctx),
		tui.WithRenderer(r),
		tui.WithUTF8(utf8),
		tui.WithNoColor(noColor),
		tui.WithClipboard(sess),
		tui.WithLogger(s.log.With("user", ss.user.Name, "remote", ss.actor.Host)),
		tui.WithHeader(fmt.Sprintf("ssh %s (%s)", ss.user.Name, ss.user.Role)),
	)
	m, err := tui.New(ss.view, opts...)
	if err != nil {
		fmt.Fprintf(sess.Stderr(), "kdeck: %v\r\n", err)
		_ = sess.Exit(1)
		return nil
	}
	ss.model = m
	p := tea.NewProgram(m,
		tea.WithInput(ss.input),
		tea.WithOutput(sess),
		tea.WithContext(ss.ctx),
		tea.WithAltScreen(),
		// Signals are the server's, not the session's.
		tea.WithoutSignalHandler(),
	)
	ss.wg.Go(func() { watchIdle(ss.ctx, ss.input, s.idle, p.Quit) })
	return p
}

// clientRenderer returns a lipgloss renderer for the client's terminal: the
// colour profile from its TERM, COLORTERM and NO_COLOR (never by querying
// it, so a silent terminal costs no first-frame delay), a dark background
// assumed as the local console assumes it. noColor reports NO_COLOR; the
// profile then keeps attributes (bold, reverse) for the mono theme.
func clientRenderer(w io.Writer, env sshEnviron) (r *lipgloss.Renderer, noColor bool) {
	r = lipgloss.NewRenderer(w, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
	r.SetHasDarkBackground(true)
	if env.Getenv("NO_COLOR") != "" {
		noColor = true
		r.SetColorProfile(termenv.ANSI)
	}
	return r, noColor
}

// sshEnviron is the client's environment (env requests and TERM) as
// termenv reads it.
type sshEnviron []string

// Environ implements termenv.Environ.
func (e sshEnviron) Environ() []string { return e }

// Getenv implements termenv.Environ: the last value of k, as a shell would
// keep it.
func (e sshEnviron) Getenv(k string) string {
	v := ""
	for _, kv := range e {
		if rest, ok := strings.CutPrefix(kv, k+"="); ok {
			v = rest
		}
	}
	return v
}

// idleReader is the session's input, noting when the person last typed.
type idleReader struct {
	r       io.Reader
	last    atomic.Int64 // unix nanoseconds
	expired atomic.Bool
}

func newIdleReader(r io.Reader) *idleReader {
	i := &idleReader{r: r}
	i.last.Store(time.Now().UnixNano())
	return i
}

// Read implements io.Reader.
func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// watchIdle calls quit once in has had no input for timeout, marking it
// expired; it returns then or when ctx is done. The console redraws on its
// own, so only input counts as activity.
func watchIdle(ctx context.Context, in *idleReader, timeout time.Duration, quit func()) {
	every := min(max(timeout/10, 50*time.Millisecond), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(time.Unix(0, in.last.Load())) >= timeout {
				in.expired.Store(true)
				quit()
				return
			}
		}
	}
}
