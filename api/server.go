// Package api serves an ops.Service over HTTP: the worker's API that 'kdeck
// run' serves on a Unix socket in its data dir (and on TCP when asked). It
// speaks Kafka Connect's REST API for connectors (same paths, status codes
// and JSON) and kdeck's own endpoints under /kdeck/v1/ for everything else
// in ops.Service; package ops/remote is their client.
//
//	srv, err := api.New(svc, api.WithWorkerID("ops1:4242"))
//	if err != nil {
//		return err
//	}
//	ln, stale, err := api.ListenUnix(filepath.Join(dataDir, api.SocketName))
//	...
//	go srv.Serve(ctx, ln) // returns when ctx is done
//
// Every call runs with an ops.Actor in its context (ops.WithActor): the
// socket's peer uid, or the bearer token's name on TCP, with the token's
// role; a read token is refused every mutation (403).
package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/kdeck/kdeck/ops"
)

// SocketName is the name of the worker's Unix socket in its data dir.
const SocketName = "kdeck.sock"

// Roles of API tokens.
const (
	RoleRead    = "read"
	RoleOperate = "operate"
)

// Token is a bearer token of the TCP API: its name (recorded in the audit
// log as "token:NAME"), role and secret.
type Token struct {
	Name   string
	Role   string
	Secret string
}

// Opt configures a Server.
type Opt interface{ apply(*cfg) }

type optFn func(*cfg)

func (f optFn) apply(c *cfg) { f(c) }

type cfg struct {
	workerID string
	version  string
	log      *slog.Logger
	tokens   []Token
	started  time.Time
	metrics  http.Handler
}

// WithWorkerID sets the worker id reported by GET / and in task statuses
// (worker_id); default the host name.
func WithWorkerID(id string) Opt { return optFn(func(c *cfg) { c.workerID = id }) }

// WithVersion sets the version reported by GET /; default "dev".
func WithVersion(v string) Opt { return optFn(func(c *cfg) { c.version = v }) }

// WithLogger sets the logger; default discards.
func WithLogger(l *slog.Logger) Opt { return optFn(func(c *cfg) { c.log = l }) }

// WithTokens requires a bearer token from this list on TCP listeners (the
// Unix socket is authenticated by its file mode). Without tokens TCP callers
// are anonymous operators, which New's caller must allow only on loopback.
func WithTokens(ts []Token) Opt { return optFn(func(c *cfg) { c.tokens = ts }) }

// WithMetrics serves h at GET /metrics.
func WithMetrics(h http.Handler) Opt { return optFn(func(c *cfg) { c.metrics = h }) }

// Server serves one ops.Service over HTTP. It is safe for concurrent use.
type Server struct {
	svc ops.Service
	cfg cfg
	mux *http.ServeMux
}

// New returns a Server over svc; it validates the options and starts
// nothing.
func New(svc ops.Service, opts ...Opt) (*Server, error) {
	var c cfg
	for _, o := range opts {
		o.apply(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.version == "" {
		c.version = "dev"
	}
	if c.workerID == "" {
		h, _ := osHostname()
		c.workerID = h
	}
	c.started = time.Now()
	seen := map[string]bool{}
	for _, t := range c.tokens {
		if t.Role != RoleRead && t.Role != RoleOperate {
			return nil, errors.New("token " + strconv.Quote(t.Name) + " has role " + strconv.Quote(t.Role) + ": use read or operate")
		}
		if t.Secret == "" || seen[t.Secret] {
			return nil, errors.New("token " + strconv.Quote(t.Name) + " is empty or repeated: give each token its own secret")
		}
		seen[t.Secret] = true
	}
	s := &Server{svc: svc, cfg: c, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// WorkerID returns the worker id the server reports.
func (s *Server) WorkerID() string { return s.cfg.workerID }

type connKey struct{}

// connInfo is what the server knows of a connection: how it came in and,
// for the Unix socket, the peer's uid.
type connInfo struct {
	unix bool
	uid  int
	addr string
}

// Serve serves the API on ln until ctx is done, then shuts down within 5s
// (requests still running are cut off: a following read lasts until its
// client leaves). It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.withCaller(s.mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(c context.Context, conn net.Conn) context.Context {
			ci := connInfo{uid: -1, addr: conn.RemoteAddr().String()}
			if uc, ok := conn.(*net.UnixConn); ok {
				ci.unix = true
				ci.uid = peerUID(uc)
			}
			return context.WithValue(c, connKey{}, ci)
		},
		ErrorLog: slog.NewLogLogger(s.cfg.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// Handler returns the API's handler with caller identification for
// requests that arrive without Serve's connection context (tests, a
// handler mounted elsewhere): they count as TCP callers.
func (s *Server) Handler() http.Handler { return s.withCaller(s.mux) }

// withCaller authenticates the request and puts its ops.Actor in the
// context. /health is open to everyone.
func (s *Server) withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci, ok := r.Context().Value(connKey{}).(connInfo)
		if !ok {
			ci = connInfo{uid: -1, addr: r.RemoteAddr}
		}
		actor := ops.Actor{Host: ci.addr, Via: "api"}
		switch {
		case ci.unix:
			actor.User, actor.Host = "uid:"+strconv.Itoa(ci.uid), "unix"
		case len(s.cfg.tokens) == 0:
			actor.User = "anonymous"
		case r.URL.Path == "/health":
		default:
			tok, ok := s.token(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="kdeck"`)
				writeError(w, http.StatusUnauthorized, "", "a valid bearer token is required: send 'Authorization: Bearer TOKEN' with a token from the worker's tokens file")
				return
			}
			actor.User, actor.ReadOnly = "token:"+tok.Name, tok.Role == RoleRead
		}
		if h, _, err := net.SplitHostPort(actor.Host); err == nil {
			actor.Host = h
		}
		if a, ok, refused := onBehalf(r, actor); refused != "" {
			writeError(w, http.StatusForbidden, ops.KindReadOnly, refused)
			return
		} else if ok {
			actor = a
		}
		next.ServeHTTP(&connectWriter{ResponseWriter: w}, r.WithContext(ops.WithActor(r.Context(), actor)))
	})
}

// token returns the token of the request's Authorization header.
func (s *Server) token(r *http.Request) (Token, bool) {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(p) || h[:len(p)] != p {
		return Token{}, false
	}
	got := []byte(h[len(p):])
	for _, t := range s.cfg.tokens {
		if subtle.ConstantTimeCompare(got, []byte(t.Secret)) == 1 {
			return t, true
		}
	}
	return Token{}, false
}
