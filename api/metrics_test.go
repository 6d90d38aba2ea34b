package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// scrape fetches and parses /metrics with Prometheus' own parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mfs
}

// value returns the value of the sample of family name whose labels include
// want, and whether there is one.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics: /metrics parses with Prometheus' parser and carries the job
// and task state gauges, record counters and franz-go's client metrics
// (kprom), and follows the job: 3 lines read and written, then PAUSED.
func TestMetrics(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	dir := t.TempDir()
	logf := filepath.Join(dir, "a.log")
	os.WriteFile(logf, []byte("one\ntwo\nthree\n"), 0o644)
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: dir},
		Connectors: []config.Job{{Table: map[string]any{"name": "tail", "class": "file-source", "path": logf, "topic": "lines", "poll_interval": "20ms"}}}}
	cm := api.NewClientMetrics()
	l, err := ops.NewLocal(cfg, ops.WithClientHook(cm.Hook))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(l, api.WithMetrics(api.NewMetrics(l, cm)))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	job := map[string]string{"job": "tail", "kind": "connector"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range job {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	deadline := time.Now().Add(15 * time.Second)
	var mfs map[string]*dto.MetricFamily
	for {
		mfs = scrape(t, hs.URL)
		out, _ := value(mfs, "kdeck_job_records_total", with("task", "0", "direction", "out"))
		running, _ := value(mfs, "kdeck_job_state", with("state", "RUNNING"))
		// franz-go calls kprom's produce hook a moment after the records'
		// promises on Apache Kafka.
		produced, _ := value(mfs, "kdeck_kafka_produce_bytes_total", map[string]string{"cluster": c.Name(), "topic": "lines"})
		if out == 3 && running == 1 && produced > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records out %v, running %v, produce bytes %v; families: %v", out, running, produced, names(mfs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, f := range []struct {
		name string
		typ  dto.MetricType
	}{
		{"kdeck_job_state", dto.MetricType_GAUGE},
		{"kdeck_task_state", dto.MetricType_GAUGE},
		{"kdeck_job_records_total", dto.MetricType_COUNTER},
		{"kdeck_job_records_per_second", dto.MetricType_GAUGE},
		{"kdeck_job_bytes_per_second", dto.MetricType_GAUGE},
		{"kdeck_job_errors_total", dto.MetricType_COUNTER},
		{"kdeck_job_dlq_records_total", dto.MetricType_COUNTER},
		{"kdeck_job_lag_records", dto.MetricType_GAUGE},
		{"kdeck_job_restarts_total", dto.MetricType_COUNTER},
		{"kdeck_kafka_connects_total", dto.MetricType_COUNTER},
		{"kdeck_kafka_produce_bytes_total", dto.MetricType_COUNTER},
	} {
		mf, ok := mfs[f.name]
		if !ok || mf.GetType() != f.typ {
			t.Errorf("family %s missing or not a %v (families: %v)", f.name, f.typ, names(mfs))
		}
	}
	if v, ok := value(mfs, "kdeck_task_state", with("task", "0", "state", "RUNNING")); !ok || v != 1 {
		t.Errorf("task 0 RUNNING = %v %v", v, ok)
	}
	if v, ok := value(mfs, "kdeck_kafka_produce_bytes_total", map[string]string{"cluster": c.Name(), "topic": "lines"}); !ok || v <= 0 {
		t.Errorf("kprom produce bytes to lines = %v %v", v, ok)
	}
	if _, err := l.JobAction(context.Background(), "tail", ops.ActionPause, ops.JobActionOptions{}); err != nil {
		t.Fatal(err)
	}
	mfs = scrape(t, hs.URL)
	if p, _ := value(mfs, "kdeck_job_state", with("state", "PAUSED")); p != 1 {
		t.Errorf("PAUSED gauge after a pause = %v", p)
	}
	if r, _ := value(mfs, "kdeck_job_state", with("state", "RUNNING")); r != 0 {
		t.Errorf("RUNNING gauge after a pause = %v", r)
	}
}

func names(mfs map[string]*dto.MetricFamily) string {
	var out []string
	for n := range mfs {
		out = append(out, n)
	}
	sortStrings(out)
	return fmt.Sprint(out)
}
