package config

import (
	"bytes"
	"os"

	"github.com/BurntSushi/toml"
)

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// Redacted returns the configuration as TOML with every secret replaced by
// "<redacted>": literal passwords and any job key whose name says it is a
// secret (password, secret, token, key material). *_env and *_file references
// are shown, since they name where the secret lives, not the secret.
func (c *Config) Redacted() (string, error) {
	type out struct {
		DefaultCluster string              `toml:"default_cluster,omitempty"`
		Clusters       map[string]*Cluster `toml:"clusters,omitempty"`
		Ops            Ops                 `toml:"ops"`
		Server         Server              `toml:"server,omitempty"`
		Client         Client              `toml:"client,omitempty"`
		TUI            TUI                 `toml:"tui,omitempty"`
		Connectors     []map[string]any    `toml:"connectors,omitempty"`
		Mirrors        []map[string]any    `toml:"mirrors,omitempty"`
		Streams        []map[string]any    `toml:"streams,omitempty"`
	}
	o := out{DefaultCluster: c.DefaultCluster, Ops: c.Ops, Server: c.Server, Client: c.Client, TUI: c.TUI, Clusters: map[string]*Cluster{}}
	for n, cl := range c.Clusters {
		cp := *cl
		if cl.SASL != nil {
			s := *cl.SASL
			if s.Password != "" {
				s.Password = "<redacted>"
			}
			cp.SASL = &s
		}
		o.Clusters[n] = &cp
	}
	redactJobs := func(in []Job) []map[string]any {
		var res []map[string]any
		for _, j := range in {
			m := map[string]any{}
			for k, v := range j.Table {
				if IsSecretKey(k) {
					v = "<redacted>"
				}
				m[k] = v
			}
			res = append(res, m)
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

// IsSecretKey reports whether a job key holds a secret that must never be
// printed. Keys ending in _env or _file only name where a secret lives.
func IsSecretKey(k string) bool {
	if hasSuffix(k, "_env") || hasSuffix(k, "_file") {
		return false
	}
	for _, s := range []string{"password", "secret", "token", "passphrase"} {
		if contains(k, s) {
			return true
		}
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
func contains(s, sub string) bool  { return bytes.Contains([]byte(s), []byte(sub)) }
