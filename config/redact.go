package config

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// Defaults are the values that apply where a file leaves a key unset; the
// packages that apply them (ops, tui) own the figures, so callers pass them
// in (config imports neither).
type Defaults struct {
	ClientID          string
	DialTimeout       time.Duration
	RequestTimeout    time.Duration
	LagWindow         time.Duration
	LagSampleInterval time.Duration
	Refresh           time.Duration
}

// Effective returns a copy of c with every unset key that has a default set
// to it, and the data dir resolved (DataDir), so that what is printed is
// what applies. c is not changed.
func (c *Config) Effective(d Defaults) *Config {
	e := *c
	e.Clusters = make(map[string]*Cluster, len(c.Clusters))
	for n, cl := range c.Clusters {
		cp := *cl
		if cp.ClientID == "" {
			cp.ClientID = d.ClientID
		}
		cp.DialTimeout.Duration = cp.DialTimeout.Or(d.DialTimeout)
		cp.RequestTimeout.Duration = cp.RequestTimeout.Or(d.RequestTimeout)
		e.Clusters[n] = &cp
	}
	e.Ops.DataDir = c.DataDir()
	e.Ops.LagWindow.Duration = c.Ops.LagWindow.Or(d.LagWindow)
	e.Ops.LagSampleInterval.Duration = c.Ops.LagSampleInterval.Or(d.LagSampleInterval)
	e.TUI.Refresh.Duration = c.TUI.Refresh.Or(d.Refresh)
	return &e
}

// Redacted returns the configuration as TOML with every secret replaced by
// "<redacted>": literal passwords, any job key whose name says it is a
// secret (IsSecretKey: password, secret, token, key material), at any depth
// (a transform's keys, a connector's nested tables), and the password inside
// a URL or a key=value connection string. *_env and *_file references are
// shown, since they name where the secret lives, not the secret.
func (c *Config) Redacted() (string, error) {
	type out struct {
		DefaultCluster string              `toml:"default_cluster,omitempty"`
		Clusters       map[string]*Cluster `toml:"clusters,omitempty"`
		Ops            Ops                 `toml:"ops"`
		Server         Server              `toml:"server,omitempty"`
		Client         Client              `toml:"client,omitempty"`
		TUI            TUI                 `toml:"tui,omitempty"`
		Worker         Worker              `toml:"worker,omitempty"`
		Connectors     []map[string]any    `toml:"connectors,omitempty"`
		Mirrors        []map[string]any    `toml:"mirrors,omitempty"`
		Streams        []map[string]any    `toml:"streams,omitempty"`
	}
	o := out{DefaultCluster: c.DefaultCluster, Ops: c.Ops, Server: c.Server, Client: c.Client, TUI: c.TUI, Worker: c.Worker, Clusters: map[string]*Cluster{}}
	for n, cl := range c.Clusters {
		cp := *cl
		if cl.SASL != nil {
			s := *cl.SASL
			if s.Password != "" {
				s.Password = "<redacted>"
			}
			cp.SASL = &s
		}
		if cl.SchemaRegistry != nil {
			r := *cl.SchemaRegistry
			if r.Password != "" {
				r.Password = "<redacted>"
			}
			if r.Token != "" {
				r.Token = "<redacted>"
			}
			cp.SchemaRegistry = &r
		}
		o.Clusters[n] = &cp
	}
	redactJobs := func(in []Job) []map[string]any {
		var res []map[string]any
		for _, j := range in {
			res = append(res, redactTable(j.Table))
		}
		return res
	}
	o.Connectors = redactJobs(c.Connectors)
	o.Mirrors = redactJobs(c.Mirrors)
	o.Streams = redactJobs(c.Streams)
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(o); err != nil {
		return "", err
	}
	return buf.String(), nil
}

const redacted = "<redacted>"

// redactTable returns a copy of t with secrets redacted at every depth.
func redactTable(t map[string]any) map[string]any {
	m := make(map[string]any, len(t))
	for k, v := range t {
		m[k] = redactValue(k, v)
	}
	return m
}

// redactValue redacts v, held under key k.
func redactValue(k string, v any) any {
	if IsSecretKey(k) {
		return redacted
	}
	switch v := v.(type) {
	case map[string]any:
		return redactTable(v)
	case []map[string]any:
		out := make([]map[string]any, len(v))
		for i, t := range v {
			out[i] = redactTable(t)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(k, x)
		}
		return out
	case string:
		return redactInline(v)
	}
	return v
}

var (
	// urlPassword is the password of a URL's user info (scheme://user:pw@).
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]+@`)
	// kvPassword is a password in a key=value connection string (libpq,
	// JDBC properties).
	kvPassword = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token)\s*=\s*)('[^']*'|"[^"]*"|[^\s;&]+)`)
)

// redactInline hides passwords written inside a value: a URL's user info
// password, or password=... in a connection string.
func redactInline(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+redacted+"@")
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}

// secretWords make a key secret wherever they appear in its name.
var secretWords = []string{"password", "passwd", "secret", "token", "passphrase", "credential", "private", "apikey", "api_key", "authorization", "jaas"}

// keyWords are names ending in _key or -key (or .key) that are not key
// material: record keys and their handling.
var keyWords = map[string]bool{"key": true, "keys": true, "value_to_key": true, "routing_key": true, "partition_key": true, "message_key": true, "record_key": true, "group_key": true, "join_key": true, "sort_key": true, "primary_key": true}

// IsSecretKey reports whether a key holds a secret that must never be
// printed: its name contains a secret word (password, secret, token,
// passphrase, credential, private, api key, authorization, JAAS config) or
// names key material (ends in _key, such as ssl_key, signing_key,
// access_key, except record keys like key, routing_key or primary_key). Keys
// ending in _env or _file only name where a secret lives.
func IsSecretKey(k string) bool {
	k = strings.ToLower(k)
	if hasSuffix(k, "_env") || hasSuffix(k, "_file") {
		return false
	}
	for _, s := range secretWords {
		if contains(k, s) {
			return true
		}
	}
	if keyWords[k] {
		return false
	}
	for _, suf := range []string{"_key", "-key", ".key", "_keys"} {
		if hasSuffix(k, suf) {
			return true
		}
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
func contains(s, sub string) bool  { return bytes.Contains([]byte(s), []byte(sub)) }
