package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// testWorker is a Local hosting a configured file-source connector "tail"
// behind an API server.
type testWorker struct {
	url     string
	l       *ops.Local
	cfgPath string
	dir     string
}

// newTestWorker starts a worker on cluster c in dir (a data dir that may
// hold API jobs from an earlier worker).
func newTestWorker(t *testing.T, c *kafkatest.Cluster, dir string, opts ...api.Opt) *testWorker {
	t.Helper()
	logf := filepath.Join(dir, "a.log")
	if _, err := os.Stat(logf); err != nil {
		if err := os.WriteFile(logf, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "kdeck.toml")
	toml := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
poll_interval = "20ms"
offset_flush_interval = "50ms"
`, filepath.Join(dir, "data"), logf)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.StartJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(l, append([]api.Opt{api.WithWorkerID("test:8083")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); l.Close() })
	return &testWorker{url: hs.URL, l: l, cfgPath: cfgPath, dir: dir}
}

// call sends a request and returns the status and the decoded body (nil
// for an empty one).
func call(t *testing.T, method, url string, body any, hdr ...string) (int, any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", method, url, err, raw)
	}
	return resp.StatusCode, v
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not a JSON object: %#v", v)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return strings.Join(ks, ",")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// waitState polls the Connect status until the connector is in state.
func waitState(t *testing.T, base, name, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, v := call(t, "GET", base+"/connectors/"+name+"/status", nil)
		if code == 200 {
			m := v.(map[string]any)
			if m["connector"].(map[string]any)["state"] == state {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector %s: status %d %v, want state %s", name, code, v, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnectREST(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	c.CreateTopic(t, "more", 1)
	dir := t.TempDir()
	w := newTestWorker(t, c, dir)
	u := w.url

	// GET /: Connect's keys.
	code, v := call(t, "GET", u+"/", nil)
	if code != 200 || keysOf(t, v) != "commit,kafka_cluster_id,started,version,worker_id" {
		t.Fatalf("GET /: %d %v", code, v)
	}
	// GET /connectors: names.
	code, v = call(t, "GET", u+"/connectors", nil)
	if code != 200 || fmt.Sprint(v) != "[tail]" {
		t.Fatalf("GET /connectors: %d %v", code, v)
	}
	st := waitState(t, u, "tail", "RUNNING")
	if code, v := call(t, "GET", u+"/ready", nil); code != 200 || v.(map[string]any)["ready"] != true {
		t.Fatalf("/ready with every job running: %d %v", code, v)
	}
	if code, _ := call(t, "GET", u+"/health", nil); code != 200 {
		t.Fatalf("/health: %d", code)
	}
	if keysOf(t, st) != "connector,name,tasks,type" || st["type"] != "source" {
		t.Fatalf("status shape: %v", st)
	}
	if keysOf(t, st["connector"]) != "state,version,worker_id" || st["connector"].(map[string]any)["worker_id"] != "test:8083" {
		t.Fatalf("status connector: %v", st["connector"])
	}
	task := st["tasks"].([]any)[0]
	if keysOf(t, task) != "id,state,version,worker_id" || task.(map[string]any)["id"] != 0.0 {
		t.Fatalf("status task: %v", task)
	}
	// expand=status and expand=info.
	code, v = call(t, "GET", u+"/connectors?expand=status&expand=info", nil)
	if code != 200 || keysOf(t, v.(map[string]any)["tail"]) != "info,status" {
		t.Fatalf("expand: %d %v", code, v)
	}
	info := v.(map[string]any)["tail"].(map[string]any)["info"]
	if keysOf(t, info) != "config,name,tasks,type" {
		t.Fatalf("expand=info: %v", info)
	}
	// GET /connectors/{name} and its config in Connect's key names.
	code, v = call(t, "GET", u+"/connectors/tail", nil)
	if code != 200 || keysOf(t, v) != "config,name,tasks,type" {
		t.Fatalf("GET /connectors/tail: %d %v", code, v)
	}
	code, v = call(t, "GET", u+"/connectors/tail/config", nil)
	cfg, _ := v.(map[string]any)
	if code != 200 || cfg["connector.class"] != "file-source" || cfg["topic"] != "lines" || cfg["poll.interval"] != "20ms" {
		t.Fatalf("GET config: %d %v", code, v)
	}
	code, v = call(t, "GET", u+"/connectors/tail/tasks", nil)
	if code != 200 || keysOf(t, v.([]any)[0]) != "config,id" || keysOf(t, v.([]any)[0].(map[string]any)["id"]) != "connector,task" {
		t.Fatalf("GET tasks: %d %v", code, v)
	}
	code, v = call(t, "GET", u+"/connectors/tail/tasks/0/status", nil)
	if code != 200 || keysOf(t, v) != "id,state,version,worker_id" {
		t.Fatalf("GET task status: %d %v", code, v)
	}
	// Unknown connector and task: 404 in Connect's shape.
	for _, p := range []string{"/connectors/nope", "/connectors/nope/status", "/connectors/nope/config", "/connectors/nope/offsets"} {
		code, v = call(t, "GET", u+p, nil)
		if code != 404 || v.(map[string]any)["error_code"] != 404.0 || v.(map[string]any)["message"] != "Connector nope not found" {
			t.Fatalf("GET %s: %d %v", p, code, v)
		}
	}
	if code, v = call(t, "GET", u+"/connectors/tail/tasks/7/status", nil); code != 404 || v.(map[string]any)["error_code"] != 404.0 {
		t.Fatalf("unknown task: %d %v", code, v)
	}
	if code, v = call(t, "GET", u+"/no/such/path", nil); code != 404 || v.(map[string]any)["error_code"] != 404.0 {
		t.Fatalf("unknown path: %d %v", code, v)
	}
	if code, v = call(t, "POST", u+"/connectors/tail/status", nil); code != 405 || v.(map[string]any)["error_code"] != 405.0 {
		t.Fatalf("wrong method: %d %v", code, v)
	}
	// The three lines are in the topic (so their offsets get saved).
	cl := c.Client(t, kgo.ConsumeTopics("lines"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 0; n < 3; {
		fs := cl.PollFetches(fctx)
		if fctx.Err() != nil {
			t.Fatalf("only %d of 3 lines reached the topic", n)
		}
		n += fs.NumRecords()
	}
	// Lifecycle with Connect's status codes.
	for _, step := range []struct {
		method, path string
		code         int
		state        string
	}{
		{"PUT", "/pause", 202, "PAUSED"},
		{"PUT", "/resume", 202, "RUNNING"},
		{"POST", "/restart", 204, "RUNNING"},
		{"POST", "/tasks/0/restart", 204, "RUNNING"},
		{"PUT", "/stop", 204, "STOPPED"},
	} {
		if code, v := call(t, step.method, u+"/connectors/tail"+step.path, nil); code != step.code || v != nil {
			t.Fatalf("%s %s: %d %v, want %d without a body", step.method, step.path, code, v, step.code)
		}
		waitState(t, u, "tail", step.state)
	}
	// Offsets (KIP-875), on the stopped connector.
	// The saved offsets show once the store has them (on Apache Kafka the
	// offsets topic answers a moment after the flush).
	var offs []any
	for deadline := time.Now().Add(15 * time.Second); ; {
		code, v = call(t, "GET", u+"/connectors/tail/offsets", nil)
		offs, _ = v.(map[string]any)["offsets"].([]any)
		if code == 200 && len(offs) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != 200 || len(offs) != 1 || keysOf(t, offs[0]) != "offset,partition" {
		t.Fatalf("GET offsets: %d %v", code, v)
	}
	code, v = call(t, "PATCH", u+"/connectors/tail/offsets", map[string]any{"offsets": offs})
	if code != 200 || v.(map[string]any)["message"] != "The offsets for this connector have been altered successfully" {
		t.Fatalf("PATCH offsets: %d %v", code, v)
	}
	code, v = call(t, "DELETE", u+"/connectors/tail/offsets", nil)
	if code != 200 || v.(map[string]any)["message"] != "The offsets for this connector have been reset successfully" {
		t.Fatalf("DELETE offsets: %d %v", code, v)
	}
	if code, _ = call(t, "PUT", u+"/connectors/tail/resume", nil); code != 202 {
		t.Fatalf("resume a stopped connector: %d", code)
	}
	call(t, "POST", u+"/connectors/tail/restart", nil)
	waitState(t, u, "tail", "RUNNING")
	code, v = call(t, "DELETE", u+"/connectors/tail/offsets", nil)
	if code != 400 || !strings.Contains(v.(map[string]any)["message"].(string), "STOPPED") {
		t.Fatalf("DELETE offsets of a running connector: %d %v", code, v)
	}
	// restart?includeTasks=true: 202 with the status.
	code, v = call(t, "POST", u+"/connectors/tail/restart?includeTasks=true", nil)
	if code != 202 || keysOf(t, v) != "connector,name,tasks,type" {
		t.Fatalf("restart?includeTasks: %d %v", code, v)
	}

	// The file owns its connectors: 409 naming the file.
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/connectors/tail/config", map[string]any{"connector.class": "file-source", "path": "/x", "topic": "lines"}},
		{"DELETE", "/connectors/tail", nil},
	} {
		code, v = call(t, req.method, u+req.path, req.body)
		if code != 409 || !strings.Contains(v.(map[string]any)["message"].(string), w.cfgPath) {
			t.Fatalf("%s %s of a TOML connector: %d %v", req.method, req.path, code, v)
		}
	}
	if code, v = call(t, "POST", u+"/connectors", map[string]any{"name": "tail", "config": map[string]any{"connector.class": "file-source"}}); code != 409 || v.(map[string]any)["message"] != "Connector tail already exists" {
		t.Fatalf("POST an existing name: %d %v", code, v)
	}
	// An API connector: validated as TOML ones (400 naming the key),
	// created (201), changed (200), audited, persisted.
	logf := filepath.Join(dir, "b.log")
	os.WriteFile(logf, []byte("x\ny\n"), 0o644)
	code, v = call(t, "POST", u+"/connectors", map[string]any{"name": "api1", "config": map[string]any{"connector.class": "file-source", "topic": "more", "tasks.max": "x"}})
	if code != 400 || !strings.Contains(v.(map[string]any)["message"].(string), "path") {
		t.Fatalf("POST an invalid connector: %d %v", code, v)
	}
	if fs, _ := v.(map[string]any)["fields"].([]any); !strings.Contains(fmt.Sprint(fs), "field:tasks_max message:must be an integer") {
		t.Fatalf("POST an invalid connector: fields %v, want tasks_max's problem by path", v)
	}
	code, v = call(t, "POST", u+"/connectors", map[string]any{"name": "api1", "config": map[string]any{"connector.class": "file-source", "path": logf, "topic": "more", "tasks.max": "1", "poll.interval": "20ms"}})
	if code != 201 || keysOf(t, v) != "config,name,tasks,type" || v.(map[string]any)["type"] != "source" {
		t.Fatalf("POST /connectors: %d %v", code, v)
	}
	waitState(t, u, "api1", "RUNNING")
	code, v = call(t, "PUT", u+"/connectors/api1/config", map[string]any{"connector.class": "file-source", "path": logf, "topic": "more", "poll.interval": "30ms"})
	if code != 200 || v.(map[string]any)["config"].(map[string]any)["poll.interval"] != "30ms" {
		t.Fatalf("PUT config of an API connector: %d %v", code, v)
	}
	// A replaced connector keeps its target state, as in Connect.
	if code, _ = call(t, "PUT", u+"/connectors/api1/stop", nil); code != 204 {
		t.Fatalf("stop api1: %d", code)
	}
	waitState(t, u, "api1", "STOPPED")
	code, v = call(t, "PUT", u+"/connectors/api1/config", map[string]any{"connector.class": "file-source", "path": logf, "topic": "more", "poll.interval": "30ms"})
	if code != 200 || len(v.(map[string]any)["tasks"].([]any)) != 0 {
		t.Fatalf("PUT config of a stopped API connector: %d %v", code, v)
	}
	if st := waitState(t, u, "api1", "STOPPED"); len(st["tasks"].([]any)) != 0 {
		t.Fatalf("a stopped connector lists tasks: %v", st)
	}
	call(t, "PUT", u+"/connectors/api1/resume", nil)
	waitState(t, u, "api1", "RUNNING")
	code, v = call(t, "PUT", u+"/connectors/api2/config", map[string]any{"connector.class": "file-source", "path": logf, "topic": "more"})
	if code != 201 {
		t.Fatalf("PUT config of a new connector: %d %v", code, v)
	}
	if code, v = call(t, "DELETE", u+"/connectors/api2", nil); code != 204 || v != nil {
		t.Fatalf("DELETE an API connector: %d %v", code, v)
	}
	entries, err := w.l.Audit(context.Background(), ops.AuditFilter{Action: "jobs"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.Job == "api1" || e.Job == "api2" {
			actions = append(actions, e.Action+":"+e.Job+":"+e.User)
		}
	}
	if got := strings.Join(actions, " "); got != "jobs.delete:api2:anonymous jobs.create:api2:anonymous jobs.start:api1:anonymous jobs.update:api1:anonymous jobs.stop:api1:anonymous jobs.update:api1:anonymous jobs.create:api1:anonymous" {
		t.Fatalf("audit of API jobs (newest first): %s", got)
	}
	// Malformed JSON: 400 in Connect's shape, nothing created.
	code, v = call(t, "POST", u+"/connectors", `{"name": "bad", "config": {`)
	if code != 400 || v.(map[string]any)["error_code"] != 400.0 {
		t.Fatalf("malformed JSON: %d %v", code, v)
	}
	// Plugins and validation.
	code, v = call(t, "GET", u+"/connector-plugins", nil)
	if code != 200 || keysOf(t, v.([]any)[0]) != "class,type,version" {
		t.Fatalf("GET /connector-plugins: %d %v", code, v)
	}
	code, v = call(t, "PUT", u+"/connector-plugins/file-source/config/validate", map[string]any{"connector.class": "file-source", "topic": "more"})
	if code != 200 || keysOf(t, v) != "configs,error_count,groups,name" || v.(map[string]any)["error_count"].(float64) < 1 {
		t.Fatalf("validate: %d %v", code, v)
	}
	found := false
	for _, ci := range v.(map[string]any)["configs"].([]any) {
		val := ci.(map[string]any)["value"].(map[string]any)
		if val["name"] == "path" && len(val["errors"].([]any)) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("validate: no error on path: %v", v)
	}

	// A new worker on the same data dir hosts the API connector again.
	w.l.Close()
	w2 := newTestWorker(t, c, dir)
	code, v = call(t, "GET", w2.url+"/connectors", nil)
	if code != 200 || fmt.Sprint(v) != "[tail api1]" {
		t.Fatalf("connectors after a restart: %d %v", code, v)
	}
	waitState(t, w2.url, "api1", "RUNNING")
	code, v = call(t, "GET", w2.url+"/connectors/api1/config", nil)
	if code != 200 || v.(map[string]any)["poll.interval"] != "30ms" {
		t.Fatalf("API connector config after a restart: %d %v", code, v)
	}
}

func TestTokens(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	w := newTestWorker(t, c, t.TempDir(), api.WithTokens([]api.Token{
		{Name: "ci", Role: api.RoleOperate, Secret: "op-secret"},
		{Name: "grafana", Role: api.RoleRead, Secret: "read-secret"},
	}))
	u := w.url
	waitState := func(tok string) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, v := call(t, "GET", u+"/connectors/tail/status", nil, "Authorization", "Bearer "+tok)
			if code == 200 && v.(map[string]any)["connector"].(map[string]any)["state"] == "RUNNING" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("status with a read token: %d %v", code, v)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, v := call(t, "GET", u+"/connectors", nil); code != 401 || v.(map[string]any)["error_code"] != 401.0 {
		t.Fatalf("no token: %d %v", code, v)
	}
	if code, _ := call(t, "GET", u+"/connectors", nil, "Authorization", "Bearer wrong"); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
	if code, _ := call(t, "GET", u+"/health", nil); code != 200 {
		t.Fatalf("/health without a token: %d", code)
	}
	waitState("read-secret")
	code, v := call(t, "PUT", u+"/connectors/tail/pause", nil, "Authorization", "Bearer read-secret")
	if code != 403 || !strings.Contains(v.(map[string]any)["message"].(string), "token:grafana") {
		t.Fatalf("pause with a read token: %d %v", code, v)
	}
	if code, v := call(t, "POST", u+"/connectors", map[string]any{"name": "x", "config": map[string]any{"connector.class": "file-source"}}, "Authorization", "Bearer read-secret"); code != 403 || v.(map[string]any)["error_code"] != 403.0 {
		t.Fatalf("create with a read token: %d %v", code, v)
	}
	if code, _ := call(t, "PUT", u+"/connectors/tail/pause", nil, "Authorization", "Bearer op-secret"); code != 202 {
		t.Fatalf("pause with an operate token: %d", code)
	}
	entries, err := w.l.Audit(context.Background(), ops.AuditFilter{Action: "jobs.pause"})
	if err != nil || len(entries) != 1 || entries[0].User != "token:ci" || entries[0].Host != "127.0.0.1" {
		t.Fatalf("audit of the pause: %v %+v", err, entries)
	}
}

// TestOnBehalf: a caller that may write (an operate token) may name the
// person it calls for (kdeck serve --ssh attached to a worker): the worker
// refuses that person's mutation when the person may only read, and
// audits under the person's name and address. A read token cannot lend
// its view to another name.
func TestOnBehalf(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	w := newTestWorker(t, c, t.TempDir(), api.WithTokens([]api.Token{
		{Name: "ssh-front", Role: api.RoleOperate, Secret: "op-secret"},
		{Name: "grafana", Role: api.RoleRead, Secret: "read-secret"},
	}))
	kafkatest.WaitFor(t, 15*time.Second, "tail running", func() bool {
		_, v := call(t, "GET", w.url+"/connectors/tail/status", nil, "Authorization", "Bearer op-secret")
		m, _ := v.(map[string]any)["connector"].(map[string]any)
		return m["state"] == "RUNNING"
	})
	as := func(tok string, a ops.Actor) []string {
		h := http.Header{}
		api.SetOnBehalf(h, a)
		out := []string{"Authorization", "Bearer " + tok}
		for k := range h {
			out = append(out, k, h.Get(k))
		}
		return out
	}
	bob := ops.Actor{User: "bob (SHA256:b0b)", Host: "10.0.0.8:40001", Via: "ssh", ReadOnly: true}
	code, v := call(t, "PUT", w.url+"/connectors/tail/pause", nil, as("op-secret", bob)...)
	if code != 403 || !strings.Contains(v.(map[string]any)["message"].(string), "bob (SHA256:b0b)") {
		t.Fatalf("pause on behalf of a read-only person: %d %v; want 403 naming bob", code, v)
	}
	code, v = call(t, "GET", w.url+"/connectors", nil, as("read-secret", ops.Actor{User: "eve"})...)
	if code != 403 || !strings.Contains(v.(map[string]any)["message"].(string), "cannot act on behalf") {
		t.Fatalf("a read token delegating: %d %v; want 403", code, v)
	}
	alice := ops.Actor{User: "alice (SHA256:a11ce)", Host: "10.0.0.7:51234", Via: "ssh"}
	if code, v := call(t, "PUT", w.url+"/connectors/tail/pause", nil, as("op-secret", alice)...); code != 202 {
		t.Fatalf("pause on behalf of alice: %d %v", code, v)
	}
	entries, err := w.l.Audit(context.Background(), ops.AuditFilter{Action: "jobs.pause"})
	if err != nil || len(entries) != 1 || entries[0].User != alice.User || entries[0].Host != alice.Host {
		t.Fatalf("audit of the pause: %v %+v; want alice's name and address", err, entries)
	}
}

// TestReadyBeforeStart: a service whose jobs have not started is not ready
// (503 naming them); /health answers all the same.
func TestReadyBeforeStart(t *testing.T) {
	cfg := &config.Config{Clusters: map[string]*config.Cluster{"local": {Name: "local", Brokers: []string{"127.0.0.1:1"}}}, Ops: config.Ops{DataDir: t.TempDir()},
		Connectors: []config.Job{{Table: map[string]any{"name": "tail", "class": "file-source", "path": "/nonexistent", "topic": "lines"}}}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv, err := api.New(l)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	if code, v := call(t, "GET", hs.URL+"/ready", nil); code != 503 || fmt.Sprint(v.(map[string]any)["starting"]) != "[tail]" {
		t.Fatalf("/ready before the jobs start: %d %v", code, v)
	}
	if code, _ := call(t, "GET", hs.URL+"/health", nil); code != 200 {
		t.Fatalf("/health: %d", code)
	}
}
