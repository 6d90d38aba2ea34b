package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// serveAPI serves svc's API on DATA_DIR/kdeck.sock and, when listen (or
// [server] listen) is set, on TCP. It returns a function that stops the
// servers and waits for them. A stale socket is said in the log and
// removed; a live one is refused.
func (a *app) serveAPI(cfg *config.Config, svc ops.Service, log *slog.Logger, listen string, clients *api.ClientMetrics) (func(), error) {
	if listen == "" {
		listen = cfg.Server.Listen
	}
	var tcp net.Listener
	var opts []api.Opt
	if listen != "" {
		tokens, err := readTokens(cfg.Server.TokensFile)
		if err != nil {
			return nil, err
		}
		tlsCfg, err := serverTLS(cfg.Server)
		if err != nil {
			return nil, err
		}
		if err := checkExposure(listen, tlsCfg != nil, len(tokens) > 0); err != nil {
			return nil, err
		}
		opts = append(opts, api.WithTokens(tokens))
		tcp, err = net.Listen("tcp", listen)
		if err != nil {
			return nil, usagef("cannot listen on %s: %v (pick another --listen address)", listen, err)
		}
		if tlsCfg != nil {
			tcp = tls.NewListener(tcp, tlsCfg)
		}
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s:%d", host, os.Getpid())
	if tcp != nil {
		id = host + ":" + portOf(tcp.Addr().String())
	}
	srv, err := api.New(svc, append(opts, api.WithWorkerID(id), api.WithVersion(version), api.WithLogger(log),
		api.WithMetrics(api.NewMetrics(svc, clients)))...)
	if err != nil {
		if tcp != nil {
			tcp.Close()
		}
		return nil, usagef("[server]: %v", err)
	}
	sock := filepath.Join(svc.Info().DataDir, api.SocketName)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data dir %s: %w", filepath.Dir(sock), err)
	}
	ln, stale, err := api.ListenUnix(sock)
	if err != nil {
		if tcp != nil {
			tcp.Close()
		}
		if errors.Is(err, api.ErrWorkerRunning) {
			return nil, fmt.Errorf("%w: %w", ops.ErrRefused, err)
		}
		return nil, err
	}
	if stale {
		log.Warn("removed a stale socket left by a worker that did not stop cleanly", "socket", sock)
	}
	sctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	serve := func(l net.Listener, what string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(sctx, l); err != nil {
				log.Error("API server stopped", "listener", what, "err", err)
			}
		}()
	}
	serve(ln, sock)
	log.Info("API listening", "socket", sock, "worker_id", id)
	if tcp != nil {
		serve(tcp, listen)
		log.Info("API listening", "addr", tcp.Addr().String(), "tls", cfg.Server.TLSCert != "")
	}
	return func() { cancel(); wg.Wait() }, nil
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

// checkExposure refuses a non-loopback listen address without TLS and
// tokens.
func checkExposure(listen string, hasTLS, hasTokens bool) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usagef("--listen %q is not host:port: use for example 127.0.0.1:8083", listen)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	if loopback || hasTLS && hasTokens {
		return nil
	}
	var missing []string
	if !hasTLS {
		missing = append(missing, "tls_cert and tls_key")
	}
	if !hasTokens {
		missing = append(missing, "tokens_file")
	}
	return usagef("refusing to serve the API on %s without TLS and tokens: add %s to [server], or listen on 127.0.0.1", listen, strings.Join(missing, " and "))
}

// readTokens reads a tokens file: one "role token [name]" a line, # comments.
// A token without a name is named by its line number.
func readTokens(path string) ([]api.Token, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read [server] tokens_file: %v", err)
	}
	defer f.Close()
	var out []api.Token
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 2 || len(fs) > 3 || fs[0] != api.RoleRead && fs[0] != api.RoleOperate {
			return nil, usagef("%s:%d: a token line is 'read TOKEN [NAME]' or 'operate TOKEN [NAME]'", path, n)
		}
		t := api.Token{Role: fs[0], Secret: fs[1], Name: fmt.Sprintf("line%d", n)}
		if len(fs) == 3 {
			t.Name = fs[2]
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, usagef("cannot read [server] tokens_file: %v", err)
	}
	if len(out) == 0 {
		return nil, usagef("%s holds no token: add lines such as 'operate SECRET ci'", path)
	}
	return out, nil
}

// serverTLS builds the TLS configuration of [server], nil without a
// certificate.
func serverTLS(s config.Server) (*tls.Config, error) {
	if s.TLSCert == "" && s.TLSKey == "" {
		if s.ClientCA != "" {
			return nil, usagef("[server] client_ca needs tls_cert and tls_key")
		}
		return nil, nil
	}
	if s.TLSCert == "" || s.TLSKey == "" {
		return nil, usagef("[server] needs both tls_cert and tls_key")
	}
	cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
	if err != nil {
		return nil, usagef("[server] tls_cert/tls_key: %v", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.ClientCA != "" {
		pem, err := os.ReadFile(s.ClientCA)
		if err != nil {
			return nil, usagef("cannot read [server] client_ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("[server] client_ca %s holds no PEM certificate", s.ClientCA)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}
