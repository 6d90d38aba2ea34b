package ops

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/kdeck/kdeck/config"
)

// Default timeouts; a cluster's dial_timeout and request_timeout override them.
const (
	DefaultDialTimeout    = 3 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// ClientOpts returns the franz-go options that connect to c: seed brokers,
// client id, SASL, TLS and timeouts. Runtimes use it so that every client of a
// cluster is configured the same way. It fails when a secret cannot be
// resolved or a TLS file cannot be read.
func ClientOpts(c *config.Cluster, logger *slog.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.DialTimeout(c.DialTimeout.Or(DefaultDialTimeout)),
		kgo.RetryTimeout(c.RequestTimeout.Or(DefaultRequestTimeout)),
		kgo.RequestTimeoutOverhead(c.RequestTimeout.Or(DefaultRequestTimeout)),
		kgo.MetadataMinAge(250 * time.Millisecond),
	}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	} else {
		opts = append(opts, kgo.ClientID("kdeck"))
	}
	if logger != nil {
		opts = append(opts, kgo.WithLogger(kslog.New(logger)))
	}
	if s := c.SASL; s != nil {
		pw, err := s.ResolvePassword()
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", c.Name, err)
		}
		switch s.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: pw}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pw}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pw}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("cluster %q: SASL mechanism %q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.Name, s.Mechanism)
		}
	}
	if t := c.TLS; t != nil && (t.Enabled || t.CAFile != "" || t.CertFile != "") {
		tc, err := tlsConfig(c.Name, t)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

func tlsConfig(cluster string, t *config.TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify, ServerName: t.ServerName} //nolint:gosec // the user asks for it
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: cannot read tls.ca_file %s: %v", cluster, t.CAFile, pathErr(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster %q: tls.ca_file %s holds no PEM certificate", cluster, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, fmt.Errorf("cluster %q: tls needs both cert_file and key_file for a client certificate", cluster)
		}
		for _, f := range []string{t.CertFile, t.KeyFile} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("cluster %q: cannot read TLS file %s: %v", cluster, f, pathErr(err))
			}
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: cannot load TLS key pair %s / %s: %v", cluster, t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// clusterClient is the lazily built admin client of one cluster.
type clusterClient struct {
	cfg *config.Cluster
	kgo *kgo.Client
	adm *kadm.Client
}

// humanize turns a franz-go error into one sentence naming what is wrong and
// what to do, keeping the original error for errors.Is.
func humanize(cluster string, brokers []string, err error) error {
	if err == nil {
		return nil
	}
	var w *wrapped
	if errors.As(err, &w) {
		return err
	}
	addr := strings.Join(brokers, ",")
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s did not answer in time; check the address and that the brokers are up", cluster, addr), err: errors.Join(ErrUnreachable, err)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &wrapped{msg: fmt.Sprintf("cannot reach cluster %q at %s: connection refused; check the address and that the brokers are up", cluster, addr), err: errors.Join(ErrUnreachable, err)}
	case errors.As(err, new(*tls.CertificateVerificationError)):
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s presented a TLS certificate kdeck does not trust: %v; check tls.ca_file and tls.server_name", cluster, addr, err), err: err}
	case strings.Contains(err.Error(), "remote error: tls: bad certificate") || strings.Contains(err.Error(), "remote error: tls: certificate required"):
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s refused kdeck's TLS client certificate (%v); set tls.cert_file and tls.key_file to a certificate the brokers trust", cluster, addr, err), err: err}
	case strings.Contains(err.Error(), "plaintext connection speaking to a tls endpoint"):
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s speaks TLS but kdeck connected in plaintext; set tls.enabled = true (and tls.ca_file) for this cluster", cluster, addr), err: err}
	case errors.Is(err, kgo.ErrClientClosed):
		return &wrapped{msg: "the Kafka client was closed", err: err}
	case strings.Contains(err.Error(), "unable to dial") || strings.Contains(err.Error(), "no such host"):
		return &wrapped{msg: fmt.Sprintf("cannot reach cluster %q at %s: %v; check the address and that the brokers are up", cluster, addr, err), err: errors.Join(ErrUnreachable, err)}
	case strings.Contains(err.Error(), "SASL") || errors.Is(err, kerr.SaslAuthenticationFailed):
		return &wrapped{msg: fmt.Sprintf("cluster %q rejected the SASL credentials: %v; check the username, password and mechanism", cluster, err), err: err}
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return &wrapped{msg: fmt.Sprintf("cluster %q answered %s: %s", cluster, ke.Message, ke.Description), err: err}
	}
	return &wrapped{msg: fmt.Sprintf("cluster %q: %v", cluster, err), err: err}
}
