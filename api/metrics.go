package api

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"

	"github.com/kdeck/kdeck/ops"
)

// Metrics serves GET /metrics in Prometheus' text format (version 0.0.4)
// from the service's job statuses, per job and per task.
type Metrics struct {
	svc ops.Service
}

// NewMetrics returns the /metrics handler over svc.
func NewMetrics(svc ops.Service) *Metrics { return &Metrics{svc: svc} }

var states = []ops.State{ops.StateRunning, ops.StatePaused, ops.StateStopped, ops.StateFailed, ops.StateUnassigned, ops.StateRestarting}

// metric is one family: name, type, help and how to read it from metrics.
type metric struct {
	name, typ, help string
	val             func(m ops.JobMetrics) float64
}

var jobMetrics = []metric{
	{"kdeck_job_records_in_total", "counter", "Records read by the job (source records polled, sink records consumed).", func(m ops.JobMetrics) float64 { return float64(m.RecordsIn) }},
	{"kdeck_job_records_out_total", "counter", "Records written by the job.", func(m ops.JobMetrics) float64 { return float64(m.RecordsOut) }},
	{"kdeck_job_records_in_per_second", "gauge", "Records read per second, over the last sampling interval.", func(m ops.JobMetrics) float64 { return m.RecordsInPerSec }},
	{"kdeck_job_records_out_per_second", "gauge", "Records written per second, over the last sampling interval.", func(m ops.JobMetrics) float64 { return m.RecordsOutPerSec }},
	{"kdeck_job_bytes_in_per_second", "gauge", "Bytes read per second.", func(m ops.JobMetrics) float64 { return m.BytesInPerSec }},
	{"kdeck_job_bytes_out_per_second", "gauge", "Bytes written per second.", func(m ops.JobMetrics) float64 { return m.BytesOutPerSec }},
	{"kdeck_job_errors_total", "counter", "Record errors (retried, tolerated or fatal).", func(m ops.JobMetrics) float64 { return float64(m.Errors) }},
	{"kdeck_job_dlq_records_total", "counter", "Records sent to the dead-letter topic.", func(m ops.JobMetrics) float64 { return float64(m.DLQ) }},
	{"kdeck_job_lag_records", "gauge", "Lag in records of sinks, mirrors and stream jobs.", func(m ops.JobMetrics) float64 { return float64(m.Lag) }},
	{"kdeck_job_latency_milliseconds", "gauge", "Replication latency of mirrors (heartbeats), in milliseconds.", func(m ops.JobMetrics) float64 { return m.LatencyMillis }},
}

// ServeHTTP implements http.Handler.
func (h *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	jobs, err := h.svc.Jobs(r.Context())
	if err != nil {
		writeOpsError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	fmt.Fprintln(bw, "# HELP kdeck_job_state 1 for the job's current state, 0 for the others.")
	fmt.Fprintln(bw, "# TYPE kdeck_job_state gauge")
	for _, j := range jobs {
		for _, s := range states {
			fmt.Fprintf(bw, "kdeck_job_state{job=%s,kind=%s,state=%s} %d\n", q(j.Name), q(string(j.Kind)), q(string(s)), b2i(j.State == s))
		}
	}
	fmt.Fprintln(bw, "# HELP kdeck_task_state 1 for the task's current state, 0 for the others.")
	fmt.Fprintln(bw, "# TYPE kdeck_task_state gauge")
	for _, j := range jobs {
		for _, t := range j.Tasks {
			for _, s := range states {
				fmt.Fprintf(bw, "kdeck_task_state{job=%s,kind=%s,task=\"%d\",state=%s} %d\n", q(j.Name), q(string(j.Kind)), t.ID, q(string(s)), b2i(t.State == s))
			}
		}
	}
	for _, m := range jobMetrics {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, j := range jobs {
			if len(j.Tasks) == 0 {
				fmt.Fprintf(bw, "%s{job=%s,kind=%s,task=\"\"} %g\n", m.name, q(j.Name), q(string(j.Kind)), m.val(j.Metrics))
			}
			for _, t := range j.Tasks {
				fmt.Fprintf(bw, "%s{job=%s,kind=%s,task=\"%d\"} %g\n", m.name, q(j.Name), q(string(j.Kind)), t.ID, m.val(t.Metrics))
			}
		}
	}
	fmt.Fprintln(bw, "# HELP kdeck_job_last_error_timestamp_seconds Time of the job's last error (0: none).")
	fmt.Fprintln(bw, "# TYPE kdeck_job_last_error_timestamp_seconds gauge")
	for _, j := range jobs {
		var ts float64
		if j.LastErrorAt != nil {
			ts = float64(j.LastErrorAt.UnixMilli()) / 1000
		}
		fmt.Fprintf(bw, "kdeck_job_last_error_timestamp_seconds{job=%s,kind=%s} %g\n", q(j.Name), q(string(j.Kind)), ts)
	}
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
