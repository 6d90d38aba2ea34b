package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops/remote"
)

// serverNone given as --server or KDECK_SERVER keeps kdeck in-process even
// when a worker serves the data dir.
const serverNone = "none"

// attach returns a client of the worker the CLI or console should use, and a
// header for the console: --server, else KDECK_SERVER, else [client] server,
// else (without -b) a live worker's socket in the data dir, said on stderr.
// It returns nil, "", nil when no worker is selected.
func (a *app) attach(cfg *config.Config) (*remote.Client, string, error) {
	target, from := a.server, "--server"
	if target == "" {
		target, from = os.Getenv("KDECK_SERVER"), "KDECK_SERVER"
	}
	if target == "" {
		target, from = cfg.Client.Server, "[client] server in "+cfg.Path
	}
	if target == serverNone {
		return nil, "", nil
	}
	auto := false
	if target == "" {
		if a.brokers != "" {
			return nil, "", nil
		}
		sock := filepath.Join(cfg.DataDir(), api.SocketName)
		if !api.Alive(sock) {
			return nil, "", nil
		}
		target, auto = "unix://"+sock, true
	}
	opts := []remote.Opt{remote.WithReadOnly(a.readOnly)}
	if a.cluster != "" {
		opts = append(opts, remote.WithDefaultCluster(a.cluster))
	}
	if cfg.Client.TokenFile != "" {
		b, err := os.ReadFile(cfg.Client.TokenFile)
		if err != nil {
			return nil, "", usagef("cannot read [client] token_file: %v", err)
		}
		opts = append(opts, remote.WithToken(strings.TrimSpace(string(b))))
	} else if t := os.Getenv("KDECK_TOKEN"); t != "" {
		opts = append(opts, remote.WithToken(t))
	}
	if cfg.Client.CACert != "" || cfg.Client.TLSCert != "" || cfg.Client.TLSKey != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.Client.CACert != "" {
			pem, err := os.ReadFile(cfg.Client.CACert)
			if err != nil {
				return nil, "", usagef("cannot read [client] ca_cert: %v", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, "", usagef("[client] ca_cert %s holds no PEM certificate", cfg.Client.CACert)
			}
		}
		if cfg.Client.TLSCert != "" || cfg.Client.TLSKey != "" {
			cert, err := tls.LoadX509KeyPair(cfg.Client.TLSCert, cfg.Client.TLSKey)
			if err != nil {
				return nil, "", usagef("[client] tls_cert/tls_key: %v", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, remote.WithTLS(tc))
	}
	c, err := remote.New(target, opts...)
	if err != nil {
		if auto {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("%w (the worker was chosen by %s; pass --server none to run in-process)", err, from)
	}
	w := c.Worker()
	a.worker = w
	up := time.Since(w.Started).Round(time.Second)
	header := fmt.Sprintf("worker %s up %s", w.WorkerID, up)
	if auto {
		fmt.Fprintf(a.err, "kdeck: attached to the worker %s at %s (up %s); pass --server none to run in-process\n", w.WorkerID, target, up)
	}
	return c, header, nil
}
