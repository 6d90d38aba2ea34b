// Package remote is the client of a kdeck worker's API (package api): a
// Client implements the whole ops.Service over HTTP, on the worker's Unix
// socket or on TCP, with errors that keep their kind (ops.ErrReadOnly,
// ops.ErrGroupActive, ops.ErrNotFound, ...) so that exit codes stay right.
//
//	c, err := remote.New("unix:///var/lib/kdeck/kdeck.sock")
//	if err != nil {
//		return err // nothing answers there
//	}
//	defer c.Close()
//	jobs, err := c.Jobs(ctx)
package remote

// Why this file is long (~650 lines): it is one method for each method of
// ops.Service, each a thin HTTP call through the request helpers at its
// top, in the Service's order, so a reader checks the client against the
// interface in one pass. The schema methods are in schemas.go.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/spec"
)

// Opt configures a Client.
type Opt interface{ apply(*cfg) }

type optFn func(*cfg)

func (f optFn) apply(c *cfg) { f(c) }

type cfg struct {
	token    string
	timeout  time.Duration
	tls      *tls.Config
	cluster  string
	readOnly bool
}

// WithToken sends a bearer token with every request (TCP workers with a
// tokens file).
func WithToken(t string) Opt { return optFn(func(c *cfg) { c.token = t }) }

// WithTimeout bounds every request (except a followed read, which lasts
// until its context is done); default 30s.
func WithTimeout(d time.Duration) Opt { return optFn(func(c *cfg) { c.timeout = d }) }

// WithTLS sets the TLS configuration of https:// URLs (CA, client
// certificate); default the system roots.
func WithTLS(t *tls.Config) Opt { return optFn(func(c *cfg) { c.tls = t }) }

// WithDefaultCluster names the cluster used when a call names none (-c);
// default the worker's default cluster.
func WithDefaultCluster(name string) Opt { return optFn(func(c *cfg) { c.cluster = name }) }

// WithReadOnly refuses every mutation in the client (--read-only), before
// any request.
func WithReadOnly(ro bool) Opt { return optFn(func(c *cfg) { c.readOnly = c.readOnly || ro }) }

// Client is an ops.Service over a worker's API. It is safe for concurrent
// use.
type Client struct {
	cfg    cfg
	base   string // http://host:port, or http://kdeck for a socket
	target string // what the user gave, for messages
	hc     *http.Client
	info   ops.Info
	worker api.Root
}

var _ ops.Service = (*Client)(nil)

// New returns a client of the worker at rawURL (http://host:port,
// https://host:port or unix:///path/to/kdeck.sock). It asks the worker for
// its identity (within the timeout) and fails when nothing answers.
func New(rawURL string, opts ...Opt) (*Client, error) {
	var c cfg
	c.timeout = 30 * time.Second
	for _, o := range opts {
		o.apply(&c)
	}
	if c.timeout <= 0 {
		return nil, errors.New("remote: the timeout must be positive")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, ops.KindError(ops.KindInvalid, fmt.Sprintf("server %q is not a URL: use http://host:port, https://host:port or unix:///path/kdeck.sock", rawURL))
	}
	tr := &http.Transport{
		MaxIdleConns:          8,
		IdleConnTimeout:       time.Minute,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // per request, by context
		TLSClientConfig:       c.tls,
	}
	cl := &Client{cfg: c, target: rawURL, hc: &http.Client{Transport: tr}}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return nil, ops.KindError(ops.KindInvalid, fmt.Sprintf("server %q names no socket: use unix:///path/kdeck.sock", rawURL))
		}
		d := net.Dialer{Timeout: 5 * time.Second}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		cl.base = "http://kdeck"
	case "http", "https":
		if u.Host == "" {
			return nil, ops.KindError(ops.KindInvalid, fmt.Sprintf("server %q names no host: use %s://host:port", rawURL, u.Scheme))
		}
		d := net.Dialer{Timeout: 5 * time.Second}
		tr.DialContext = d.DialContext
		cl.base = u.Scheme + "://" + u.Host
	default:
		return nil, ops.KindError(ops.KindInvalid, fmt.Sprintf("server %q has scheme %q: use http://, https:// or unix://", rawURL, u.Scheme))
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var ib api.InfoBody
	if err := cl.do(ctx, http.MethodGet, api.PathPrefix+"/info", nil, &ib); err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	cl.info, cl.worker = ib.Info, ib.Worker
	if c.cluster != "" {
		cl.info.DefaultCluster = c.cluster
	}
	cl.info.ReadOnly = cl.info.ReadOnly || c.readOnly
	return cl, nil
}

// Worker returns the worker's identity as it answered New: worker id,
// version and start time.
func (c *Client) Worker() api.Root { return c.worker }

// Target returns the URL the client was made with.
func (c *Client) Target() string { return c.target }

// Close releases idle connections; the worker keeps running.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// WorkerError reports a worker that did not answer or stopped mid-request.
type WorkerError struct {
	Target string
	Err    error
}

func (e *WorkerError) Error() string {
	return fmt.Sprintf("the kdeck worker at %s did not answer (%v): is 'kdeck run' still running there?", e.Target, e.Err)
}

// Unwrap returns the transport error.
func (e *WorkerError) Unwrap() error { return e.Err }

// request builds and sends a request; the caller closes the body.
// hdr are extra header names and values.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.token)
	}
	// A caller's actor (ops.ForActor: an SSH session of 'kdeck serve')
	// travels to the worker, which audits and refuses as that person.
	if a, ok := ops.ActorFrom(ctx); ok {
		api.SetOnBehalf(req.Header, a)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, &WorkerError{Target: c.target, Err: unwrapURL(err)}
	}
	return resp, nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeError turns an error response into an error of its kind.
func (c *Client) decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Message == "" {
		return fmt.Errorf("the kdeck worker at %s answered %s: %s", c.target, resp.Status, strings.TrimSpace(string(b)))
	}
	kind := eb.Kind
	switch {
	case kind != "":
	case resp.StatusCode == http.StatusUnauthorized:
		return ops.KindError(ops.KindRefused, eb.Message)
	case resp.StatusCode == http.StatusForbidden:
		kind = ops.KindReadOnly
	case resp.StatusCode == http.StatusNotFound:
		kind = ops.KindNotFound
	}
	err := ops.KindError(kind, eb.Message)
	if len(eb.Fields) > 0 {
		se := &spec.Error{Fields: make([]spec.FieldError, len(eb.Fields))}
		for i, f := range eb.Fields {
			se.Fields[i] = spec.FieldError{Path: f.Field, Msg: f.Message}
		}
		return &fieldsError{err: err, se: se}
	}
	return err
}

// fieldsError is an error answer that listed a bad configuration's fields:
// it reads as the worker's message, matches the sentinels of its kind, and
// errors.As finds a *spec.Error with the fields, as on the worker.
type fieldsError struct {
	err error
	se  *spec.Error
}

func (e *fieldsError) Error() string   { return e.err.Error() }
func (e *fieldsError) Unwrap() []error { return []error{e.err, e.se} }

// do sends a JSON request (in may be nil) and decodes the answer into out
// (may be nil), within the client's timeout.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return c.decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return &WorkerError{Target: c.target, Err: ctx.Err()}
		}
		return &WorkerError{Target: c.target, Err: fmt.Errorf("reading its answer: %w", err)}
	}
	return nil
}

// q builds a path with a cluster query.
func (c *Client) q(path, cluster string, kv ...string) string {
	v := url.Values{}
	if cluster == "" {
		cluster = c.cfg.cluster
	}
	if cluster != "" {
		v.Set("cluster", cluster)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	if len(v) == 0 {
		return api.PathPrefix + path
	}
	return api.PathPrefix + path + "?" + v.Encode()
}

// writable refuses a mutation when the client is read-only.
func (c *Client) writable(what string) error {
	if c.cfg.readOnly {
		return ops.KindError(ops.KindReadOnly, "refusing to "+what+": kdeck is in read-only mode (--read-only)")
	}
	return nil
}

func (c *Client) cluster(name string) string {
	if name == "" {
		return c.cfg.cluster
	}
	return name
}

func seg(s string) string { return url.PathEscape(s) }

// Info implements ops.Service (as the worker answered New).
func (c *Client) Info() ops.Info { return c.info }

// Clusters implements ops.Service.
func (c *Client) Clusters(ctx context.Context) ([]ops.ClusterInfo, error) {
	var out []ops.ClusterInfo
	return out, c.do(ctx, "GET", api.PathPrefix+"/clusters", nil, &out)
}

// Cluster implements ops.Service.
func (c *Client) Cluster(ctx context.Context, cluster string) (ops.ClusterInfo, error) {
	var out ops.ClusterInfo
	return out, c.do(ctx, "GET", c.q("/cluster", cluster), nil, &out)
}

// ListTopics implements ops.Service.
func (c *Client) ListTopics(ctx context.Context, cluster string, opts ops.ListTopicsOptions) ([]ops.TopicSummary, error) {
	var out []ops.TopicSummary
	return out, c.do(ctx, "GET", c.q("/topics", cluster, "internal", fmt.Sprint(opts.Internal)), nil, &out)
}

// DescribeTopic implements ops.Service.
func (c *Client) DescribeTopic(ctx context.Context, cluster, topic string) (ops.TopicDetail, error) {
	var out ops.TopicDetail
	return out, c.do(ctx, "GET", c.q("/topics/"+seg(topic), cluster), nil, &out)
}

// CreateTopic implements ops.Service.
func (c *Client) CreateTopic(ctx context.Context, cluster string, req ops.CreateTopicRequest) error {
	if err := c.writable("create topic " + req.Name); err != nil {
		return err
	}
	return c.do(ctx, "POST", c.q("/topics", cluster), req, nil)
}

// DeleteTopic implements ops.Service.
func (c *Client) DeleteTopic(ctx context.Context, cluster, topic string) error {
	if err := c.writable("delete topic " + topic); err != nil {
		return err
	}
	return c.do(ctx, "DELETE", c.q("/topics/"+seg(topic), cluster), nil, nil)
}

// ListGroups implements ops.Service.
func (c *Client) ListGroups(ctx context.Context, cluster string) ([]ops.GroupSummary, error) {
	var out []ops.GroupSummary
	return out, c.do(ctx, "GET", c.q("/groups", cluster), nil, &out)
}

// DescribeGroup implements ops.Service.
func (c *Client) DescribeGroup(ctx context.Context, cluster, group string) (ops.GroupDetail, error) {
	var out ops.GroupDetail
	return out, c.do(ctx, "GET", c.q("/groups/"+seg(group), cluster), nil, &out)
}

// ReadRecords implements ops.Service: the worker streams records as NDJSON.
// Without Follow a read that receives nothing for the client's timeout ends
// with a WorkerError; with Follow only ctx ends it.
func (c *Client) ReadRecords(ctx context.Context, cluster string, req ops.ReadRequest, fn func(ops.Record) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Without Follow, a read that receives nothing for the timeout is cut
	// (a worker that hangs); a long read that keeps receiving goes on.
	var idle *time.Timer
	if !req.Follow {
		idle = time.AfterFunc(c.cfg.timeout, func() { cancel(fmt.Errorf("no record for %v", c.cfg.timeout)) })
		defer idle.Stop()
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := c.request(ctx, "POST", c.q("/topics/"+seg(req.Topic)+"/records/read", cluster), bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return c.decodeError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		if idle != nil {
			idle.Reset(c.cfg.timeout)
		}
		var line api.ReadLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return &WorkerError{Target: c.target, Err: fmt.Errorf("reading records: %w", err)}
		}
		if line.Error != nil {
			return ops.KindError(line.Error.Kind, line.Error.Message)
		}
		if line.Record != nil {
			if err := fn(*line.Record); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil && req.Follow {
			return nil
		}
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, context.Canceled):
			return cause // the caller gave up
		case cause != nil:
			err = cause
		}
		return &WorkerError{Target: c.target, Err: err}
	}
	if req.Follow && ctx.Err() == nil {
		// A followed read ends only by ctx or an error line: the worker
		// went away.
		return &WorkerError{Target: c.target, Err: errors.New("it closed the stream of records")}
	}
	return nil
}

// Produce implements ops.Service: records stream to the worker as NDJSON.
// An error of the sequence stops the upload and is returned.
func (c *Client) Produce(ctx context.Context, cluster, topic string, records iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
	if err := c.writable("produce to " + topic); err != nil {
		return ops.ProduceResult{}, err
	}
	return c.produceTo(ctx, c.q("/topics/"+seg(topic)+"/records", cluster), records)
}

// produceTo streams records as NDJSON to path (with extra headers hdr) and
// returns the worker's ProduceBody as Produce's result and error.
func (c *Client) produceTo(ctx context.Context, path string, records iter.Seq2[ops.ProduceRecord, error], hdr ...string) (ops.ProduceResult, error) {
	// The upload goroutine ends when the sequence does or the pipe is
	// closed; it reports the sequence's error on seqc (buffered: it never
	// blocks). After a failed request it may still be waiting on the
	// sequence (a terminal's stdin): it ends at the sequence's next record.
	pr, pw := io.Pipe()
	seqc := make(chan error, 1)
	go func() {
		enc := json.NewEncoder(pw)
		for r, err := range records {
			if err != nil {
				pw.CloseWithError(err)
				seqc <- err
				return
			}
			if err := enc.Encode(r); err != nil {
				pw.CloseWithError(err)
				seqc <- nil
				return
			}
		}
		pw.Close()
		seqc <- nil
	}()
	resp, err := c.request(ctx, "POST", path, pr, hdr...)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if the request ended early
	if err != nil {
		select {
		case seqErr := <-seqc:
			if seqErr != nil {
				return ops.ProduceResult{}, seqErr
			}
		default:
		}
		return ops.ProduceResult{}, err
	}
	defer resp.Body.Close()
	var body api.ProduceBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode >= 300 && body.Error == nil {
		return ops.ProduceResult{}, fmt.Errorf("the kdeck worker at %s answered %s to a produce", c.target, resp.Status)
	}
	if body.Error != nil {
		// The worker may have stopped reading early: do not wait for the
		// upload goroutine.
		select {
		case seqErr := <-seqc:
			if seqErr != nil {
				return body.Result, seqErr
			}
		default:
		}
		if body.EncodeError != nil {
			return body.Result, body.EncodeError
		}
		return body.Result, ops.KindError(body.Error.Kind, body.Error.Message)
	}
	// Without an error the worker read the whole body: the upload goroutine
	// has ended.
	if seqErr := <-seqc; seqErr != nil {
		return body.Result, seqErr
	}
	return body.Result, nil
}

// PlanReset implements ops.Service.
func (c *Client) PlanReset(ctx context.Context, req ops.ResetRequest) (*ops.Plan, error) {
	req.Cluster = c.cluster(req.Cluster)
	var out ops.Plan
	if err := c.do(ctx, "POST", api.PathPrefix+"/plans/reset", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecutePlan implements ops.Service.
func (c *Client) ExecutePlan(ctx context.Context, plan *ops.Plan) (ops.AuditEntry, error) {
	if err := c.writable("change the offsets of group " + plan.Group); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/plans/execute", plan, &out)
}

// PlanDeleteOffsets implements ops.Service.
func (c *Client) PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []ops.TopicScope) (*ops.Plan, error) {
	var out ops.Plan
	if err := c.do(ctx, "POST", api.PathPrefix+"/plans/delete-offsets", api.DeleteOffsetsBody{Cluster: c.cluster(cluster), Group: group, Scope: scope}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlanUndo implements ops.Service.
func (c *Client) PlanUndo(ctx context.Context, auditID string) (*ops.Plan, error) {
	var out ops.Plan
	if err := c.do(ctx, "POST", api.PathPrefix+"/plans/undo", api.UndoBody{AuditID: auditID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Audit implements ops.Service.
func (c *Client) Audit(ctx context.Context, filter ops.AuditFilter) ([]ops.AuditEntry, error) {
	var out []ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/audit/search", filter, &out)
}

// AuditEntry implements ops.Service.
func (c *Client) AuditEntry(ctx context.Context, id string) (ops.AuditEntry, error) {
	var out ops.AuditEntry
	return out, c.do(ctx, "GET", api.PathPrefix+"/audit/"+seg(id), nil, &out)
}

// Health implements ops.Service.
func (c *Client) Health(ctx context.Context) (ops.HealthReport, error) {
	var out ops.HealthReport
	return out, c.do(ctx, "GET", api.PathPrefix+"/health", nil, &out)
}

// Jobs implements ops.Service.
func (c *Client) Jobs(ctx context.Context) ([]ops.JobStatus, error) {
	var out []ops.JobStatus
	return out, c.do(ctx, "GET", api.PathPrefix+"/jobs", nil, &out)
}

// Workers implements ops.Service.
func (c *Client) Workers(ctx context.Context) (ops.WorkersReport, error) {
	var out ops.WorkersReport
	return out, c.do(ctx, "GET", api.PathPrefix+"/workers", nil, &out)
}

// Job implements ops.Service.
func (c *Client) Job(ctx context.Context, name string) (ops.JobStatus, error) {
	var out ops.JobStatus
	return out, c.do(ctx, "GET", api.PathPrefix+"/jobs/"+seg(name), nil, &out)
}

// JobAction implements ops.Service.
func (c *Client) JobAction(ctx context.Context, name string, action ops.JobAction, opts ops.JobActionOptions) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("%s job %q", action, name)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/jobs/"+seg(name)+"/actions", api.JobActionBody{Action: action, Options: opts}, &out)
}

// JobOffsets implements ops.Service.
func (c *Client) JobOffsets(ctx context.Context, name string) ([]ops.JobOffset, error) {
	var out []ops.JobOffset
	return out, c.do(ctx, "GET", api.PathPrefix+"/jobs/"+seg(name)+"/offsets", nil, &out)
}

// AlterJobOffsets implements ops.Service.
func (c *Client) AlterJobOffsets(ctx context.Context, name string, req ops.AlterOffsetsRequest) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("alter the offsets of job %q", name)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/jobs/"+seg(name)+"/offsets", req, &out)
}

// ConnectorPlugins implements ops.Service.
func (c *Client) ConnectorPlugins(ctx context.Context) ([]ops.ConnectorPlugin, error) {
	var out []ops.ConnectorPlugin
	return out, c.do(ctx, "GET", api.PathPrefix+"/plugins", nil, &out)
}

// ValidateConnector implements ops.Service.
func (c *Client) ValidateConnector(ctx context.Context, table map[string]any) ([]ops.FieldProblem, error) {
	var out []ops.FieldProblem
	return out, c.do(ctx, "POST", api.PathPrefix+"/plugins/validate", table, &out)
}

// JobConfig implements ops.Service.
func (c *Client) JobConfig(ctx context.Context, name string) (ops.JobConfig, error) {
	var out ops.JobConfig
	return out, c.do(ctx, "GET", api.PathPrefix+"/jobs/"+seg(name)+"/config", nil, &out)
}

// PutJob implements ops.Service.
func (c *Client) PutJob(ctx context.Context, req ops.PutJobRequest) (ops.JobConfig, bool, error) {
	if err := c.writable("create or change a job"); err != nil {
		return ops.JobConfig{}, false, err
	}
	var out api.PutJobBody
	err := c.do(ctx, "PUT", api.PathPrefix+"/jobs", req, &out)
	return out.Config, out.Created, err
}

// DeleteJob implements ops.Service.
func (c *Client) DeleteJob(ctx context.Context, name, command string) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("delete job %q", name)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "DELETE", api.PathPrefix+"/jobs/"+seg(name)+"?command="+url.QueryEscape(command), nil, &out)
}

// QueryStream implements ops.Service: the store is read in the worker.
func (c *Client) QueryStream(ctx context.Context, q ops.StreamQuery) (ops.StreamQueryResult, error) {
	var out ops.StreamQueryResult
	return out, c.do(ctx, "POST", api.PathPrefix+"/streams/query", q, &out)
}

// PlanStreamReset implements ops.Service.
func (c *Client) PlanStreamReset(ctx context.Context, req ops.StreamResetRequest) (*ops.StreamResetPlan, error) {
	var out ops.StreamResetPlan
	if err := c.do(ctx, "POST", api.PathPrefix+"/streams/reset-plan", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecuteStreamReset implements ops.Service.
func (c *Client) ExecuteStreamReset(ctx context.Context, plan *ops.StreamResetPlan) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("reset stream job %q", plan.Job)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/streams/reset-execute", plan, &out)
}

// PlanMirrorFailover implements ops.Service.
func (c *Client) PlanMirrorFailover(ctx context.Context, flow, group string) (*ops.Plan, error) {
	var out ops.Plan
	if err := c.do(ctx, "POST", api.PathPrefix+"/mirrors/"+seg(flow)+"/failover-plan", api.FailoverBody{Group: group}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
