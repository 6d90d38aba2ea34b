package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"unicode"

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
	// brokersSet is true when -b was given, even empty (an error).
	brokersSet bool
	registry   string
	output     string
	noColor    bool
	readOnly   bool
	server     string
	// worker is the worker attached to, if any (see attach).
	worker api.Root

	cfg *config.Config
	svc ops.Service
	// newService builds the service; tests replace it, and an SSH exec
	// request sets it to the session's view of the served service.
	newService func(ctx context.Context) (ops.Service, error)
	// remote is true for a command an SSH client runs on 'kdeck serve':
	// commands and flags touching the server's files are refused (see
	// remoteRefusal).
	remote bool
}

// usageError marks an error as a usage error (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes kdeck with args and returns the exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	a := &app{in: in, out: out, err: errOut}
	return a.execute(ctx, args)
}

// execute runs a fresh root command over a with args and returns the exit
// code, closing the service the command built (a view of a shared service
// closes nothing).
func (a *app) execute(ctx context.Context, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if a.svc != nil {
		a.svc.Close()
	}
	if err == nil {
		return exitOK
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's own error for a word that is no command: usage.
		err = usageError{fmt.Errorf("%v: see 'kdeck --help' for the commands", err)}
	}
	fmt.Fprintln(a.err, "kdeck: "+sentence(err))
	return exitCode(err)
}

// sentence returns an error message as one sentence, without a stack or a
// trailing newline; control bytes (from names in the message) are escaped
// so they cannot move the cursor or change colours. Newlines stay: lists of
// problems are one per line.
func sentence(err error) string {
	return escapeControl(strings.TrimSpace(err.Error()), true)
}

// escapeControl escapes control characters in s as Go does in quoted
// strings (\x1b, \t, \u0085); keepNewlines keeps '\n'.
func escapeControl(s string, keepNewlines bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && !(keepNewlines && r == '\n') }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) && !(keepNewlines && r == '\n') {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exitCode maps an error to the exit code of README's table: 3 refused
// (read-only, active group, group moved, undo not possible), 2 usage (bad
// flags, arguments or input, and a name that does not exist or already
// exists), 1 any other error.
func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.Is(err, ops.ErrReadOnly), errors.Is(err, ops.ErrRefused), errors.Is(err, ops.ErrGroupActive), errors.Is(err, ops.ErrGroupMoved):
		return exitRefused
	case errors.As(err, &ue), errors.Is(err, ops.ErrInvalid), errors.Is(err, ops.ErrNotFound):
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
	a.rootFlags(root)

	root.AddCommand(
		newClustersCmd(a),
		newTopicsCmd(a),
		newGroupsCmd(a),
		newTailCmd(a),
		newProduceCmd(a),
		newConfigCmd(a),
		newDevCmd(a),
		newServeCmd(a),
		newVersionCmd(a),
		newCompletionCmd(a),
		newOffsetsCmd(a),
		newReplayCmd(a),
		newAuditCmd(a),
		newHealthCmd(a),
		newConnectCmd(a),
		newRunCmd(a),
		newMirrorCmd(a),
		newStreamsCmd(a),
		newSchemasCmd(a),
		newWorkersCmd(a),
	)
	usageArgs(root)
	return root
}

// rootFlags declares the persistent flags every command takes and checks
// them before any command runs.
func (a *app) rootFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default: $KDECK_CONFIG, ./kdeck.toml, $XDG_CONFIG_HOME/kdeck/config.toml)")
	markLocalFile(pf, "config")
	pf.StringVarP(&a.cluster, "cluster", "c", "", "cluster name from the configuration (default: default_cluster)")
	pf.StringVarP(&a.brokers, "brokers", "b", "", "bootstrap brokers host:port[,host:port], an ad-hoc cluster without any file")
	pf.StringVar(&a.registry, "registry", "", "Schema Registry URL for the default cluster (as kcat's -r), overriding its [clusters.NAME.schema_registry]")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.BoolVar(&a.noColor, "no-color", false, "disable colours (also NO_COLOR)")
	pf.BoolVar(&a.readOnly, "read-only", false, "refuse every mutation")
	pf.StringVar(&a.server, "server", "", "attach to a worker: http(s)://host:port or unix:///path/kdeck.sock, 'none' for in-process (default: $KDECK_SERVER, [client] server, or the data dir's live worker)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if a.output != "table" && a.output != "json" {
			return usagef("--output %q is not a format: use table or json", a.output)
		}
		a.brokersSet = cmd.Flags().Changed("brokers")
		if a.brokersSet && strings.TrimSpace(strings.ReplaceAll(a.brokers, ",", "")) == "" {
			return usagef("--brokers is empty: give host:port[,host:port...], or leave -b out to use the configuration")
		}
		if os.Getenv("NO_COLOR") != "" {
			a.noColor = true
		}
		if err := checkNames(cmd, args); err != nil {
			return err
		}
		if a.remote {
			return remoteRefusal(cmd, a)
		}
		return nil
	}
	_ = root.RegisterFlagCompletionFunc("cluster", a.completeClusters)
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// usageArgs makes wrong arguments usage errors (exit 2) in c and every
// command below it.
func usageArgs(c *cobra.Command) {
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
		usageArgs(s)
	}
}

// loadConfig reads the configuration once.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path := config.Lookup(a.configPath)
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) && cfg != nil {
			// Name the job tables' problems too: every problem at once.
			return nil, mergeProblems(path, err, cfg, jobValidators())
		}
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
	if a.registry != "" {
		if err := config.ValidRegistryURL(a.registry); err != nil {
			return nil, usagef("--registry: %v", err)
		}
		opts = append(opts, ops.WithRegistry(a.registry))
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
