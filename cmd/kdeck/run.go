package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// jobStarter is the part of ops.Local that hosts jobs; 'kdeck run' is the
// worker itself, so it builds a Local rather than attaching to one.
type jobStarter interface {
	ops.Service
	StartJobs(ctx context.Context) error
}

func newRunCmd(a *app) *cobra.Command {
	var logFormat, logLevel string
	var stopTimeout time.Duration
	var workerGroup string
	var listen string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the configured connectors, mirrors and stream jobs headless until SIGTERM",
		Long: `Run a headless worker hosting every job of the configuration ([[connectors]],
[[mirrors]], [[streams]]). Failed jobs restart with backoff. On SIGTERM or
SIGINT the jobs stop gracefully (flush, save offsets) within --stop-timeout.
With --worker-group (or [worker] group) the workers of a group share the
connector tasks and mirror flows through a Kafka consumer group; a worker
that dies loses its tasks to the others within [worker] session_timeout.
Logs go to stderr as text or JSON (log/slog): kdeck's own lifecycle events
at info, the Kafka client's (franz-go) at warn unless --log-level debug.

The worker serves its API on DATA_DIR/kdeck.sock (mode 0600), and on TCP with
--listen or [server] listen: Kafka Connect's REST API for connectors, kdeck's
own endpoints under /kdeck/v1/, /health, /ready and /metrics. The CLI and the
console on the same data dir attach to it by themselves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := runLogger(a.err, logFormat, logLevel)
			if err != nil {
				return err
			}
			if stopTimeout <= 0 {
				return usagef("--stop-timeout must be positive")
			}
			cfg, n, err := a.runConfig(workerGroup)
			if err != nil {
				return err
			}
			lock, err := ops.LockWorker(cfg.DataDir(), "kdeck run")
			if err != nil {
				return err
			}
			defer lock.Close()
			clientMetrics := api.NewClientMetrics()
			l, err := a.workerLocal(cfg, log, ops.WithJobStopTimeout(stopTimeout), ops.WithClientHook(clientMetrics.Hook))
			if err != nil {
				return err
			}
			a.svc = l // closed by run() too; Close is idempotent
			stopAPI, err := a.serveAPI(cfg, l, log, listen, clientMetrics)
			if err != nil {
				return err
			}
			defer stopAPI()
			if err := l.StartJobs(cmd.Context()); err != nil && cmd.Context().Err() == nil {
				return err
			}
			// A SIGTERM while the jobs start is a graceful stop like any
			// other (not "context canceled" and exit 1).
			log.Info("kdeck worker started", "config", cfg.Path, "jobs", n)
			return a.runUntilStopped(cmd.Context(), l, log, stopAPI, stopTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&listen, "listen", "", "also serve the API on TCP host:port (8083 is Kafka Connect's port; default [server] listen); a non-loopback address needs TLS and tokens")
	f.DurationVar(&stopTimeout, "stop-timeout", 30*time.Second, "how long a graceful stop may take")
	f.StringVar(&workerGroup, "worker-group", "", "join this worker group (overrides [worker] group): workers of a group share connector tasks and mirror flows")
	return cmd
}

// runConfig loads the worker's configuration, applies --worker-group and
// refuses what cannot run: read-only mode, invalid jobs, no jobs outside a
// worker group. It returns the number of configured jobs.
func (a *app) runConfig(workerGroup string) (*config.Config, int, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, 0, err
	}
	if workerGroup != "" {
		if !config.ValidName(workerGroup) {
			return nil, 0, usagef("--worker-group %q is not a valid name: use letters, digits, '.', '_' and '-' (at most 100)", workerGroup)
		}
		cfg.Worker.Group = workerGroup
	}
	if a.readOnly || cfg.Ops.ReadOnly {
		return nil, 0, &refusedError{msg: "kdeck run refuses to start in read-only mode (--read-only or [ops] read_only = true): a worker's jobs write records, offsets and topics; drop read-only to run them, or look with the console or 'kdeck connect list', 'kdeck mirror list' and 'kdeck streams list'"}
	}
	if err := validateJobs(cfg); err != nil {
		return nil, 0, err
	}
	n := len(cfg.Connectors) + len(cfg.Mirrors) + len(cfg.Streams)
	if n == 0 && cfg.Worker.Group == "" {
		// A worker of a group may start empty: the group's configs topic
		// holds the jobs created through the API.
		return nil, 0, usagef("no jobs are configured in %s: add [[connectors]], [[mirrors]] or [[streams]] tables (see 'kdeck connect plugins'), or join a worker group (--worker-group) to run jobs created through the API", orNone(cfg.Path))
	}
	return cfg, n, nil
}

// runLogger returns the worker's logger on w: text or json at level, the
// Kafka client's (franz-go) records at warn unless level is debug.
func runLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q is not a level: use debug, info, warn or error", level)
	}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})
	case "json":
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	default:
		return nil, usagef("--log-format %q is not a format: use text or json", format)
	}
	return slog.New(newQuietClients(h, lv <= slog.LevelDebug)), nil
}

// runUntilStopped says the worker started (with -o json, its jobs), waits
// for SIGTERM or SIGINT (ctx), stops the API servers, then the jobs: Close
// gives each job stopTimeout (in parallel) and names the ones it abandoned.
func (a *app) runUntilStopped(ctx context.Context, l jobStarter, log *slog.Logger, stopAPI func(), stopTimeout time.Duration) error {
	if a.output == "json" {
		jobs, _ := l.Jobs(ctx)
		_ = writeJSON(a.out, map[string]any{"started": true, "jobs": jobs})
	}
	<-ctx.Done()
	stopAPI()
	log.Info("stopping jobs", "timeout", stopTimeout)
	if err := l.Close(); err != nil {
		return fmt.Errorf("%w (--stop-timeout %v)", err, stopTimeout)
	}
	log.Info("kdeck worker stopped")
	return nil
}

func orNone(p string) string {
	if p == "" {
		return "the configuration (none was found)"
	}
	return p
}

// workerLocal builds the Local a worker runs jobs in, with the same cluster
// choices as a.service and a real logger.
func (a *app) workerLocal(cfg *config.Config, log *slog.Logger, opts ...ops.Opt) (jobStarter, error) {
	l, err := a.newLocal(cfg, log, func() { log.Warn("no cluster configured; using " + config.DefaultBroker) }, nil, opts...)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// refusedError is a refusal (exit code 3) with its own sentence.
type refusedError struct{ msg string }

func (e *refusedError) Error() string        { return e.msg }
func (e *refusedError) Is(target error) bool { return target == ops.ErrRefused }
