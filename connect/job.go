package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/jobstate"
	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/spec"
)

// Common keys of every [[connectors]] table, beside the connector's own.
const (
	FieldName                = "name"
	FieldClass               = "class"
	FieldCluster             = "cluster"
	FieldTasksMax            = "tasks_max"
	FieldTransforms          = "transforms"
	FieldErrorsTolerance     = "errors_tolerance"
	FieldDLQTopic            = "dlq_topic"
	FieldErrorsRetryTimeout  = "errors_retry_timeout"
	FieldKeyConverter        = "key_converter"
	FieldValueConverter      = "value_converter"
	FieldOffsetFlushInterval = "offset_flush_interval"
	FieldOffsetsTopic        = "offsets_topic"
	FieldDisabled            = "disabled"
	FieldBatchSize           = "batch_size"
	FieldCompression         = "compression"
)

// CommonSpec returns the keys every connector table has.
func CommonSpec() *Spec {
	return NewSpec("Keys common to every connector.",
		NewField(FieldName, TypeString).Description("Unique name of the connector; sink connectors consume in the group connect-NAME."),
		NewField(FieldClass, TypeString).Description("Connector class, such as file-source, file-sink or datagen (see 'kdeck connect plugins')."),
		NewField(FieldCluster, TypeString).Optional().Description("Cluster the connector produces to or consumes from; default the default cluster."),
		NewField(FieldTasksMax, TypeInt).Default(int64(1)).AtLeast(1).Description("Most tasks the connector splits its work into."),
		NewField(FieldTransforms, TypeTables).Optional().Description(`Single message transforms applied in order, each a table with a type key, for example { type = "insert_field", static_field = "src", static_value = "app" }.`),
		NewField(FieldErrorsTolerance, TypeString).Default("none").Enum("none", "all").Description(`"none": a record that cannot be converted, transformed or written fails the task; "all": it goes to dlq_topic (or is skipped and counted without one) and processing continues.`),
		NewField(FieldDLQTopic, TypeString).Optional().Description("Dead-letter topic for failed records, with Kafka Connect's __connect.errors.* headers (sources too)."),
		NewField(FieldErrorsRetryTimeout, TypeDuration).Default("30s").Description("How long retriable failures (Kafka, a sink's target) are retried with backoff before the task fails."),
		NewField(FieldKeyConverter, TypeString).Optional().Enum(ConverterJSON, ConverterString, ConverterBytes, ConverterAvro, ConverterProtobuf, ConverterJSONSchema).Description("Key converter: json, string, bytes, or avro, protobuf, json_schema (Schema Registry wire format); default the connector's."),
		NewField(FieldValueConverter, TypeString).Optional().Enum(ConverterJSON, ConverterString, ConverterBytes, ConverterAvro, ConverterProtobuf, ConverterJSONSchema).Description("Value converter: json, string, bytes, or avro, protobuf, json_schema (Schema Registry wire format); default the connector's."),
		NewField(FieldOffsetFlushInterval, TypeDuration).Default("1s").Description("How often a source task saves the offsets Kafka has acknowledged."),
		NewField(FieldOffsetsTopic, TypeString).Optional().Description("Compacted topic for source offsets on a real cluster; default a local file in the data dir (embedded) or kdeck-connect-offsets."),
		NewField(FieldDisabled, TypeBool).Default(false).Description("Configured but not started until 'kdeck connect start'."),
		NewField(FieldBatchSize, TypeInt).Default(int64(5000)).AtLeast(1).Description("Sink: most records per batch handed to the task."),
		NewField(FieldCompression, TypeString).Default("none").Enum("none", "gzip", "snappy", "lz4", "zstd").Description("Compression of produced batches (Kafka Connect's producer default is none)."),
	).With(NewSpec("", schemaFields()...))
}

// Opt configures NewJob.
type Opt interface{ apply(*jobCfg) }

type jobOpt func(*jobCfg)

func (f jobOpt) apply(c *jobCfg) { f(c) }

type jobCfg struct {
	clientOpts []kgo.Opt
	store      OffsetStore
	log        *slog.Logger
	registry   *schema.Client
	only       map[int]bool // nil: every task
	member     string       // static member id suffix of sink tasks; "" for dynamic membership
	session    time.Duration
}

// WithClientOpts sets the franz-go options (seed brokers, TLS, SASL) of
// every client the job builds. Required.
func WithClientOpts(opts ...kgo.Opt) Opt {
	return jobOpt(func(c *jobCfg) { c.clientOpts = append(c.clientOpts, opts...) })
}

// WithOffsetStore sets where source offsets are saved; default a
// KafkaOffsetStore on the job's cluster (offsets_topic or
// DefaultOffsetsTopic).
func WithOffsetStore(s OffsetStore) Opt { return jobOpt(func(c *jobCfg) { c.store = s }) }

// OnlyTasks makes Run run only the tasks with these ids (a worker group's
// share of the connector's tasks; ids index the connector's full split, so
// each task keeps its configuration and offsets whichever worker runs it).
// The default runs every task. An empty list runs none: Run returns nil at
// once.
func OnlyTasks(ids ...int) Opt {
	return jobOpt(func(c *jobCfg) {
		c.only = map[int]bool{}
		for _, id := range ids {
			c.only[id] = true
		}
	})
}

// StaticMembers makes every sink task a static member of the group
// connect-NAME, with instance id NAME-TASK-WORKER, and sets the group
// session timeout (0 keeps franz-go's 45s). A task restarted in place after
// a crash takes its partitions back without a rebalance; a task that stops
// leaves the group explicitly so others take its partitions at once. The
// default is dynamic membership.
func StaticMembers(worker string, session time.Duration) Opt {
	return jobOpt(func(c *jobCfg) { c.member, c.session = worker, session })
}

// WithLogger sets the logger; default discards.
func WithLogger(l *slog.Logger) Opt { return jobOpt(func(c *jobCfg) { c.log = l }) }

// Job runs one connector: its tasks, their clients and offsets. Build it
// with NewJob, run it with Run. Status, Pause, Resume, RestartTask and the
// offsets methods are safe to call concurrently with Run.
type Job struct {
	name   string
	reg    *Registry
	plugin *Plugin
	p      *Parsed
	cfg    jobCfg
	log    *slog.Logger

	source SourceConnector
	sink   SinkConnector
	chain  chain
	keyC   Converter
	valC   Converter

	tolerateAll  bool
	dlqTopic     string
	retryTimeout time.Duration
	flushEvery   time.Duration

	paused  atomic.Bool
	resumed chan struct{} // closed and replaced on each Resume

	offs *Offsets // reads and alters the offsets in cfg.store or the group

	mu    sync.Mutex
	tasks []*task
	ran   bool
}

// NewJob validates a connector table against the common keys, the class's
// spec, its transforms and converters, and returns the job. All problems are
// reported at once in a *ConfigError. It starts nothing.
func NewJob(reg *Registry, table map[string]any, opts ...Opt) (*Job, error) {
	var c jobCfg
	for _, o := range opts {
		o.apply(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	j, err := parseJob(reg, table)
	if err != nil {
		return nil, err
	}
	j.cfg = c
	j.log = c.log.With("connector", j.name)
	if err := j.bindSchemaConverters(); err != nil {
		return nil, err
	}
	if j.cfg.store == nil {
		j.cfg.store = NewKafkaOffsetStore(j.p.String(FieldOffsetsTopic), c.clientOpts...)
	}
	j.offs = &Offsets{name: j.name, source: j.source != nil, store: j.cfg.store, clientOpts: c.clientOpts}
	return j, nil
}

// Validate checks a connector table as NewJob does, without building
// anything that connects.
func Validate(reg *Registry, table map[string]any) error {
	_, err := parseJob(reg, table)
	return err
}

func parseJob(reg *Registry, table map[string]any) (*Job, error) {
	name, _ := table[FieldName].(string)
	subject := "connector"
	if name != "" {
		subject = fmt.Sprintf("connector %q", name)
	}
	var probs spec.Problems
	plugin, p := parseCommon(reg, table, &probs)
	if probs.Len() > 0 || plugin == nil {
		return nil, &ConfigError{Subject: subject, Fields: probs.List()}
	}
	j := &Job{name: name, reg: reg, plugin: plugin, p: p, resumed: make(chan struct{})}
	j.chain = reg.addChain(p.Tables(FieldTransforms), &probs)
	j.bindConverters(&probs)
	j.tolerateAll = p.String(FieldErrorsTolerance) == "all"
	j.dlqTopic = p.String(FieldDLQTopic)
	if j.dlqTopic != "" && !j.tolerateAll {
		probs.Add(FieldDLQTopic, `needs errors_tolerance = "all" (with "none" a bad record fails the task)`)
	}
	j.retryTimeout = p.Duration(FieldErrorsRetryTimeout)
	j.flushEvery = p.Duration(FieldOffsetFlushInterval)
	if j.flushEvery <= 0 {
		j.flushEvery = time.Second
	}
	if probs.Len() == 0 {
		var err error
		if plugin.NewSource != nil {
			j.source, err = plugin.NewSource(p)
		} else {
			j.sink, err = plugin.NewSink(p)
		}
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			err = &ConfigError{Fields: []FieldError{{Path: FieldClass, Msg: err.Error()}}}
		}
		probs.Merge("", err)
	}
	if err := probs.Err(subject, nil); err != nil {
		return nil, err
	}
	return j, nil
}

// parseCommon finds the table's class and parses the table against the
// common keys and the class's spec. Without a known class it checks the
// common keys only (an unknown class's keys cannot be checked).
func parseCommon(reg *Registry, table map[string]any, probs *spec.Problems) (*Plugin, *Parsed) {
	class, _ := table[FieldClass].(string)
	var plugin *Plugin
	if class != "" {
		var err error
		if plugin, err = reg.Plugin(class); err != nil {
			probs.Add(FieldClass, err.Error())
		}
	}
	s := CommonSpec()
	if plugin != nil {
		s = s.With(plugin.Spec)
	}
	p, err := s.Parse(table)
	var ce *ConfigError
	if errors.As(err, &ce) {
		for _, fe := range ce.Fields {
			if plugin == nil && class != "" && strings.HasPrefix(fe.Msg, "unknown key") {
				continue // the class is unknown: its keys cannot be checked
			}
			probs.Add(fe.Path, fe.Msg)
		}
	}
	return plugin, p
}

// bindConverters sets the job's key and value converters: the table's, or
// the plugin's defaults.
func (j *Job) bindConverters(probs *spec.Problems) {
	kc := j.p.String(FieldKeyConverter)
	if kc == "" {
		kc = j.plugin.KeyConverter
	}
	vc := j.p.String(FieldValueConverter)
	if vc == "" {
		vc = j.plugin.ValueConverter
	}
	for _, c := range []struct {
		name  string
		isKey bool
		field string
		into  *Converter
	}{{kc, true, FieldKeyConverter, &j.keyC}, {vc, false, FieldValueConverter, &j.valC}} {
		if isSchemaConverter(c.name) {
			sc, err := newSchemaConverter(c.name, c.isKey, j.p)
			if err != nil {
				probs.Add(c.field, err.Error())
				continue
			}
			*c.into = sc
			continue
		}
		*c.into, _ = NewConverter(c.name)
	}
}

// Name returns the connector's name.
func (j *Job) Name() string { return j.name }

// Plugin returns the connector's class.
func (j *Job) Plugin() *Plugin { return j.plugin }

// Config returns the parsed configuration.
func (j *Job) Config() *Parsed { return j.p }

// Group returns the consumer group of a sink connector: connect-NAME.
func (j *Job) Group() string { return "connect-" + j.name }

// ErrAllTasksFailed is returned by Run when every task has failed.
var ErrAllTasksFailed = errors.New("every task failed")

// Run runs the connector's tasks until ctx is cancelled, then stops them
// gracefully (sources: flush the producer and save acknowledged offsets;
// sinks: nothing is pending after each batch) and returns nil. A task that
// fails stays FAILED, with its error, until RestartTask; when every task has
// failed Run returns an error wrapping ErrAllTasksFailed with the first
// task's reason. When every source task reached the end of its input, Run
// returns nil. Run may be called once.
func (j *Job) Run(ctx context.Context) error {
	j.mu.Lock()
	if j.ran {
		j.mu.Unlock()
		return errors.New("connect: Job.Run called twice")
	}
	j.ran = true
	j.mu.Unlock()

	tasks, err := j.planTasks()
	if err != nil || len(tasks) == 0 {
		return err
	}
	rt := &runtime{j: j}
	if err := rt.open(ctx); err != nil {
		return err
	}
	defer rt.close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	j.mu.Lock()
	j.tasks = tasks
	j.mu.Unlock()
	changed := make(chan struct{}, len(tasks)*4+1)
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Go(func() { rt.supervise(runCtx, t, changed) })
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-changed:
			var over bool
			if over, runErr = j.tasksOver(tasks); over {
				break loop
			}
		}
	}
	cancel()
	wg.Wait()
	return runErr
}

// planTasks asks the connector to split its work into at most tasks_max
// task configurations and returns the tasks of those this job runs (all,
// or the ones its worker was assigned); none is not an error.
func (j *Job) planTasks() ([]*task, error) {
	var confs []Conf
	var err error
	if j.source != nil {
		confs, err = j.source.Tasks(int(j.p.Int(FieldTasksMax)))
	} else {
		confs, err = j.sink.Tasks(int(j.p.Int(FieldTasksMax)))
	}
	if err != nil {
		return nil, fmt.Errorf("connector %q cannot split its work: %w", j.name, err)
	}
	if len(confs) == 0 {
		return nil, fmt.Errorf("connector %q produced no task configurations", j.name)
	}
	if max := int(j.p.Int(FieldTasksMax)); len(confs) > max {
		confs = confs[:max]
	}
	tasks := make([]*task, 0, len(confs))
	for i, c := range confs {
		if j.cfg.only == nil || j.cfg.only[i] {
			tasks = append(tasks, newTask(i, c))
		}
	}
	return tasks, nil
}

// tasksOver reports whether Run is over after a task changed state: every
// task failed (err wraps ErrAllTasksFailed with the first task's reason) or
// every task finished (err is nil).
func (j *Job) tasksOver(tasks []*task) (over bool, err error) {
	failed, finished := 0, 0
	var first string
	var errs []error
	for _, t := range tasks {
		switch st, trace := t.stateTrace(); st {
		case jobstate.Failed:
			failed++
			if first == "" {
				first = fmt.Sprintf("task %d: %s", t.id, firstLine(trace))
			}
			t.mu.Lock()
			errs = append(errs, t.err)
			t.mu.Unlock()
		case jobstate.Stopped:
			finished++
		}
	}
	if failed == len(tasks) {
		return true, &tasksFailedError{msg: fmt.Sprintf("connector %q: %v: %s", j.name, ErrAllTasksFailed, first), errs: errs}
	}
	return finished == len(tasks), nil
}

// tasksFailedError is Run's error when every task failed: it matches
// ErrAllTasksFailed and, when every task failed with a permanent error (one
// with a Permanent() bool method answering true, such as
// RejectedRecordError), those errors too, so that a supervisor does not
// restart the connector into the same failure.
type tasksFailedError struct {
	msg  string
	errs []error
}

func (e *tasksFailedError) Error() string { return e.msg }

func (e *tasksFailedError) Unwrap() []error {
	for _, err := range e.errs {
		var p interface{ Permanent() bool }
		if !errors.As(err, &p) || !p.Permanent() {
			return []error{ErrAllTasksFailed}
		}
	}
	return append([]error{ErrAllTasksFailed}, e.errs...)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Pause pauses every task: sources stop polling, sinks stop fetching.
// Offsets of what was already produced are still saved.
func (j *Job) Pause() { j.paused.Store(true) }

// Resume resumes paused tasks.
func (j *Job) Resume() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.paused.Swap(false) {
		close(j.resumed)
		j.resumed = make(chan struct{})
	}
}

// waitResumed blocks while the job is paused, up to d.
func (j *Job) waitResumed(ctx context.Context, d time.Duration) {
	j.mu.Lock()
	ch := j.resumed
	j.mu.Unlock()
	if !j.paused.Load() {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-ch:
	case <-t.C:
	}
}

// RestartTask restarts one task (a FAILED one, or a running one, which
// stops gracefully first).
func (j *Job) RestartTask(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, t := range j.tasks {
		if t.id == id {
			t.requestRestart()
			return nil
		}
	}
	ids := make([]string, len(j.tasks))
	for i, t := range j.tasks {
		ids[i] = strconv.Itoa(t.id)
	}
	return fmt.Errorf("connector %q has no task %d on this worker (tasks: %s)", j.name, id, strings.Join(ids, ", "))
}

// RestartFailedTasks restarts every FAILED task and returns their ids.
func (j *Job) RestartFailedTasks() []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ids []int
	for _, t := range j.tasks {
		if st, _ := t.stateTrace(); st == jobstate.Failed {
			t.requestRestart()
			ids = append(ids, t.id)
		}
	}
	return ids
}

// Status is a job's state and its tasks'.
type Status struct {
	State jobstate.State
	Tasks []TaskStatus
}

// TaskStatus is one task's state, error and metrics.
type TaskStatus struct {
	ID       int
	State    jobstate.State
	Trace    string
	FailedAt time.Time
	Metrics  Metrics
	Detail   map[string]string
}

// Metrics are a task's counters and rates (jobstate.Meter: per second over
// the last second or so, sampled by the task once per batch, so they advance
// whether or not Status is called).
type Metrics struct {
	RecordsIn, RecordsOut, BytesIn, BytesOut int64
	Errors, DLQ                              int64
	RecordsInPerSec, RecordsOutPerSec        float64
	BytesInPerSec, BytesOutPerSec            float64
	LastActivity                             time.Time
}

// Status returns the job's state: RUNNING (or PAUSED) with the tasks'
// states; UNASSIGNED before Run has split the work.
func (j *Job) Status() Status {
	j.mu.Lock()
	tasks := append([]*task(nil), j.tasks...)
	j.mu.Unlock()
	st := Status{State: jobstate.Running}
	if j.paused.Load() {
		st.State = jobstate.Paused
	}
	if len(tasks) == 0 {
		st.State = jobstate.Unassigned
	}
	for _, t := range tasks {
		ts := t.status()
		if ts.State == jobstate.Running && j.paused.Load() {
			ts.State = jobstate.Paused
		}
		st.Tasks = append(st.Tasks, ts)
	}
	return st
}

// SplitTasks validates a connector table and returns the task
// configurations its connector splits the work into, without running
// anything (for tests and 'kdeck connect validate').
func SplitTasks(reg *Registry, table map[string]any) ([]Conf, error) {
	j, err := parseJob(reg, table)
	if err != nil {
		return nil, err
	}
	max := int(j.p.Int(FieldTasksMax))
	var confs []Conf
	if j.source != nil {
		confs, err = j.source.Tasks(max)
	} else {
		confs, err = j.sink.Tasks(max)
	}
	if len(confs) > max {
		confs = confs[:max]
	}
	return confs, err
}
