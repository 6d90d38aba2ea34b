// Package config loads kdeck's TOML configuration: clusters, ops settings and
// the jobs (connectors, mirrors, stream jobs) a worker hosts.
//
// Lookup order is --config, $KDECK_CONFIG, ./kdeck.toml, then
// $XDG_CONFIG_HOME/kdeck/config.toml (or ~/.config/kdeck/config.toml). When
// none is found, Load returns a configuration with no file and callers fall
// back to the embedded default.
//
//	cfg, err := config.Load(config.Lookup(flagPath))
//	if err != nil {
//		return err // *config.Errors: every problem with file, line and key
//	}
//	cl, err := cfg.ClusterByName("prod")
//
// Secrets are read from *_env or *_file keys at resolve time and are never
// printed: Redacted returns a copy safe to show.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultBroker is the bootstrap address used when no configuration is found.
const DefaultBroker = "127.0.0.1:9092"

// DefaultClusterName names the cluster built from -b or from DefaultBroker.
const DefaultClusterName = "local"

// Config is a whole kdeck configuration file.
type Config struct {
	// Path is the file the configuration came from, "" when none was found.
	Path string `toml:"-"`

	DefaultCluster string              `toml:"default_cluster"`
	Clusters       map[string]*Cluster `toml:"clusters"`
	Ops            Ops                 `toml:"ops"`
	Server         Server              `toml:"server"`
	Client         Client              `toml:"client"`
	TUI            TUI                 `toml:"tui"`
	Worker         Worker              `toml:"worker"`
	SSH            SSH                 `toml:"ssh"`

	// Connectors, Mirrors and Streams are the job tables. Their keys depend
	// on the job's class, so they are kept as generic tables and validated by
	// the runtime that owns them (see Job).
	Connectors []Job `toml:"connectors"`
	Mirrors    []Job `toml:"mirrors"`
	Streams    []Job `toml:"streams"`
}

// Job is one [[connectors]], [[mirrors]] or [[streams]] table, kept as the
// decoded TOML table so that each runtime validates its own keys. Line is the
// line of the table header, for error messages.
type Job struct {
	Table map[string]any
	Line  int
}

// Name returns the job's name key, or "".
func (j Job) Name() string { s, _ := j.Table["name"].(string); return s }

// Cluster is one [clusters.NAME] table.
type Cluster struct {
	Name     string   `toml:"-"`
	Brokers  []string `toml:"brokers"`
	ClientID string   `toml:"client_id"`
	SASL     *SASL    `toml:"sasl"`
	TLS      *TLS     `toml:"tls"`
	// DialTimeout bounds every connection attempt; default 3s (ops.DefaultDialTimeout).
	DialTimeout Duration `toml:"dial_timeout"`
	// RequestTimeout bounds every admin request; default 10s.
	RequestTimeout Duration `toml:"request_timeout"`
	// SchemaRegistry is the cluster's Schema Registry, nil for none.
	SchemaRegistry *SchemaRegistry `toml:"schema_registry"`
}

// SASL configures SASL authentication: mechanism PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512. The password comes from Password (discouraged), PasswordEnv
// or PasswordFile.
type SASL struct {
	Mechanism    string `toml:"mechanism"`
	Username     string `toml:"username"`
	Password     string `toml:"password"`
	PasswordEnv  string `toml:"password_env"`
	PasswordFile string `toml:"password_file"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled            bool   `toml:"enabled"`
	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
	ServerName         string `toml:"server_name"`
}

// Ops configures the operations layer.
type Ops struct {
	// DataDir holds the audit log, offsets of the embedded default and
	// stream state; default $XDG_DATA_HOME/kdeck (~/.local/share/kdeck).
	DataDir string `toml:"data_dir"`
	// ReadOnly refuses every mutation.
	ReadOnly bool `toml:"read_only"`
	// AuditTopic, when set, also writes each audit entry to this topic on
	// the default cluster.
	AuditTopic string `toml:"audit_topic"`
	// LagWindow is the span of the sliding window lag status is computed
	// over; default 5m.
	LagWindow Duration `toml:"lag_window"`
	// LagSampleInterval is how often lag is sampled; default 10s (2s in the TUI).
	LagSampleInterval Duration `toml:"lag_sample_interval"`
	// MaxRestarts is how many times in a row a hosted job failing with the
	// same error is restarted before it is left FAILED; default 5 (0), a
	// negative value restarts without bound.
	MaxRestarts int `toml:"max_restarts"`
}

// Server configures the worker's HTTP API ('kdeck run'). The API is always
// served on DATA_DIR/kdeck.sock; Listen adds TCP. A non-loopback Listen
// needs TLS (TLSCert, TLSKey) and tokens (TokensFile).
type Server struct {
	// Listen is host:port for TCP (8083 is Kafka Connect's port); "" for
	// the Unix socket only.
	Listen string `toml:"listen"`
	// TokensFile holds bearer tokens, one "role token [name]" a line (roles
	// read and operate); # starts a comment.
	TokensFile string `toml:"tokens_file"`
	// TLSCert and TLSKey are the server's PEM certificate and key files.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// ClientCA, when set, requires client certificates signed by this PEM
	// CA bundle.
	ClientCA string `toml:"client_ca"`
}

// Client selects the worker that the CLI and the console attach to.
type Client struct {
	// Server is http(s)://host:port or unix:///path/kdeck.sock.
	Server string `toml:"server"`
	// TokenFile holds the bearer token sent to a TCP worker.
	TokenFile string `toml:"token_file"`
	// CACert is a PEM CA bundle to verify an https:// worker.
	CACert string `toml:"ca_cert"`
	// TLSCert and TLSKey are the client certificate and key for a worker
	// that requires client certificates ([server] client_ca).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// TUI configures the terminal UI.
type TUI struct {
	// Refresh is the screen refresh interval; default 2s.
	Refresh Duration `toml:"refresh"`
}

// Worker configures 'kdeck run' as a member of a worker group.
type Worker struct {
	// ID identifies this worker; default derived from the host name and
	// the data dir and kept in the data dir (file worker-id), so that a
	// worker restarted in place is the same static member of its groups.
	ID string `toml:"id"`
	// Group names the worker group: every 'kdeck run' with the same group
	// and default cluster shares the connector tasks and mirror flows;
	// empty (the default) runs every job on this worker alone.
	Group string `toml:"group"`
	// SessionTimeout is how long the group waits for a silent worker (and a
	// stream job for a silent instance) before it gives its work to the
	// others; default 10s. Apache Kafka brokers accept 6s to 30m by default
	// (group.min/max.session.timeout.ms).
	SessionTimeout Duration `toml:"session_timeout"`
	// ConfigsTopic is the worker group's configs topic (jobs created
	// through the API, target states, restart requests; Kafka Connect's
	// config.storage.topic); default _kdeck-GROUP-configs.
	ConfigsTopic string `toml:"configs_topic"`
	// StatusTopic is the worker group's status topic (each task's state
	// and worker; Kafka Connect's status.storage.topic); default
	// _kdeck-GROUP-status.
	StatusTopic string `toml:"status_topic"`
}

// DefaultWorkerSessionTimeout is [worker] session_timeout's default.
const DefaultWorkerSessionTimeout = 10 * time.Second

// Duration is a time.Duration written in TOML as a Go duration string ("5s").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use forms like 500ms, 10s, 5m)", string(b))
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string, without zero
// trailing units ("5m", not "5m0s").
func (d Duration) MarshalText() ([]byte, error) {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d.Duration == 0 {
		return def
	}
	return d.Duration
}

// Lookup returns the configuration file to read: flagPath if set, then
// $KDECK_CONFIG, ./kdeck.toml, then $XDG_CONFIG_HOME/kdeck/config.toml. It
// returns "" when none exists. An explicit path (flag or env) is returned even
// when missing, so that Load reports it.
func Lookup(flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	if p := os.Getenv("KDECK_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("kdeck.toml"); err == nil {
		return "kdeck.toml"
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".config")
		}
	}
	if dir != "" {
		p := filepath.Join(dir, "kdeck", "config.toml")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Load reads and validates the file at path; an empty path yields an empty
// configuration (no clusters). All problems are returned at once as *Errors;
// then the configuration is returned too when the text parsed as TOML, so
// that the job tables can be validated in the same pass (config validate).
func Load(path string) (*Config, error) {
	if path == "" {
		c := &Config{Clusters: map[string]*Cluster{}}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("config file %s does not exist: create it or pass another with --config", path)
		}
		return nil, fmt.Errorf("cannot read config file %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse decodes and validates configuration text; path is used in messages.
// With *Errors it also returns the configuration as far as it decoded
// (nil when the text is not TOML); it must not be used to run anything.
func Parse(path string, data []byte) (*Config, error) {
	var raw struct {
		Config
		Connectors []map[string]any `toml:"connectors"`
		Mirrors    []map[string]any `toml:"mirrors"`
		Streams    []map[string]any `toml:"streams"`
	}
	md, err := toml.Decode(string(data), &raw)
	src := newSource(path, data)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Errors{Path: path, List: []*Error{{Path: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}}}
		}
		return nil, &Errors{Path: path, List: []*Error{{Path: path, Msg: err.Error()}}}
	}
	cfg := raw.Config
	cfg.Path = path
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]*Cluster{}
	}
	errs := unknownKeys(path, src, md.Undecoded())
	tables := func(kind string, in []map[string]any) []Job {
		out := make([]Job, len(in))
		for i, t := range in {
			out[i] = Job{Table: t, Line: src.arrayTableLine(kind, i)}
		}
		return out
	}
	cfg.Connectors = tables("connectors", raw.Connectors)
	cfg.Mirrors = tables("mirrors", raw.Mirrors)
	cfg.Streams = tables("streams", raw.Streams)

	names := make([]string, 0, len(cfg.Clusters))
	for name := range cfg.Clusters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cfg.Clusters[name]
		if c == nil {
			c = &Cluster{}
			cfg.Clusters[name] = c
		}
		c.Name = name
		errs = append(errs, validCluster(path, src, c)...)
	}
	errs = append(errs, validWorker(path, src, cfg.Worker)...)
	if cfg.DefaultCluster != "" {
		if _, ok := cfg.Clusters[cfg.DefaultCluster]; !ok {
			errs = append(errs, &Error{Path: path, Line: src.line(toml.Key{"default_cluster"}), Key: "default_cluster",
				Msg: fmt.Sprintf("cluster %q is not defined%s", cfg.DefaultCluster, Suggest(cfg.DefaultCluster, names))})
		}
	}
	errs = append(errs, jobNameErrors(&cfg, src)...)
	errs = append(errs, validateSSH(path, cfg.SSH, src)...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return &cfg, &Errors{Path: path, List: errs}
	}
	return &cfg, nil
}

// AdHoc returns the cluster built from a -b/--brokers flag value.
func AdHoc(brokers string) (*Cluster, error) {
	c := &Cluster{Name: DefaultClusterName}
	for _, b := range strings.Split(brokers, ",") {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if err := validBroker(b); err != nil {
			return nil, fmt.Errorf("--brokers: %w", err)
		}
		c.Brokers = append(c.Brokers, b)
	}
	if len(c.Brokers) == 0 {
		return nil, errors.New("--brokers is empty: give host:port[,host:port...]")
	}
	return c, nil
}

// ClusterNames returns the configured cluster names, sorted.
func (c *Config) ClusterNames() []string {
	names := make([]string, 0, len(c.Clusters))
	for n := range c.Clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ClusterByName returns the named cluster or an error naming the choices.
func (c *Config) ClusterByName(name string) (*Cluster, error) {
	if cl, ok := c.Clusters[name]; ok {
		return cl, nil
	}
	names := c.ClusterNames()
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %q (no clusters are configured; use -b host:port or add [clusters.%s] to a config file)", ErrUnknownCluster, name, name)
	}
	return nil, fmt.Errorf("%w: %q (configured: %s)%s", ErrUnknownCluster, name, strings.Join(names, ", "), Suggest(name, names))
}

// ErrUnknownCluster reports a cluster name that is not configured.
var ErrUnknownCluster = errors.New("unknown cluster")

// Default returns the name of the cluster commands use when none is given:
// default_cluster, else the only cluster, else "".
func (c *Config) Default() string {
	if c.DefaultCluster != "" {
		return c.DefaultCluster
	}
	if len(c.Clusters) == 1 {
		for n := range c.Clusters {
			return n
		}
	}
	return ""
}

// DataDir returns the data directory: [ops] data_dir, else
// $XDG_DATA_HOME/kdeck, else ~/.local/share/kdeck.
func (c *Config) DataDir() string {
	if c.Ops.DataDir != "" {
		return expandHome(c.Ops.DataDir)
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "kdeck")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "kdeck")
	}
	return filepath.Join(os.TempDir(), "kdeck")
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
	}
	return p
}

// Password resolves the SASL password from its env var, file or literal.
func (s *SASL) ResolvePassword() (string, error) {
	return resolveSecret("SASL password", s.Password, s.PasswordEnv, s.PasswordFile)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
