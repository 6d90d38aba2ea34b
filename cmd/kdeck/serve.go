package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/charmbracelet/lipgloss"
	charmlog "github.com/charmbracelet/log"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/sshd"
	"github.com/kdeck/kdeck/tui"
)

func newServeCmd(a *app) *cobra.Command {
	var sshAddr string
	var noJobs bool
	cmd := &cobra.Command{
		Use:   "serve --ssh HOST:PORT",
		Short: "Serve the console over SSH to the keys of [[ssh.users]], one console per session",
		Long: `Serve kdeck over SSH: kdeck itself is the SSH server (no shell account, no
kdeck binary or cluster credentials on anyone's laptop). Each session from a
terminal gets its own console, sized and coloured for the client's terminal;
a command runs one kdeck subcommand with the same output and exit codes as
locally (ssh -p 2222 ops@box groups -o json). Every session shares one
operations layer: one set of Kafka clients, one lag sampler.

Who may log in is [[ssh.users]] in the configuration: a name, a role (read:
sees everything, changes nothing; operate: may act) and public keys (inline,
or a file in authorized_keys format read at each login). The audit log
records the key's name and fingerprint as the user and the client's address
as the host. There is no shell and no port, agent or X11 forwarding; serve,
run, dev, config and flags naming files on the server are refused over SSH.

The host key is generated once (Ed25519, mode 0600) in the data dir, unless
[ssh] host_key names one.

When a 'kdeck run' worker serves the data dir (or --server, KDECK_SERVER or
[client] server names one), serve attaches to it as the console does: the
worker hosts the jobs, and every call carries the session's key, so the
worker's audit names the person and a read key is refused there. Otherwise
the configured jobs are hosted here, in-process (--no-jobs: not at all;
--server none: in-process even when a worker runs).`,
		Example: `  kdeck serve --ssh 127.0.0.1:2222
  ssh -p 2222 ops@127.0.0.1                  # the console
  ssh -p 2222 ops@127.0.0.1 groups -o json   # one subcommand`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			sc := cfg.SSH
			if sshAddr != "" {
				sc.Listen = sshAddr
			}
			if sshAddr == "" && sc.Listen == "" && len(sc.Users) == 0 {
				return usagef("nothing to serve: pass --ssh HOST:PORT and declare who may log in with [[ssh.users]] in %s", orNone(cfg.Path))
			}
			if len(sc.Users) == 0 {
				return usagef("no [[ssh.users]] in %s, so nobody could log in: add a table with name, role (read or operate) and public_keys", orNone(cfg.Path))
			}
			log := slog.New(slog.NewTextHandler(a.err, &slog.HandlerOptions{Level: slog.LevelInfo}))
			// A 'kdeck run' worker on this data dir (or --server,
			// KDECK_SERVER, [client] server) serves the sessions: it
			// hosts the jobs, and each session's key travels with every
			// call, so the worker audits and refuses as that person.
			c, _, err := a.attach(cfg)
			if err != nil {
				return err
			}
			if c != nil {
				a.svc = c // closed by execute
				return a.serveSSH(cmd.Context(), c, cfg, sc, log)
			}
			refresh := cfg.TUI.Refresh.Or(tui.DefaultRefresh)
			l, err := a.newLocal(cfg, log, func() { log.Warn("no cluster configured; using " + config.DefaultBroker) }, nil,
				ops.WithLagSampling(refresh))
			if err != nil {
				return err
			}
			a.svc = l // closed by execute
			if !noJobs {
				if err := l.StartJobs(cmd.Context()); err != nil {
					return err
				}
			}
			return a.serveSSH(cmd.Context(), l, cfg, sc, log)
		},
	}
	cmd.Flags().StringVar(&sshAddr, "ssh", "", "listen for SSH on HOST:PORT, overriding [ssh] listen (default "+config.DefaultSSHListen+")")
	cmd.Flags().BoolVar(&noJobs, "no-jobs", false, "do not host the configured jobs (a 'kdeck run' worker hosts them)")
	return cmd
}

// serveSSH serves svc over SSH until ctx is done. svc is any ops.Service:
// an in-process Local, or a client of a 'kdeck run' worker; the server
// never closes it.
func (a *app) serveSSH(ctx context.Context, svc ops.Service, cfg *config.Config, sc config.SSH, log *slog.Logger) error {
	// Sessions draw with their own renderers; the global one (bubbles'
	// defaults) must never query the server's terminal.
	lipgloss.SetHasDarkBackground(true)
	lipgloss.SetColorProfile(termenv.Ascii)
	// Wish's bubbletea middleware reports a console ended by its client
	// ("program was killed") on charmbracelet/log's default logger; sshd
	// logs each session's end itself.
	charmlog.SetOutput(io.Discard)
	srv, err := sshd.New(svc, sc, cfg.HostKeyPath(),
		sshd.WithExec(a.remoteExec(cfg)),
		sshd.WithLogger(log),
		sshd.WithTUIOptions(tui.WithRefresh(cfg.TUI.Refresh.Or(tui.DefaultRefresh))),
	)
	if err != nil {
		return err
	}
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.err, "kdeck: serving the console over SSH on %s (host key %s %s; %d user(s))\n",
		addr, cfg.HostKeyPath(), srv.HostKeyFingerprint(), len(sc.Users))
	return srv.Serve(ctx)
}

// remoteExec returns how 'kdeck serve' runs an SSH exec request: a fresh
// root command on the session's streams, over the session's view of the
// served service (its key's actor in every call), with the server's
// configuration; remoteRefusal keeps it off the server's files.
func (a *app) remoteExec(cfg *config.Config) sshd.ExecFunc {
	return func(ctx context.Context, args []string, svc ops.Service, in io.Reader, out, errOut io.Writer) int {
		r := &app{in: in, out: out, err: errOut, cfg: cfg, remote: true}
		r.newService = func(context.Context) (ops.Service, error) {
			if r.readOnly {
				// --read-only restricts the key's view further.
				return ops.ForActor(svc, ops.Actor{ReadOnly: true}), nil
			}
			return svc, nil
		}
		return r.execute(ctx, args)
	}
}

// localOnly are the top-level commands refused over SSH, and why.
var localOnly = map[string]string{
	"serve":      "it starts servers on the server",
	"run":        "it starts a worker on the server",
	"dev":        "it starts a cluster on the server",
	"config":     "it reads the server's configuration files",
	"completion": "completion scripts are for a local kdeck",
}

// localFileAnnotation marks a flag naming a file on the machine kdeck runs
// on (markLocalFile).
const localFileAnnotation = "kdeck_local_file"

// markLocalFile marks flags of fs whose value names a local file; over SSH
// they are refused (the file would be the server's), except "-" (stdin).
func markLocalFile(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.SetAnnotation(n, localFileAnnotation, []string{"true"})
	}
}

// errRemote marks a command refused over SSH.
var errRemote = errors.New("refused over SSH")

// remoteRefusal refuses, for a command run over SSH, what would act on the
// server rather than through the served service: the local-only commands,
// flags naming the server's files, and -b (brokers the server was not
// configured with). It runs before anything is done.
func remoteRefusal(cmd *cobra.Command, a *app) error {
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	if !top.HasParent() {
		return usageError{fmt.Errorf("%w: the console opens when you connect without a command, from a terminal (ssh -t); with a command, give a subcommand such as 'groups -o json'", errRemote)}
	}
	if why, ok := localOnly[top.Name()]; ok {
		return usageError{fmt.Errorf("%w: '%s' is not served over SSH (%s); run it on the server itself", errRemote, top.Name(), why)}
	}
	var bad []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if _, ok := f.Annotations[localFileAnnotation]; ok && f.Value.String() != "-" {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) > 0 {
		return usageError{fmt.Errorf("%w: %s would name a file on the server; pass \"-\" to read your standard input where the flag allows it, or redirect output on your side (ssh ... -o json > plan.json)", errRemote, strings.Join(bad, ", "))}
	}
	if a.brokers != "" {
		return usageError{fmt.Errorf("%w: --brokers: this server serves its configured clusters only; choose one with -c NAME", errRemote)}
	}
	return nil
}
