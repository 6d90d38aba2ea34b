package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3
)

// app holds the global flags and the lazily built service of one run.
type app struct {
	in       io.Reader
	out, err io.Writer

	configPath string
	cluster    string
	brokers    string
	output     string
	noColor    bool
	readOnly   bool
	server     string
	// worker is the worker attached to, if any (see attach).
	worker api.Root

	cfg *config.Config
	svc ops.Service
	// newService builds the service; tests replace it.
	newService func(ctx context.Context) (ops.Service, error)
}

// usageError marks an error as a usage error (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes kdeck with args and returns the exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	a := &app{in: in, out: out, err: errOut}
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if a.svc != nil {
		a.svc.Close()
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(errOut, "kdeck: "+sentence(err))
	return exitCode(err)
}

// sentence returns an error message as one sentence, without a stack or a
// trailing newline.
func sentence(err error) string {
	msg := strings.TrimSpace(err.Error())
	return msg
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.Is(err, ops.ErrReadOnly), errors.Is(err, ops.ErrRefused), errors.Is(err, ops.ErrGroupActive), errors.Is(err, ops.ErrGroupMoved):
		return exitRefused
	case errors.As(err, &ue), errors.Is(err, ops.ErrInvalid):
		return exitUsage
	}
	return exitError
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "kdeck",
		Short: "An operations console for Kafka data channels",
		Long: `kdeck inspects Kafka clusters, topics, consumer groups and records, and
performs offset resets and replays safely: previewed, audited and undoable.

Run without a subcommand on a terminal, kdeck opens its console (the TUI). With
no configuration the console starts the embedded default in-process: a cluster
with live demo data on 127.0.0.1:9092 (or a free port). Subcommands without a
configuration file talk to 127.0.0.1:9092; 'kdeck dev' starts the embedded
cluster there headless.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTUI(cmd)
		},
	}
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%v (see '%s --help')", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default: $KDECK_CONFIG, ./kdeck.toml, $XDG_CONFIG_HOME/kdeck/config.toml)")
	pf.StringVarP(&a.cluster, "cluster", "c", "", "cluster name from the configuration (default: default_cluster)")
	pf.StringVarP(&a.brokers, "brokers", "b", "", "bootstrap brokers host:port[,host:port], an ad-hoc cluster without any file")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.BoolVar(&a.noColor, "no-color", false, "disable colours (also NO_COLOR)")
	pf.BoolVar(&a.readOnly, "read-only", false, "refuse every mutation")
	pf.StringVar(&a.server, "server", "", "attach to a worker: http(s)://host:port or unix:///path/kdeck.sock, 'none' for in-process (default: $KDECK_SERVER, [client] server, or the data dir's live worker)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if a.output != "table" && a.output != "json" {
			return usagef("--output %q is not a format: use table or json", a.output)
		}
		if os.Getenv("NO_COLOR") != "" {
			a.noColor = true
		}
		return nil
	}
	_ = root.RegisterFlagCompletionFunc("cluster", a.completeClusters)
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		newClustersCmd(a),
		newTopicsCmd(a),
		newGroupsCmd(a),
		newTailCmd(a),
		newProduceCmd(a),
		newConfigCmd(a),
		newDevCmd(a),
		newVersionCmd(a),
		newCompletionCmd(a),
	)
	for _, c := range extraCommands {
		root.AddCommand(c(a))
	}
	// Wrong arguments are usage errors too.
	var wrapArgs func(c *cobra.Command)
	wrapArgs = func(c *cobra.Command) {
		if c.Args != nil {
			orig := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := orig(cmd, args); err != nil {
					return usageError{fmt.Errorf("%v (see '%s --help')", err, cmd.CommandPath())}
				}
				return nil
			}
		}
		for _, s := range c.Commands() {
			wrapArgs(s)
		}
	}
	wrapArgs(root)
	return root
}

// extraCommands lets other files of this package add top-level commands
// without editing newRootCmd (offsets, replay, audit, connect, ...).
var extraCommands []func(a *app) *cobra.Command

// loadConfig reads the configuration once.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := config.Load(config.Lookup(a.configPath))
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	return cfg, nil
}

// service builds the ops service once: the configured clusters, or -b, or
// the default 127.0.0.1:9092 (said on stderr) when nothing is configured.
func (a *app) service(ctx context.Context) (ops.Service, error) {
	if a.svc != nil {
		return a.svc, nil
	}
	if a.newService != nil {
		s, err := a.newService(ctx)
		if err != nil {
			return nil, err
		}
		a.svc = s
		return s, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	if c, _, err := a.attach(cfg); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		a.svc = c
		return c, nil
	}
	l, err := a.newLocal(cfg, slog.New(slog.DiscardHandler), func() {
		fmt.Fprintf(a.err, "kdeck: no configuration found; using the cluster at %s (start one with 'kdeck dev', or pass -b)\n", config.DefaultBroker)
	}, nil)
	if err != nil {
		return nil, err
	}
	a.svc = l
	return l, nil
}

// newLocal builds the ops.Local of the global flags: -b, or the configured
// clusters, or, when nothing is configured, the embedded cluster e if given,
// else (calling noConfig) the default 127.0.0.1:9092; -c and --read-only
// apply. extra options come last.
func (a *app) newLocal(cfg *config.Config, log *slog.Logger, noConfig func(), e *ops.Embedded, extra ...ops.Opt) (*ops.Local, error) {
	opts := []ops.Opt{ops.WithReadOnly(a.readOnly), ops.WithLogger(log)}
	switch {
	case a.brokers != "":
		cl, err := config.AdHoc(a.brokers)
		if err != nil {
			return nil, usageError{err}
		}
		opts = append(opts, ops.WithBrokers(cl))
	case len(cfg.Clusters) == 0 && e != nil:
		opts = append(opts, ops.WithEmbedded(e))
	case len(cfg.Clusters) == 0:
		cl, _ := config.AdHoc(config.DefaultBroker)
		opts = append(opts, ops.WithBrokers(cl))
		if noConfig != nil {
			noConfig()
		}
	}
	if a.cluster != "" {
		opts = append(opts, ops.WithDefaultCluster(a.cluster))
	}
	l, err := ops.NewLocal(cfg, append(opts, extra...)...)
	if err != nil {
		if errors.Is(err, config.ErrUnknownCluster) {
			return nil, usageError{err}
		}
		return nil, err
	}
	return l, nil
}
