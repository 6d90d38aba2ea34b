package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// readmePath is README.md, resolved before any test changes directory.
var readmePath, _ = filepath.Abs("../../README.md")

// readmeBlock is one fenced ```toml block of README.md.
type readmeBlock struct {
	line int    // line of the opening fence
	mark string // the <!-- example: ... --> right before the fence, "" when none
	text string
}

// readmeTOML returns every fenced TOML block of the README, with its mark.
func readmeTOML(t *testing.T) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	markRE := regexp.MustCompile(`^<!--\s*example:\s*(.*?)\s*-->$`)
	var out []readmeBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```toml" {
			continue
		}
		blk := readmeBlock{line: i + 1}
		if i > 0 {
			if m := markRE.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				blk.mark = m[1]
			}
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		blk.text = strings.Join(body, "\n") + "\n"
		out = append(out, blk)
	}
	return out
}

// testFuncExists reports whether some _test.go file of the repository
// declares func name.
func testFuncExists(t *testing.T, name string) bool {
	t.Helper()
	re := regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(t \*testing\.T\)`)
	found := false
	_ = filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			if b, err := os.ReadFile(p); err == nil && re.Match(b) {
				found = true
			}
		}
		return nil
	})
	return found
}

// clusterRefs returns the cluster names the jobs of a block refer to.
func clusterRefs(text string) []string {
	re := regexp.MustCompile(`(?m)^\s*(cluster|source|target)\s*=\s*"([^"]+)"`)
	seen := map[string]bool{}
	var out []string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if !seen[m[2]] {
			seen[m[2]] = true
			out = append(out, m[2])
		}
	}
	return out
}

// TestREADMEExamples runs every ```toml block of README.md. A block is one
// of:
//
//   - unmarked: a configuration that runs against the embedded default
//     (clusters "local" and "dr"): it validates as 'kdeck config validate'
//     does, every job reaches RUNNING, and data moves (sources and mirrors
//     produce, sinks and stream jobs consume); absolute paths are rooted in a
//     temporary directory;
//   - <!-- example: run-by TestName -->: run by that test, which must exist;
//     the block must still validate, with its clusters defined;
//   - <!-- example: validate-only: REASON -->: needs what this machine has
//     not (brokers, files); it must validate;
//   - <!-- example: fragment: REASON -->: part of a file, shown for its keys.
//
// Any other mark fails the test, as does a block that does not hold.
func TestREADMEExamples(t *testing.T) {
	blocks := readmeTOML(t)
	if len(blocks) < 5 {
		t.Fatalf("found %d toml blocks in README.md; the extraction is broken", len(blocks))
	}
	var runnable []readmeBlock
	for _, b := range blocks {
		name := fmt.Sprintf("README.md:%d", b.line)
		kind, reason, _ := strings.Cut(b.mark, " ")
		kind = strings.TrimSuffix(kind, ":")
		reason = strings.TrimSpace(reason)
		switch {
		case b.mark == "":
			runnable = append(runnable, b)
		case kind == "run-by":
			if !regexp.MustCompile(`^Test\w+$`).MatchString(reason) || !testFuncExists(t, reason) {
				t.Errorf("%s: marked run-by %q, but no test of that name exists", name, reason)
			}
			validateBlock(t, name, b.text, true)
		case kind == "validate-only":
			if len(reason) < 10 {
				t.Errorf("%s: validate-only needs a reason (what is missing here)", name)
			}
			validateBlock(t, name, b.text, false)
		case kind == "fragment":
			if len(reason) < 10 {
				t.Errorf("%s: fragment needs a reason (what it is part of)", name)
			}
		default:
			t.Errorf("%s: unknown mark %q: use run-by TestName, validate-only: REASON or fragment: REASON", name, b.mark)
		}
	}
	if len(runnable) == 0 {
		t.Fatal("no runnable toml block in README.md")
	}
	if testing.Short() {
		t.Skip("running the README's jobs takes a few seconds; runs without -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := ops.StartEmbedded(ctx, ops.EmbeddedOptions{Port: 0, Demo: true, DemoRate: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for _, b := range runnable {
		t.Run(fmt.Sprintf("line%d", b.line), func(t *testing.T) { runBlock(ctx, t, e, b) })
	}
}

// validateBlock checks text as 'kdeck config validate' does; with
// defineClusters, the clusters its jobs name are defined first.
func validateBlock(t *testing.T, name, text string, defineClusters bool) {
	t.Helper()
	head := ""
	if defineClusters {
		for i, c := range clusterRefs(text) {
			head += fmt.Sprintf("[clusters.%s]\nbrokers = [\"127.0.0.1:%d\"]\n", c, 1+i)
		}
	}
	cfg, err := config.Parse(name, []byte(text+head))
	if err == nil {
		err = validateJobs(cfg)
	}
	if err != nil {
		t.Errorf("%s does not validate: %v", name, err)
	}
}

var absPathRE = regexp.MustCompile(`(?m)^(\s*(?:path|data_dir)\s*=\s*")/`)

func runBlock(ctx context.Context, t *testing.T, e *ops.Embedded, b readmeBlock) {
	root := t.TempDir()
	text := absPathRE.ReplaceAllString(b.text, "${1}"+filepath.ToSlash(root)+"/")
	head := fmt.Sprintf("default_cluster = \"local\"\n[clusters.local]\nbrokers = [%q]\n[clusters.dr]\nbrokers = [%q]\n", e.Addr(), e.DRAddr())
	if !strings.Contains(text, "[ops]") {
		head += fmt.Sprintf("[ops]\ndata_dir = %q\n", filepath.Join(root, "data"))
	}
	// Top-level keys first, then the block's tables.
	cfg, err := config.Parse(fmt.Sprintf("README.md:%d", b.line), []byte(head+text))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, text)
	}
	if err := validateJobs(cfg); err != nil {
		t.Fatalf("does not validate: %v", err)
	}
	prepareInputs(ctx, t, e, cfg, root)
	l, err := ops.NewLocal(cfg, ops.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	jctx, stop := context.WithCancel(ctx)
	t.Cleanup(func() { stop(); l.Close() })
	if err := l.StartJobs(jctx); err != nil {
		t.Fatalf("starting the jobs: %v", err)
	}
	want := len(cfg.Connectors) + len(cfg.Mirrors) + len(cfg.Streams)
	deadline := time.Now().Add(45 * time.Second)
	var last []ops.JobStatus
	for {
		jobs, err := l.Jobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = jobs
		done := 0
		for _, j := range jobs {
			if j.State == ops.StateFailed {
				t.Fatalf("job %s FAILED: %s", j.Name, j.LastError)
			}
			if j.State == ops.StateRunning && movedData(j) {
				done++
			}
		}
		if done == want && len(jobs) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 45s not every job is RUNNING and moving data: %+v", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkOutputs(ctx, t, e, cfg, root)
	checkMirrors(ctx, t, e, cfg)
}

// movedData reports whether a job did its part: sources and mirrors wrote
// records, sinks and stream jobs read them.
func movedData(j ops.JobStatus) bool {
	switch {
	case j.Kind == ops.KindMirror:
		return j.Metrics.RecordsOut > 0
	case j.Kind == ops.KindStream:
		return j.Metrics.RecordsIn > 0
	case strings.Contains(j.Class, "sink"):
		return j.Metrics.RecordsIn > 0
	}
	return j.Metrics.RecordsOut > 0
}

// prepareInputs gives a block's jobs what the README says they read: lines
// in the files a file source follows, records in the topics a mirror
// copies, and the output topics stream jobs need.
func prepareInputs(ctx context.Context, t *testing.T, e *ops.Embedded, cfg *config.Config, root string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, j := range cfg.Connectors {
		if j.Table["class"] != "file-source" {
			continue
		}
		glob, _ := j.Table["path"].(string)
		p := strings.ReplaceAll(glob, "*", "readme")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var lines strings.Builder
		for i := range 20 {
			level := "INFO"
			if i%4 == 0 {
				level = "DEBUG"
			}
			fmt.Fprintf(&lines, "%s line %d\n", level, i)
		}
		if err := os.WriteFile(p, []byte(lines.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range cfg.Connectors {
		if strings.HasSuffix(fmt.Sprint(j.Table["class"]), "sink") {
			if p, ok := j.Table["path"].(string); ok {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, j := range cfg.Mirrors {
		for _, name := range literalTopics(j) {
			for i := range 10 {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: name, Value: fmt.Appendf(nil, `{"n":%d}`, i)}).FirstErr(); err != nil {
					t.Fatalf("seeding %s: %v", name, err)
				}
			}
		}
	}
	for _, j := range cfg.Streams {
		// The README says the output and the dead-letter topic must exist.
		for _, k := range []string{"output", "dlq_topic"} {
			if out, ok := j.Table[k].(string); ok {
				if _, err := adm.CreateTopic(ctx, 6, 1, nil, out); err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
					t.Fatalf("creating %s: %v", out, err)
				}
			}
		}
	}
}

// checkOutputs checks what the README's text promises beyond counters: a
// file sink's file holds lines, a file source's filter dropped the DEBUG
// lines, and a prefix-naming mirror wrote SOURCE.TOPIC in the target.
func checkOutputs(ctx context.Context, t *testing.T, e *ops.Embedded, cfg *config.Config, root string) {
	t.Helper()
	for _, j := range cfg.Connectors {
		switch j.Table["class"] {
		case "file-sink":
			p, _ := j.Table["path"].(string)
			deadline := time.Now().Add(20 * time.Second)
			for {
				n := countLines(p)
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: the sink wrote no line to %s", j.Name(), p)
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		case "file-source":
			topic, _ := j.Table["topic"].(string)
			cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			got, debug := 0, 0
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			for got < 15 && fctx.Err() == nil {
				cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) {
					got++
					if strings.Contains(string(r.Value), "DEBUG") {
						debug++
					}
				})
			}
			cancel()
			cl.Close()
			if got != 15 || debug != 0 {
				t.Errorf("%s: topic %s has %d records (%d DEBUG); want the 15 lines that are not DEBUG", j.Name(), topic, got, debug)
			}
		}
	}
}

func checkMirrors(ctx context.Context, t *testing.T, e *ops.Embedded, cfg *config.Config) {
	t.Helper()
	for _, j := range cfg.Mirrors {
		if naming, _ := j.Table["naming"].(string); naming != "" && naming != "prefix" {
			continue
		}
		src, _ := j.Table["source"].(string)
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.DRAddr()))
		if err != nil {
			t.Fatal(err)
		}
		tds, err := kadm.NewClient(cl).ListTopics(ctx)
		cl.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range literalTopics(j) {
			if !tds.Has(src + "." + tp) {
				t.Errorf("%s: the target has no %s.%s (prefix naming): %v", j.Name(), src, tp, tds.Names())
			}
		}
	}
}

// literalTopics returns the topics a mirror's patterns name literally
// ("orders.*" names "orders"): the ones the test seeds and checks.
func literalTopics(j config.Job) []string {
	topics, _ := j.Table["topics"].([]any)
	var out []string
	for _, tp := range topics {
		name := strings.TrimSuffix(fmt.Sprint(tp), ".*")
		if regexp.QuoteMeta(name) == name {
			out = append(out, name)
		}
	}
	return out
}

func countLines(p string) int {
	f, err := os.Open(p)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		n++
	}
	return n
}

// readmeJSONAfter returns the first ```json block after the line that
// starts with marker.
func readmeJSONAfter(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+marker)
	if i < 0 {
		t.Fatalf("README.md has no line starting with %s", marker)
	}
	s = s[i:]
	start := strings.Index(s, "```json\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no json block after %s", marker)
	}
	return s[start+8 : start+8+end]
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %v", v)
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// TestREADMEGroupsJSON checks that the README's groups JSON examples have
// the keys a one-shot command prints (the README once showed a "status"
// and an estimate a one-shot run does not give), and that a partition
// without a commit is null there as in the output.
func TestREADMEGroupsJSON(t *testing.T) {
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "demo.orders", 2)
	c.ProduceN(t, "demo.orders", 40)
	c.Commit(t, "demo-billing", map[string]map[int32]int64{"demo.orders": {0: 5, 1: 7}})

	var doc, got []any
	if err := json.Unmarshal([]byte(readmeJSONAfter(t, "`kdeck groups -o json`")), &doc); err != nil {
		t.Fatalf("README groups example is not JSON: %v", err)
	}
	r := kdeck(t, "", "-b", c.Addr(), "groups", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) == 0 {
		t.Fatalf("groups -o json: %v %+v", err, r)
	}
	if k, w := keysOf(t, doc[0]), keysOf(t, got[0]); k != w {
		t.Errorf("README groups example keys %s, output keys %s", k, w)
	}
	if doc[0].(map[string]any)["time_lag_estimate_seconds"] != got[0].(map[string]any)["time_lag_estimate_seconds"] {
		t.Errorf("README's one-shot estimate %v, output %v", doc[0].(map[string]any)["time_lag_estimate_seconds"], got[0].(map[string]any)["time_lag_estimate_seconds"])
	}

	var ddoc, dgot map[string]any
	if err := json.Unmarshal([]byte(readmeJSONAfter(t, "`kdeck groups describe demo-billing -o json`")), &ddoc); err != nil {
		t.Fatalf("README describe example is not JSON: %v", err)
	}
	r = kdeck(t, "", "-b", c.Addr(), "groups", "describe", "demo-billing", "-o", "json")
	if err := json.Unmarshal([]byte(r.out), &dgot); err != nil {
		t.Fatalf("describe -o json: %v %+v", err, r)
	}
	if k, w := keysOf(t, ddoc), keysOf(t, dgot); k != w {
		t.Errorf("README describe example keys %s, output keys %s", k, w)
	}
	offs := ddoc["offsets"].([]any)
	if k, w := keysOf(t, offs[0]), keysOf(t, dgot["offsets"].([]any)[0]); k != w {
		t.Errorf("README describe offsets keys %s, output keys %s", k, w)
	}
	for _, o := range offs {
		m := o.(map[string]any)
		if m["committed"] == nil && (m["lag"] != nil || m["time_lag_seconds"] != nil) {
			t.Errorf("README shows a partition without a commit with a lag: %v", m)
		}
	}
}
