package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Validate and show the configuration", Args: cobra.NoArgs}
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration file and report every problem with file, line and key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := config.Lookup(a.configPath)
			if path == "" {
				return fmt.Errorf("no configuration file found (looked at --config, $KDECK_CONFIG, ./kdeck.toml, $XDG_CONFIG_HOME/kdeck/config.toml)")
			}
			cfg, err := config.Load(path)
			var ce *config.Errors
			if err != nil && !errors.As(err, &ce) {
				return err // unreadable: no problems to list
			}
			if err := mergeProblems(path, err, cfg, jobValidators()); err != nil {
				if errors.As(err, &ce) && a.output == "json" {
					_ = writeJSON(a.out, validationJSON(path, ce))
					return fmt.Errorf("%d problem(s) in %s: see the JSON on stdout", len(ce.List), path)
				}
				return err
			}
			return a.emit(map[string]any{"path": cfg.Path, "valid": true, "clusters": cfg.ClusterNames(), "problems": []problemJSON{}}, func(w io.Writer) {
				fmt.Fprintf(w, "%s is valid: %d cluster(s), %d connector(s), %d mirror(s), %d stream job(s)\n",
					cfg.Path, len(cfg.Clusters), len(cfg.Connectors), len(cfg.Mirrors), len(cfg.Streams))
			})
		},
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the configuration in use, with the defaults that apply, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			s, err := cfg.Effective(configDefaults).Redacted()
			if err != nil {
				return err
			}
			if a.output == "json" {
				return writeJSON(a.out, map[string]any{"path": cfg.Path, "toml": s})
			}
			if cfg.Path == "" {
				fmt.Fprintln(a.out, "# no configuration file found: commands use 127.0.0.1:9092 (or -b)")
			} else {
				fmt.Fprintf(a.out, "# %s\n", cfg.Path)
			}
			fmt.Fprint(a.out, s)
			return nil
		},
	}
	cmd.AddCommand(validate, show)
	return cmd
}

// configDefaults are the values kdeck uses for keys a file leaves unset;
// 'config show' prints them.
var configDefaults = config.Defaults{
	ClientID:          "kdeck",
	DialTimeout:       ops.DefaultDialTimeout,
	RequestTimeout:    ops.DefaultRequestTimeout,
	LagWindow:         ops.DefaultLagWindow,
	LagSampleInterval: ops.DefaultLagSampleInterval,
	Refresh:           tui.DefaultRefresh,
}

// validateJobs lets the runtimes check their job tables (jobValidators).
// Every validator runs, and their problems come back as one *config.Errors
// sorted by line, so one run names every problem of the file.
func validateJobs(cfg *config.Config) error {
	return mergeProblems(cfg.Path, nil, cfg, jobValidators())
}

// mergeProblems runs the validators on cfg and merges their problems with
// first (the file's own, or nil) into one *config.Errors sorted by line. An
// error that is not a *config.Errors is returned as it is.
func mergeProblems(path string, first error, cfg *config.Config, validators []func(*config.Config) error) error {
	all := &config.Errors{Path: path}
	add := func(err error) error {
		var ce *config.Errors
		switch {
		case err == nil:
		case errors.As(err, &ce):
			all.List = append(all.List, ce.List...)
		default:
			return err
		}
		return nil
	}
	if err := add(first); err != nil {
		return err
	}
	if cfg != nil {
		for _, v := range validators {
			if err := add(v(cfg)); err != nil {
				return err
			}
		}
	}
	if len(all.List) == 0 {
		return nil
	}
	sort.SliceStable(all.List, func(i, j int) bool { return all.List[i].Line < all.List[j].Line })
	return all
}

// jobValidators returns the validators of the job tables, one per runtime
// (connectors, mirrors, stream jobs), in that order.
func jobValidators() []func(*config.Config) error {
	return []func(*config.Config) error{
		func(cfg *config.Config) error { return ops.ValidateConnectors(cfg, nil) },
		ops.ValidateMirrors,
		ops.ValidateStreams,
	}
}

func newDevCmd(a *app) *cobra.Command {
	var port int
	var ephemeral bool
	var dataDir string
	var noDemo, syncWrites bool
	var registryPort int
	var noRegistry bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded default: an in-process Kafka cluster with a live demo channel",
		Long: `Run the embedded default headless: a Kafka-protocol cluster (franz-go's kfake)
on 127.0.0.1 that any Kafka client can use, seeded with demo topics, a demo
producer and consumer groups that lag. Topics, records and committed offsets
persist under the data dir unless --ephemeral: what was acknowledged survives
the process being killed; with --sync-writes (fsync before every
acknowledgement, slower) it survives an OS crash too. It also serves a Schema
Registry (Confluent's API) on 127.0.0.1:8081 (--registry-port, 0 for a free
port; --no-registry for none), its subjects stored in the cluster's _schemas
topic, and the demo adds Avro records in demo.payments. Runs until
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if !ephemeral && dataDir == "" {
				dataDir = filepath.Join(cfg.DataDir(), "embedded")
			}
			if ephemeral {
				dataDir = ""
			}
			if (a.readOnly || cfg.Ops.ReadOnly) && !noDemo {
				// Read-only: the demo channel writes, so it does not run.
				noDemo = true
				fmt.Fprintln(a.err, "kdeck dev: read-only mode, so the demo channel does not run (nothing is produced or committed)")
			}
			start := time.Now()
			e, err := ops.StartEmbedded(cmd.Context(), ops.EmbeddedOptions{Port: port, DataDir: dataDir, Demo: !noDemo, SyncWrites: syncWrites, Registry: !noRegistry, RegistryPort: registryPort})
			if err != nil {
				return err
			}
			// The demo channel's jobs (the datagen connector feeding
			// demo.orders) run under a Local that owns the cluster; the
			// configured jobs are not started here ('kdeck run' does that).
			demo, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: cfg.Ops}, ops.WithEmbedded(e), ops.WithReadOnly(a.readOnly))
			if err != nil {
				e.Close()
				return err
			}
			defer demo.Close()
			if err := demo.StartJobs(cmd.Context()); err != nil {
				return err
			}
			a.printDevStarted(e, dataDir, time.Since(start))
			<-cmd.Context().Done()
			fmt.Fprintln(a.err, "kdeck dev: shutting down")
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&port, "port", 9092, "port on 127.0.0.1; 0 picks a free one")
	f.BoolVar(&ephemeral, "ephemeral", false, "keep everything in memory")
	f.StringVar(&dataDir, "data-dir", "", "where the cluster persists (default: DATA_DIR/embedded)")
	markLocalFile(f, "data-dir")
	f.BoolVar(&noDemo, "no-demo", false, "do not seed or run the demo channel")
	f.BoolVar(&syncWrites, "sync-writes", false, "fsync every write before acknowledging it (survives an OS crash; slower)")
	f.IntVar(&registryPort, "registry-port", 8081, "Schema Registry port on 127.0.0.1; 0 picks a free one")
	f.BoolVar(&noRegistry, "no-registry", false, "do not serve a Schema Registry")
	return cmd
}

// printDevStarted says where 'kdeck dev' listens, as JSON with -o json.
func (a *app) printDevStarted(e *ops.Embedded, dataDir string, took time.Duration) {
	if a.output == "json" {
		_ = writeJSON(a.out, map[string]any{"bootstrap": e.Addr(), "schema_registry": e.RegistryURL(), "data_dir": dataDir, "startup_ms": took.Milliseconds()})
		return
	}
	fmt.Fprintf(a.out, "kdeck dev: embedded cluster 'local' listening on %s (started in %v)\n", e.Addr(), took.Round(time.Millisecond))
	if u := e.RegistryURL(); u != "" {
		fmt.Fprintf(a.out, "schema registry on %s (subjects stored in the _schemas topic)\n", u)
	}
	if dataDir != "" {
		fmt.Fprintf(a.out, "data persists in %s (use --ephemeral to keep it in memory)\n", dataDir)
	}
	fmt.Fprintf(a.out, "try: kdeck -b %s groups   |   kcat -b %s -L\n", e.Addr(), e.Addr())
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kdeck's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			info := map[string]string{"version": version, "go": runtime.Version()}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "github.com/twmb/franz-go" {
						info["franz_go"] = d.Version
					}
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						info["commit"] = s.Value
					}
				}
			}
			return a.emit(info, func(w io.Writer) {
				fmt.Fprintf(w, "kdeck %s (%s, franz-go %s)\n", info["version"], info["go"], info["franz_go"])
			})
		},
	}
}

func newCompletionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish",
		Short:     "Print a shell completion script (names of clusters, topics and groups complete from the live cluster)",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.out, true)
			case "zsh":
				return root.GenZshCompletion(a.out)
			case "fish":
				return root.GenFishCompletion(a.out, true)
			}
			return usagef("unknown shell %q: use bash, zsh or fish", args[0])
		},
	}
}

// completion helpers ask the live cluster with a short timeout.
func (a *app) completeCtx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), 2*time.Second)
}

func (a *app) completeClusters(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return cfg.ClusterNames(), cobra.ShellCompDirectiveNoFileComp
}

// completeNames completes the first argument with names listed from the
// live cluster, giving up quietly after two seconds.
func (a *app) completeNames(cmd *cobra.Command, args []string, list func(context.Context, ops.Service) ([]string, error)) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := a.completeCtx(cmd)
	defer cancel()
	a.err = io.Discard
	svc, err := a.service(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names, err := list(ctx, svc)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeTopics(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeNames(cmd, args, func(ctx context.Context, svc ops.Service) ([]string, error) {
		ts, err := svc.ListTopics(ctx, "", ops.ListTopicsOptions{})
		names := make([]string, 0, len(ts))
		for _, t := range ts {
			names = append(names, t.Name)
		}
		return names, err
	})
}

func (a *app) completeGroups(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.completeNames(cmd, args, func(ctx context.Context, svc ops.Service) ([]string, error) {
		gs, err := svc.ListGroups(ctx, "")
		names := make([]string, 0, len(gs))
		for _, g := range gs {
			names = append(names, g.Group)
		}
		return names, err
	})
}

// problemJSON is one configuration problem in 'config validate -o json'.
type problemJSON struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	Key        string `json:"key"`
	Message    string `json:"message"`
	Suggestion string `json:"suggestion,omitempty"`
}

var suggestionRE = regexp.MustCompile(`; did you mean "([^"]*)"\?`)

// validationJSON is the -o json form of a file with problems: the
// suggestion ("did you mean X?") is split from the message.
func validationJSON(path string, ce *config.Errors) map[string]any {
	list := make([]problemJSON, len(ce.List))
	for i, e := range ce.List {
		msg, sug := e.Msg, ""
		if m := suggestionRE.FindStringSubmatchIndex(msg); m != nil {
			sug = msg[m[2]:m[3]]
			msg = msg[:m[0]] + msg[m[1]:]
		}
		list[i] = problemJSON{File: e.Path, Line: e.Line, Key: e.Key, Message: msg, Suggestion: sug}
	}
	return map[string]any{"path": path, "valid": false, "problems": list}
}
