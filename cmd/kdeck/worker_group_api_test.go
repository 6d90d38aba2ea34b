package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// apiAddr waits for a worker's JSON log to name its TCP API address.
func apiAddr(t *testing.T, w *groupWorker) string {
	t.Helper()
	re := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"`)
	var addr string
	kafkatest.WaitFor(t, 20*time.Second, w.name+" to log its API address", func() bool {
		if m := re.FindStringSubmatch(w.log.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}

// call sends one request with a bearer token and returns the status and
// body; a transport error is status 0.
func call(method, url, token string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestWorkerGroupConnectAPIAcrossWorkers runs three 'kdeck run' workers of
// one group, with no job in their files, each serving Kafka Connect's REST
// API on TCP with tokens. A read token is refused the create on every
// worker. A connector created through w1's API runs its three tasks on the
// group (one per worker), and GET /connectors/gen/status on w3 names the
// worker of every task (worker_id). The worker running task 0 is killed
// with SIGKILL: the status (asked of a survivor) shows the task RUNNING on
// a survivor once the group reassigned it, and 'kdeck workers -o json'
// attached to a survivor lists the two survivors with all three tasks.
// DELETE through a survivor removes the connector from every worker.
func TestWorkerGroupConnectAPIAcrossWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("operate op-secret ci\nread read-secret viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func(name string) *groupWorker {
		cfgPath := filepath.Join(dir, name+".toml")
		cfg := c.TOML() + fmt.Sprintf(`
[ops]
data_dir = %q

[worker]
group = "gapi"
id = %q
session_timeout = "6s"

[server]
listen = "127.0.0.1:0"
tokens_file = %q
`, filepath.Join(dir, "data-"+name), name, tokens)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return startGroupWorker(t, bin, name, cfgPath)
	}
	ws := []*groupWorker{start("w1"), start("w2"), start("w3")}
	urls := map[string]string{}
	for _, w := range ws {
		urls[w.name] = "http://" + apiAddr(t, w)
	}
	defer func() {
		for _, w := range ws {
			if strings.Contains(w.log.String(), "WARNING: DATA RACE") {
				t.Errorf("%s reported a data race:\n%s", w.name, lastBytes(w.log.String(), 6000))
			}
		}
		if t.Failed() {
			for _, w := range ws {
				t.Logf("%s log (tail):\n%s", w.name, lastBytes(w.log.String(), 3000))
			}
		}
	}()

	create := api.CreateConnectorRequest{Name: "gen", Config: map[string]any{
		"connector.class": "datagen", "topic": "gen", "tasks.max": "3", "rate": "30", "offsets.topic": "gen-offsets"}}
	for _, w := range ws {
		if code, body := call("POST", urls[w.name]+"/connectors", "read-secret", create); code != http.StatusForbidden {
			t.Fatalf("%s: POST /connectors with a read token = %d %s, want 403", w.name, code, body)
		}
	}
	if code, body := call("POST", urls["w1"]+"/connectors", "op-secret", create); code != http.StatusCreated {
		t.Fatalf("POST /connectors on w1 = %d %s", code, body)
	}

	status := func(url string) (api.ConnectorStatus, int) {
		code, body := call("GET", url+"/connectors/gen/status", "read-secret", nil)
		var st api.ConnectorStatus
		_ = json.Unmarshal(body, &st)
		return st, code
	}
	runningOn := func(st api.ConnectorStatus) []string {
		var out []string
		for _, ts := range st.Tasks {
			if ts.State == "RUNNING" {
				out = append(out, ts.WorkerID)
			} else {
				out = append(out, "")
			}
		}
		return out
	}
	var last api.ConnectorStatus
	kafkatest.WaitFor(t, 60*time.Second, "w3 to show gen's three tasks RUNNING, one on each worker", func() bool {
		last, _ = status(urls["w3"])
		on := runningOn(last)
		slices.Sort(on)
		return last.Connector.State == "RUNNING" && slices.Equal(on, []string{"w1", "w2", "w3"})
	})
	// w2 answers the same, once it read the status topic as far (a worker
	// reads the others' writes a moment later, as in Connect).
	kafkatest.WaitFor(t, 15*time.Second, "w2 to show the tasks on the workers w3 shows", func() bool {
		st, _ := status(urls["w2"])
		return slices.Equal(runningOn(st), runningOn(last))
	})

	// SIGKILL the worker running task 0.
	victim := last.Tasks[0].WorkerID
	var killed *groupWorker
	var survivors []*groupWorker
	for _, w := range ws {
		if w.name == victim {
			killed = w
		} else {
			survivors = append(survivors, w)
		}
	}
	if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-killed.done
	ask := urls[survivors[0].name]
	kafkatest.WaitFor(t, 60*time.Second, "task 0 RUNNING on a survivor after "+victim+" was killed", func() bool {
		st, code := status(ask)
		if code != http.StatusOK || len(st.Tasks) != 3 {
			return false
		}
		on := runningOn(st)
		return !slices.Contains(on, "") && !slices.Contains(on, victim)
	})

	// kdeck workers, attached to a survivor.
	tokFile := filepath.Join(dir, "op.token")
	if err := os.WriteFile(tokFile, []byte("op-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clientCfg := filepath.Join(dir, "client.toml")
	if err := os.WriteFile(clientCfg, []byte(fmt.Sprintf("[ops]\ndata_dir = %q\n\n[client]\nserver = %q\ntoken_file = %q\n", filepath.Join(dir, "client-data"), urls[survivors[1].name], tokFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	var rep ops.WorkersReport
	kafkatest.WaitFor(t, 30*time.Second, "kdeck workers to list the two survivors running the three tasks", func() bool {
		out, errOut, code := kdeckProc(t, bin, "--config", clientCfg, "workers", "-o", "json")
		if code != 0 {
			t.Logf("kdeck workers: exit %d: %s", code, errOut)
			return false
		}
		rep = ops.WorkersReport{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("kdeck workers -o json is not JSON: %v\n%s", err, out)
		}
		n := 0
		var ids []string
		for _, w := range rep.Workers {
			n += len(w.Tasks["gen"])
			ids = append(ids, w.ID)
		}
		return rep.Group == "gapi" && n == 3 && rep.Unassigned == 0 && len(ids) == 2 && !slices.Contains(ids, victim)
	})
	out, errOut, code := kdeckProc(t, bin, "--config", clientCfg, "workers")
	if code != 0 || !strings.Contains(out, "worker group gapi: 2 worker(s)") || !strings.Contains(out, "gen[") {
		t.Fatalf("kdeck workers: exit %d\n%s\n%s", code, out, errOut)
	}

	// Each survivor's /metrics has the tasks it runs, not the others': the
	// group's sum counts each task once.
	runningSeries := 0
	for _, w := range survivors {
		code, body := call("GET", urls[w.name]+"/metrics", "read-secret", nil)
		if code != http.StatusOK {
			t.Fatalf("%s: GET /metrics = %d", w.name, code)
		}
		n := strings.Count(string(body), `kdeck_task_state{job="gen",kind="connector",task="`)
		running := regexp.MustCompile(`kdeck_task_state\{job="gen",kind="connector",task="\d+",state="RUNNING"\} 1`).FindAllString(string(body), -1)
		var mine int
		for _, wk := range rep.Workers {
			if wk.ID == w.name {
				mine = len(wk.Tasks["gen"])
			}
		}
		if len(running) != mine || n != mine*6 {
			t.Fatalf("%s: /metrics has %d RUNNING task series of gen (%d series), it runs %d tasks", w.name, len(running), n, mine)
		}
		runningSeries += len(running)
	}
	if runningSeries != 3 {
		t.Fatalf("the survivors' /metrics count %d running tasks of gen, want 3", runningSeries)
	}

	out, errOut, code = kdeckProc(t, bin, "--config", clientCfg, "connect", "status", "gen")
	if code != 0 || !strings.Contains(out, "WORKER") || !strings.Contains(out, survivors[0].name) || !strings.Contains(out, survivors[1].name) || strings.Contains(out, " "+victim+" ") {
		t.Fatalf("kdeck connect status gen on a survivor: exit %d\n%s\n%s", code, out, errOut)
	}

	// Delete through the other survivor: gone everywhere.
	if code, body := call("DELETE", urls[survivors[1].name]+"/connectors/gen", "read-secret", nil); code != http.StatusForbidden {
		t.Fatalf("DELETE with a read token = %d %s, want 403", code, body)
	}
	if code, body := call("DELETE", urls[survivors[1].name]+"/connectors/gen", "op-secret", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /connectors/gen = %d %s", code, body)
	}
	kafkatest.WaitFor(t, 30*time.Second, "gen gone from both survivors", func() bool {
		for _, w := range survivors {
			if _, code := status(urls[w.name]); code != http.StatusNotFound {
				return false
			}
		}
		return true
	})
}

// lastBytes returns the last n bytes of s.
func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
