package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui"
)

// TUILogFile is the TUI's log file name in the data dir.
const TUILogFile = "kdeck-tui.log"

// embeddedPort is where the TUI's embedded default listens when it can.
const embeddedPort = 9092

// embeddedRegistryPort is where the TUI's embedded Schema Registry listens
// when it can (as 'kdeck dev' does).
const embeddedRegistryPort = 8081

// runTUI opens the console: on the configured clusters, on -b, or, with
// neither, on the embedded default started in-process (port 9092, or a free
// port when 9092 is taken). Without a terminal on stdout it refuses with a
// usage error (exit 2).
func (a *app) runTUI(cmd *cobra.Command) error {
	f, ok := a.out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("stdout is not a terminal, so the console cannot start: run it in a terminal, or use a subcommand such as 'kdeck groups' ('kdeck --help' lists them)")
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	logger, closeLog, err := tuiLogger(cfg.DataDir())
	if err != nil {
		return err
	}
	defer closeLog()
	ctx := cmd.Context()
	// One process hosts a data dir's jobs: the console takes the worker
	// lock when the configuration has jobs, and leaves them to the
	// 'kdeck run' (or console) that holds it.
	hostJobs, note := true, ""
	if len(cfg.Connectors)+len(cfg.Mirrors)+len(cfg.Streams) > 0 && a.newService == nil {
		lock, err := ops.LockWorker(cfg.DataDir(), "the kdeck console")
		switch {
		case errors.Is(err, ops.ErrWorkerRunning):
			hostJobs, note = false, "jobs hosted elsewhere"
			if h, ok, _ := ops.WorkerLockHolder(cfg.DataDir()); ok {
				note = fmt.Sprintf("jobs hosted by %s, pid %d", h.Face, h.PID)
			}
			logger.Warn("jobs not hosted by the console", "err", err)
		case err != nil:
			return err
		default:
			defer lock.Close()
		}
	}
	svc, header, err := a.tuiService(ctx, cfg, logger, hostJobs)
	if err != nil {
		return err
	}
	if note != "" {
		header = strings.TrimPrefix(header+"; "+note, "; ")
	}
	a.svc = svc
	r := lipgloss.NewRenderer(f)
	r.SetHasDarkBackground(true)
	noColor := a.noColor || os.Getenv("NO_COLOR") != ""
	if noColor {
		// Attributes (bold, reverse video) stay; the mono theme has no
		// colours.
		r.SetColorProfile(termenv.ANSI)
	}
	opts := []tui.Opt{tui.WithLogger(logger), tui.WithRenderer(r), tui.WithClipboard(f), tui.WithNoColor(noColor),
		tui.WithRefresh(cfg.TUI.Refresh.Or(tui.DefaultRefresh))}
	if header != "" {
		opts = append(opts, tui.WithHeader(header))
	}
	if a.worker.WorkerID != "" {
		opts = append(opts, tui.WithWorker(a.worker.WorkerID, a.worker.Started))
	}
	logger.Info("tui start", "clusters", svc.Info().Clusters, "header", header)
	return tui.Run(ctx, svc, opts...)
}

// tuiLogger opens the TUI's log file in dir: the terminal belongs to the
// TUI, so nothing may be logged there.
func tuiLogger(dir string) (*slog.Logger, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot create the data dir %s for the TUI's log: %w", dir, err)
	}
	p := filepath.Join(dir, TUILogFile)
	lf, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the TUI's log %s: %w", p, err)
	}
	return slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelInfo})), func() { lf.Close() }, nil
}

// registryOf is the header's note of the embedded registry: " · registry
// host:port", or "" without one.
func registryOf(e *ops.Embedded) string {
	if e == nil || e.RegistryURL() == "" {
		return ""
	}
	return " · registry " + strings.TrimPrefix(e.RegistryURL(), "http://")
}

// tuiService builds the service the TUI shows and a header note saying
// where the embedded default listens, if it started one.
func (a *app) tuiService(ctx context.Context, cfg *config.Config, logger *slog.Logger, hostJobs bool) (ops.Service, string, error) {
	if a.newService != nil {
		s, err := a.newService(ctx)
		return s, "", err
	}
	if c, _, err := a.attach(cfg); err != nil || c != nil {
		if err != nil {
			return nil, "", err
		}
		return c, "", nil
	}
	header := ""
	var e *ops.Embedded
	if a.brokers == "" && len(cfg.Clusters) == 0 {
		// Read-only: no job and no demo writes anything; the embedded
		// cluster shows what its data dir holds.
		demo := !a.readOnly && !cfg.Ops.ReadOnly
		var err error
		eo := ops.EmbeddedOptions{Port: embeddedPort, DataDir: filepath.Join(cfg.DataDir(), "embedded"), Demo: demo, Logger: logger, Registry: true, RegistryPort: embeddedRegistryPort}
		e, err = ops.StartEmbedded(ctx, eo)
		if errors.Is(err, ops.ErrRegistryPortInUse) {
			// Something else serves 8081: keep the cluster, move the registry.
			eo.RegistryPort = 0
			e, err = ops.StartEmbedded(ctx, eo)
		}
		header = "embedded " + addrOf(e) + registryOf(e)
		if errors.Is(err, ops.ErrPortInUse) {
			// Another kdeck (or broker) holds 9092 and probably the data
			// dir too: run in memory on a free port instead.
			e, err = ops.StartEmbedded(ctx, ops.EmbeddedOptions{Port: 0, Demo: demo, Logger: logger, Registry: true})
			header = fmt.Sprintf("embedded %s%s (%d was taken; in memory)", addrOf(e), registryOf(e), embeddedPort)
		}
		if err != nil {
			return nil, "", err
		}
	}
	// The console samples lag at its refresh rate so statuses, time-lag
	// estimates and sparklines are live.
	l, err := a.newLocal(cfg, logger, nil, e, ops.WithLagSampling(cfg.TUI.Refresh.Or(tui.DefaultRefresh)))
	if err != nil {
		if e != nil {
			e.Close()
		}
		return nil, "", err
	}
	// The console hosts the configured jobs (and the demo channel's), so
	// the Jobs screen shows them live and its actions work; unless another
	// process hosts this data dir's jobs.
	if !hostJobs {
		return l, header, nil
	}
	if err := l.StartJobs(ctx); err != nil {
		l.Close()
		return nil, "", err
	}
	return l, header, nil
}

func addrOf(e *ops.Embedded) string {
	if e == nil {
		return ""
	}
	return e.Addr()
}
