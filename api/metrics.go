package api

// Why Metrics.ServeHTTP is long (~100 lines): it writes the metric
// families one after another in the Prometheus text format, each a HELP
// and TYPE line and a loop over the jobs; the order is the output's order.

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"

	"github.com/kdeck/kdeck/ops"
)

// Metrics serves GET /metrics in Prometheus' text format (0.0.4): per job and
// task from the service's job statuses, and, when given, the franz-go client
// metrics of a ClientMetrics.
type Metrics struct {
	svc     ops.Service
	clients prometheus.Gatherer
}

// NewMetrics returns the /metrics handler over svc; clients may be nil.
func NewMetrics(svc ops.Service, clients *ClientMetrics) *Metrics {
	m := &Metrics{svc: svc}
	if clients != nil {
		m.clients = clients.reg
	}
	return m
}

// ClientMetrics counts franz-go client metrics with kprom under the
// namespace kdeck_kafka, one set per cluster (label cluster) summed over
// every client of that cluster (admin, producers, consumers of every job).
// kprom's buffered-records gauges read one client and are left out.
type ClientMetrics struct {
	reg *prometheus.Registry

	mu    sync.Mutex
	hooks map[string]*clusterHook
}

// clusterHook is kprom's hook shared by the clients of one cluster: kprom
// registers its collectors on the first client only, and keeps them when a
// client closes (counters survive job restarts).
type clusterHook struct {
	*kprom.Metrics
	once sync.Once
}

// OnNewClient registers kprom's collectors for the first client.
func (h *clusterHook) OnNewClient(cl *kgo.Client) { h.once.Do(func() { h.Metrics.OnNewClient(cl) }) }

// OnClientClosed keeps the collectors: other clients still count.
func (h *clusterHook) OnClientClosed(*kgo.Client) {}

// NewClientMetrics returns an empty ClientMetrics.
func NewClientMetrics() *ClientMetrics {
	return &ClientMetrics{reg: prometheus.NewRegistry(), hooks: map[string]*clusterHook{}}
}

// Hook returns the hook of clients of cluster; pass it to
// ops.WithClientHook. It is safe for concurrent use.
func (c *ClientMetrics) Hook(cluster string) kgo.Hook {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hooks[cluster]
	if !ok {
		h = &clusterHook{Metrics: kprom.NewMetrics("kdeck_kafka", kprom.Registry(c.reg),
			kprom.WithStaticLabel(prometheus.Labels{"cluster": cluster}))}
		c.hooks[cluster] = h
	}
	return h
}

var states = []ops.State{ops.StateRunning, ops.StatePaused, ops.StateStopped, ops.StateFailed, ops.StateUnassigned, ops.StateRestarting}

// metric is one family read from a job's or task's metrics.
type metric struct {
	name, typ, help string
	val             func(m ops.JobMetrics) float64
}

var jobMetrics = []metric{
	{"kdeck_job_records_per_second", "gauge", "Records read (direction in) and written (out) per second, over the last sampling interval.", nil},
	{"kdeck_job_bytes_per_second", "gauge", "Bytes read (direction in) and written (out) per second.", nil},
	{"kdeck_job_errors_total", "counter", "Record errors (retried, tolerated or fatal).", func(m ops.JobMetrics) float64 { return float64(m.Errors) }},
	{"kdeck_job_dlq_records_total", "counter", "Records sent to the dead-letter topic.", func(m ops.JobMetrics) float64 { return float64(m.DLQ) }},
	{"kdeck_job_lag_records", "gauge", "Lag in records of sinks, mirrors and stream jobs.", func(m ops.JobMetrics) float64 { return float64(m.Lag) }},
	{"kdeck_job_replication_latency_seconds", "gauge", "Replication latency of mirror flows, from heartbeats.", func(m ops.JobMetrics) float64 { return m.LatencyMillis / 1000 }},
	{"kdeck_job_late_records_total", "counter", "Records of stream jobs dropped as later than the window's grace.", func(m ops.JobMetrics) float64 { return float64(m.LateRecords) }},
}

// taskMetrics calls fn with the task label and metrics of each task of j,
// or of the job itself (task "") when it has no tasks.
// In a worker group a job's status lists the tasks other workers run:
// they are left out, so that summing over the group's workers counts each
// task once.
func taskMetrics(j ops.JobStatus, fn func(task string, m ops.JobMetrics)) {
	if len(j.Tasks) == 0 {
		fn("", j.Metrics)
		return
	}
	for _, t := range j.Tasks {
		if !elsewhere(t) {
			fn(strconv.Itoa(t.ID), t.Metrics)
		}
	}
}

// elsewhere reports whether t is a task of a worker group that this worker
// does not run (its status came from the group's status topic).
func elsewhere(t ops.TaskStatus) bool {
	return t.Detail["worker_group"] != "" && t.Detail["worker"] == ""
}

// ServeHTTP implements http.Handler.
func (h *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	jobs, err := h.svc.Jobs(r.Context())
	if err != nil {
		writeOpsError(w, err)
		return
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("kdeck_job_state", "gauge", "1 for the job's current state, 0 for the others.")
	for _, j := range jobs {
		for _, s := range states {
			fmt.Fprintf(bw, "kdeck_job_state{job=%s,kind=%s,state=%s} %d\n", q(j.Name), q(string(j.Kind)), q(string(s)), b2i(j.State == s))
		}
	}
	family("kdeck_task_state", "gauge", "1 for the task's current state, 0 for the others.")
	for _, j := range jobs {
		for _, t := range j.Tasks {
			if elsewhere(t) {
				continue
			}
			for _, s := range states {
				fmt.Fprintf(bw, "kdeck_task_state{job=%s,kind=%s,task=\"%d\",state=%s} %d\n", q(j.Name), q(string(j.Kind)), t.ID, q(string(s)), b2i(t.State == s))
			}
		}
	}
	family("kdeck_job_records_total", "counter", "Records read (direction in: polled by sources, consumed by sinks, mirrors and stream jobs) and written (out).")
	for _, j := range jobs {
		taskMetrics(j, func(task string, m ops.JobMetrics) {
			fmt.Fprintf(bw, "kdeck_job_records_total{job=%s,kind=%s,task=%s,direction=\"in\"} %d\n", q(j.Name), q(string(j.Kind)), q(task), m.RecordsIn)
			fmt.Fprintf(bw, "kdeck_job_records_total{job=%s,kind=%s,task=%s,direction=\"out\"} %d\n", q(j.Name), q(string(j.Kind)), q(task), m.RecordsOut)
		})
	}
	for _, m := range jobMetrics {
		family(m.name, m.typ, m.help)
		for _, j := range jobs {
			taskMetrics(j, func(task string, jm ops.JobMetrics) {
				labels := fmt.Sprintf("job=%s,kind=%s,task=%s", q(j.Name), q(string(j.Kind)), q(task))
				switch m.name {
				case "kdeck_job_records_per_second":
					fmt.Fprintf(bw, "%s{%s,direction=\"in\"} %g\n%s{%s,direction=\"out\"} %g\n", m.name, labels, jm.RecordsInPerSec, m.name, labels, jm.RecordsOutPerSec)
				case "kdeck_job_bytes_per_second":
					fmt.Fprintf(bw, "%s{%s,direction=\"in\"} %g\n%s{%s,direction=\"out\"} %g\n", m.name, labels, jm.BytesInPerSec, m.name, labels, jm.BytesOutPerSec)
				default:
					fmt.Fprintf(bw, "%s{%s} %g\n", m.name, labels, m.val(jm))
				}
			})
		}
	}
	family("kdeck_job_restarts_total", "counter", "Restarts of the job by the supervisor after a failure.")
	for _, j := range jobs {
		n := 0
		if len(j.Tasks) > 0 {
			n, _ = strconv.Atoi(j.Tasks[0].Detail["job_restarts"])
		}
		fmt.Fprintf(bw, "kdeck_job_restarts_total{job=%s,kind=%s} %d\n", q(j.Name), q(string(j.Kind)), n)
	}
	family("kdeck_job_last_error_timestamp_seconds", "gauge", "Time of the job's last error (0: none).")
	for _, j := range jobs {
		var ts float64
		if j.LastErrorAt != nil {
			ts = float64(j.LastErrorAt.UnixMilli()) / 1000
		}
		fmt.Fprintf(bw, "kdeck_job_last_error_timestamp_seconds{job=%s,kind=%s} %g\n", q(j.Name), q(string(j.Kind)), ts)
	}
	family("kdeck_stream_restore_records", "gauge", "Changelog records restored into a stream task's store (state=restored) out of those to restore (state=total).")
	for _, j := range jobs {
		for _, t := range j.Tasks {
			var keys []string
			for k := range t.Detail {
				if strings.HasPrefix(k, "store.") && strings.HasSuffix(k, ".restore") {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				store := strings.TrimSuffix(strings.TrimPrefix(k, "store."), ".restore")
				done, total, ok := strings.Cut(t.Detail[k], "/")
				if !ok {
					continue
				}
				labels := fmt.Sprintf("job=%s,task=\"%d\",store=%s", q(j.Name), t.ID, q(store))
				fmt.Fprintf(bw, "kdeck_stream_restore_records{%s,state=\"restored\"} %s\n", labels, num(done))
				fmt.Fprintf(bw, "kdeck_stream_restore_records{%s,state=\"total\"} %s\n", labels, num(total))
			}
		}
	}
	if h.clients != nil {
		mfs, err := h.clients.Gather()
		if err == nil {
			enc := expfmt.NewEncoder(bw, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				if strings.HasPrefix(mf.GetName(), "kdeck_kafka_buffered_") {
					continue
				}
				_ = enc.Encode(mf)
			}
		}
	}
}

// num returns s if it is a number, else 0.
func num(s string) string {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "0"
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// q quotes a label value as the text format wants.
func q(s string) string { return `"` + labelEscaper.Replace(s) + `"` }
