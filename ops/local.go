package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/ops/audit"
	"github.com/kdeck/kdeck/ops/lag"
	"github.com/kdeck/kdeck/schema"
)

// Opt configures a Local.
type Opt interface{ apply(*localCfg) }

type optFn func(*localCfg)

func (f optFn) apply(c *localCfg) { f(c) }

type localCfg struct {
	logger   *slog.Logger
	readOnly bool
	adHoc    *config.Cluster
	cluster  string
	embedded *Embedded
	now      func() time.Time

	lagSampling bool
	lagInterval time.Duration

	// clientHook makes a hook for each new franz-go client (metrics).
	clientHook func(cluster string) kgo.Hook

	stopTimeout time.Duration // 0: DefaultJobStopTimeout
	maxRestarts int           // 0: [ops] max_restarts, else DefaultMaxRestarts

	// registry builds connectors; default connect.Builtins().
	registry *connect.Registry

	auditMaxBytes int64
	auditKeep     int
	// registryURL is --registry: the default cluster's Schema Registry.
	registryURL string
}

// WithLogger sets the logger; default discards.
func WithLogger(l *slog.Logger) Opt { return optFn(func(c *localCfg) { c.logger = l }) }

// WithReadOnly refuses every mutation, overriding [ops] read_only.
func WithReadOnly(ro bool) Opt { return optFn(func(c *localCfg) { c.readOnly = c.readOnly || ro }) }

// WithBrokers adds an ad-hoc cluster from a -b flag; it becomes the default
// cluster and replaces a configured cluster of the same name.
func WithBrokers(cl *config.Cluster) Opt { return optFn(func(c *localCfg) { c.adHoc = cl }) }

// WithDefaultCluster picks the cluster used when a call names none (-c).
func WithDefaultCluster(name string) Opt { return optFn(func(c *localCfg) { c.cluster = name }) }

// WithEmbedded attaches an embedded default cluster that the Local then owns
// and closes.
func WithEmbedded(e *Embedded) Opt { return optFn(func(c *localCfg) { c.embedded = e }) }

// WithJobStopTimeout bounds how long stopping a hosted job may take (Close,
// and the stop and restart verbs), overriding DefaultJobStopTimeout.
func WithJobStopTimeout(d time.Duration) Opt {
	return optFn(func(c *localCfg) { c.stopTimeout = d })
}

// WithMaxRestarts sets how many times in a row a job failing with the same
// error is restarted before it is left FAILED, overriding [ops] max_restarts
// and DefaultMaxRestarts; a negative n restarts without bound.
func WithMaxRestarts(n int) Opt { return optFn(func(c *localCfg) { c.maxRestarts = n }) }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Opt { return optFn(func(c *localCfg) { c.now = now }) }

// WithAuditRotation rotates the audit log once audit.jsonl would pass
// maxBytes, keeping keep rotated files (audit.jsonl.1 is the newest);
// defaults audit.DefaultMaxBytes and audit.DefaultKeep.
func WithAuditRotation(maxBytes int64, keep int) Opt {
	return optFn(func(c *localCfg) { c.auditMaxBytes, c.auditKeep = maxBytes, keep })
}

// Local is the in-process Service over franz-go. Create it with NewLocal and
// Close it when done. It is safe for concurrent use.
type Local struct {
	cfg      *config.Config
	lc       localCfg
	log      *slog.Logger
	def      string
	clusters map[string]*config.Cluster

	mu      sync.Mutex
	clients map[string]*clusterClient
	// registries are the clusters' Schema Registry clients (see schemas.go).
	registries map[string]*schema.Client

	closeOnce sync.Once

	auditOnce sync.Once
	auditLog  *audit.Log

	lagOnce     sync.Once
	lag         *lag.Windows
	samplerStop context.CancelFunc
	samplerDone chan struct{}

	workerOnce sync.Once
	workerID   string
	workerErr  error

	group      *workerGroup               // worker group membership; nil outside a group (job_workergroup.go)
	gstateP    atomic.Pointer[groupState] // the group's topics once joined (job_workergroup_state.go)
	supOnce    sync.Once
	supervisor *supervisor // jobs; see jobs.go

	apiOnce sync.Once
	apiJobs *apiJobs // jobs created through the API; see jobs_api.go
}

var _ Service = (*Local)(nil)

// NewLocal returns a Local over the clusters of cfg. It validates that the
// default cluster exists but does not connect: connections are made on first
// use, with the cluster's timeouts.
func NewLocal(cfg *config.Config, opts ...Opt) (*Local, error) {
	if cfg == nil {
		cfg = &config.Config{Clusters: map[string]*config.Cluster{}}
	}
	var lc localCfg
	for _, o := range opts {
		o.apply(&lc)
	}
	if lc.logger == nil {
		lc.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if lc.now == nil {
		lc.now = time.Now
	}
	if lc.registry == nil {
		lc.registry = connect.Builtins()
	}
	lc.readOnly = lc.readOnly || cfg.Ops.ReadOnly
	l := &Local{cfg: cfg, lc: lc, log: lc.logger, clusters: map[string]*config.Cluster{}, clients: map[string]*clusterClient{}}
	for n, c := range cfg.Clusters {
		l.clusters[n] = c
	}
	def := cfg.Default()
	if lc.embedded != nil {
		e := &config.Cluster{Name: config.DefaultClusterName, Brokers: []string{lc.embedded.Addr()}}
		if u := lc.embedded.RegistryURL(); u != "" {
			e.SchemaRegistry = &config.SchemaRegistry{URL: config.URLList{u}}
		}
		l.clusters[e.Name] = e
		def = e.Name
		if dr := lc.embedded.DRAddr(); dr != "" {
			l.clusters[DemoDRCluster] = &config.Cluster{Name: DemoDRCluster, Brokers: []string{dr}}
		}
	}
	if lc.adHoc != nil {
		l.clusters[lc.adHoc.Name] = lc.adHoc
		def = lc.adHoc.Name
	}
	if lc.cluster != "" {
		if _, ok := l.clusters[lc.cluster]; !ok {
			cp := *cfg
			cp.Clusters = l.clusters
			if _, err := cp.ClusterByName(lc.cluster); err != nil {
				return nil, err
			}
		}
		def = lc.cluster
	}
	if def == "" && len(l.clusters) > 1 {
		def = l.names()[0]
	}
	l.def = def
	l.startSampling()
	return l, nil
}

func (l *Local) names() []string {
	names := make([]string, 0, len(l.clusters))
	for n := range l.clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info implements Service.
func (l *Local) Info() Info {
	in := Info{Clusters: l.names(), DefaultCluster: l.def, ReadOnly: l.lc.readOnly, DataDir: l.cfg.DataDir(), ConfigPath: l.cfg.Path}
	if e := l.lc.embedded; e != nil {
		in.Embedded, in.Bootstrap, in.SchemaRegistry = true, e.Addr(), e.RegistryURL()
		if e.dataDir != "" {
			in.DataDir = e.dataDir
		}
	}
	return in
}

// Config returns the configuration the Local was built from.
func (l *Local) Config() *config.Config { return l.cfg }

// Logger returns the Local's logger.
func (l *Local) Logger() *slog.Logger { return l.log }

// client returns the admin client of a cluster ("" = default).
func (l *Local) client(name string) (*clusterClient, error) {
	if name == "" {
		name = l.def
	}
	cc, ok := l.clusters[name]
	if !ok {
		cp := config.Config{Clusters: l.clusters}
		_, err := cp.ClusterByName(name)
		if name == "" {
			err = errors.New("no cluster is configured: pass -b host:port, or add a [clusters.NAME] table to a config file")
		}
		return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.clients[name]; ok {
		return c, nil
	}
	opts, err := ClientOpts(cc, l.log)
	if err != nil {
		return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
	}
	if h := l.lc.clientHook; h != nil {
		opts = append(opts, kgo.WithHooks(h(name)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", name, err)
	}
	c := &clusterClient{cfg: cc, kgo: cl, adm: kadm.NewClient(cl)}
	l.clients[name] = c
	return c, nil
}

// reqCtx bounds a call by the cluster's request timeout.
func (l *Local) reqCtx(ctx context.Context, c *clusterClient) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.RequestTimeout.Or(DefaultRequestTimeout))
}

func (l *Local) err(c *clusterClient, err error) error {
	if c.cfg.SASL != nil && isConnClosed(err) {
		// A listener without SASL drops the connection at kdeck's SASL
		// handshake: say that, not "EOF".
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s closed the connection during the SASL handshake (%v): the listener probably does not use SASL; use the brokers' SASL listener, or remove [clusters.%s.sasl]",
			c.cfg.Name, strings.Join(c.cfg.Brokers, ","), err, c.cfg.Name), err: errors.Join(ErrUnreachable, err)}
	}
	if c.cfg.SASL != nil && errors.Is(err, kerr.IllegalSaslState) {
		// Apache Kafka 4.4 answers a SASL handshake on a listener without
		// SASL with ILLEGAL_SASL_STATE (4.3 closed the connection).
		return &wrapped{msg: fmt.Sprintf("cluster %q at %s refused kdeck's SASL handshake (%v): the listener probably does not use SASL; use the brokers' SASL listener, or remove [clusters.%s.sasl]",
			c.cfg.Name, strings.Join(c.cfg.Brokers, ","), err, c.cfg.Name), err: errors.Join(ErrUnreachable, err)}
	}
	return humanize(c.cfg.Name, c.cfg.Brokers, err)
}

// isConnClosed reports an error of a connection the broker closed.
func isConnClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// ClientFor returns options for a new franz-go client of the named cluster;
// runtimes hosted by ops build their clients with it.
func (l *Local) ClientFor(name string) ([]kgo.Opt, *config.Cluster, error) {
	c, err := l.client(name)
	if err != nil {
		return nil, nil, err
	}
	opts, err := ClientOpts(c.cfg, l.log)
	if h := l.lc.clientHook; h != nil && err == nil {
		opts = append(opts, kgo.WithHooks(h(c.cfg.Name)))
	}
	return opts, c.cfg, err
}

// WithClientHook calls newHook for every franz-go client the Local and the
// jobs it hosts create (cluster names the cluster), and installs the hook it
// returns: 'kdeck run' counts client metrics with kprom this way. newHook
// must be safe for concurrent use.
func WithClientHook(newHook func(cluster string) kgo.Hook) Opt {
	return optFn(func(c *localCfg) { c.clientHook = newHook })
}

// Close implements Service. It stops the hosted jobs within the stop timeout
// and returns an error matching ErrJobsAbandoned, naming them, when some did
// not stop in time; later calls return nil.
func (l *Local) Close() error {
	var err error
	l.closeOnce.Do(func() {
		err = l.closeJobs()
		l.stopSampling()
		l.mu.Lock()
		for _, c := range l.clients {
			c.kgo.Close()
		}
		l.clients = map[string]*clusterClient{}
		l.mu.Unlock()
		if l.lc.embedded != nil {
			l.lc.embedded.Close()
		}
	})
	return err
}

// now returns the current time from the configured clock.
func (l *Local) now() time.Time { return l.lc.now() }

func (l *Local) checkWritable(ctx context.Context, what string) error {
	if l.lc.readOnly {
		return &wrapped{msg: fmt.Sprintf("refusing to %s: kdeck is in read-only mode (--read-only or [ops] read_only)", what), err: ErrReadOnly}
	}
	if a, ok := ActorFrom(ctx); ok && a.ReadOnly {
		return &wrapped{msg: fmt.Sprintf("refusing to %s: %s may only read (a read role)", what, a.User), err: ErrReadOnly}
	}
	return nil
}
