// Package sshd serves kdeck over SSH, as soft-serve serves git: the program
// is the SSH server (charmbracelet/wish). Each session with a terminal gets
// its own console (a bubbletea program over the tui package) sized, coloured
// and bordered for the client's terminal; an exec request runs one kdeck
// subcommand. Every session is a person: the key that logged in names a user
// of the [ssh] configuration, whose role (read or operate) and name go with
// every call into the one ops.Service all sessions share.
//
//	srv, err := sshd.New(svc, cfg.SSH, cfg.HostKeyPath(), sshd.WithExec(runSubcommand))
//	if err != nil {
//		return err
//	}
//	addr, err := srv.Listen()
//	if err != nil {
//		return err
//	}
//	log.Printf("ssh on %s", addr)
//	return srv.Serve(ctx) // until ctx is done
//
// There is no shell and no forwarding (ports, agent, X11): a session is the
// console or one subcommand.
package sshd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui"
)

// DefaultIdleTimeout closes a session without input for this long when
// [ssh] idle_timeout is not set.
const DefaultIdleTimeout = 30 * time.Minute

// shutdownTimeout bounds how long Serve waits for sessions after ctx ends.
const shutdownTimeout = 5 * time.Second

// ExecFunc runs one kdeck subcommand for an exec request (args as the
// client sent them) over svc, the session's view of the shared service,
// reading in and writing out and errOut, and returns its exit code. It must
// not close svc and must refuse anything touching the server's files.
type ExecFunc func(ctx context.Context, args []string, svc ops.Service, in io.Reader, out, errOut io.Writer) int

// Opt configures a Server.
type Opt interface{ apply(*Server) }

type optFn func(*Server)

func (f optFn) apply(s *Server) { f(s) }

// WithExec sets what runs exec requests; without it every exec request is
// refused (exit 2).
func WithExec(fn ExecFunc) Opt { return optFn(func(s *Server) { s.exec = fn }) }

// WithLogger sets the server's logger (sessions opened and closed, refused
// logins); default discards.
func WithLogger(l *slog.Logger) Opt { return optFn(func(s *Server) { s.log = l }) }

// WithTUIOptions adds options to every session's console (its refresh
// interval, a header note). The server sets the renderer, UTF-8, context,
// clipboard and logger itself.
func WithTUIOptions(opts ...tui.Opt) Opt {
	return optFn(func(s *Server) { s.tuiOpts = append(s.tuiOpts, opts...) })
}

// Server is kdeck's SSH server. Build it with New; Listen, then Serve.
type Server struct {
	svc     ops.Service
	cfg     config.SSH
	users   []user
	signer  gossh.Signer
	exec    ExecFunc
	log     *slog.Logger
	tuiOpts []tui.Opt
	idle    time.Duration

	srv *ssh.Server
	ln  net.Listener
	// mu guards closing; sessions counts session handlers running, so
	// Serve can wait for them, and takes no new one once closing.
	mu       sync.Mutex
	closing  bool
	sessions sync.WaitGroup
}

// enter counts a session handler in, or reports false when the server is
// shutting down.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions.Add(1)
	return true
}

// user is one [[ssh.users]] table with its inline keys parsed.
type user struct {
	config.SSHUser
	keys []gossh.PublicKey
}

// New validates the configuration, loads or generates the host key at
// hostKey and returns a server over svc. It starts nothing. svc is shared
// by every session and not closed by the server.
func New(svc ops.Service, cfg config.SSH, hostKey string, opts ...Opt) (*Server, error) {
	if svc == nil {
		return nil, errors.New("sshd: no ops.Service given")
	}
	s := &Server{svc: svc, cfg: cfg, log: slog.New(slog.DiscardHandler), idle: cfg.IdleTimeout.Or(DefaultIdleTimeout)}
	for _, o := range opts {
		o.apply(s)
	}
	if s.cfg.Listen == "" {
		s.cfg.Listen = config.DefaultSSHListen
	}
	if len(cfg.Users) == 0 {
		return nil, errors.New("no SSH users are configured, so nobody could log in: add an [[ssh.users]] table with a name, a role and public_keys (see 'kdeck serve --help')")
	}
	for _, u := range cfg.Users {
		pu := user{SSHUser: u}
		for i, line := range u.PublicKeys {
			k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				return nil, fmt.Errorf("ssh user %s: public key %d is not in authorized_keys format: %v", u.Name, i+1, err)
			}
			pu.keys = append(pu.keys, k)
		}
		if u.PublicKeysFile != "" {
			if _, err := readKeysFile(u.KeysFile()); err != nil {
				return nil, fmt.Errorf("ssh user %s: %w", u.Name, err)
			}
		}
		s.users = append(s.users, pu)
	}
	signer, err := loadHostKey(hostKey)
	if err != nil {
		return nil, err
	}
	s.signer = signer
	teaMW := bm.MiddlewareWithProgramHandler(s.program, termenv.Ascii)
	srv, err := wish.NewServer(
		wish.WithAddress(s.cfg.Listen),
		wish.WithVersion("kdeck"),
		// Before wish's own check, which would otherwise write a key to
		// the working directory.
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithPublicKeyAuth(func(ctx ssh.Context, key ssh.PublicKey) bool {
			_, ok := s.authorize(key)
			if !ok {
				s.log.Warn("ssh key refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "fingerprint", gossh.FingerprintSHA256(key))
			}
			return ok
		}),
		// Wish applies middlewares in reverse: dispatch runs first and
		// hands sessions with a terminal and no command to teaMW.
		wish.WithMiddleware(teaMW, s.dispatch),
		// The connection-level limit: no traffic at all (a dead client, an
		// exec waiting forever). The console's input idleness is watched
		// per session (see watchIdle), since the console itself writes.
		wish.WithIdleTimeout(s.idle+time.Minute),
	)
	if err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	s.srv = srv
	return s, nil
}

// HostKeyFingerprint returns the host key's SHA256 fingerprint, as ssh
// prints it on first connection.
func (s *Server) HostKeyFingerprint() string {
	return gossh.FingerprintSHA256(s.signer.PublicKey())
}

// Listen binds the configured address and returns it (with the port chosen
// when the configuration said :0).
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for SSH on %s: %w (choose another with --ssh HOST:PORT or [ssh] listen)", s.cfg.Listen, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Serve accepts SSH connections until ctx is done, then closes every
// session and waits for their handlers (at most 5s). Listen must have
// succeeded. It blocks.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("sshd: Serve called before Listen")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ssh server stopped: %w", err)
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.srv.Close()
	<-errc
	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(shutdownTimeout):
		return errors.New("ssh sessions did not end within 5s of shutdown")
	}
}

// authorize returns the user owning key: inline keys first, then each
// user's keys file, read now so that a key added to it works at once.
func (s *Server) authorize(key ssh.PublicKey) (user, bool) {
	for _, u := range s.users {
		for _, k := range u.keys {
			if ssh.KeysEqual(k, key) {
				return u, true
			}
		}
	}
	for _, u := range s.users {
		if u.PublicKeysFile == "" {
			continue
		}
		keys, err := readKeysFile(u.KeysFile())
		if err != nil {
			s.log.Warn("ssh keys file unreadable", "user", u.Name, "err", err)
			continue
		}
		for _, k := range keys {
			if ssh.KeysEqual(k, key) {
				return u, true
			}
		}
	}
	return user{}, false
}

// readKeysFile parses a file in authorized_keys format: blank lines and
// # comments skipped, options before the key type allowed and ignored.
func readKeysFile(path string) ([]gossh.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read public_keys_file %s: %w", path, err)
	}
	defer f.Close()
	var keys []gossh.PublicKey
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("public_keys_file %s:%d is not in authorized_keys format: %v", path, n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read public_keys_file %s: %w", path, err)
	}
	return keys, nil
}
