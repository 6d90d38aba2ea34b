package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// 'kdeck serve --ssh' beside a 'kdeck run' worker on the same data dir
// attaches to it: the worker hosts the jobs, and each SSH key travels with
// every call, so the worker refuses a read key's reset (exit 3, naming the
// key) and audits an operate key's under the key's name, fingerprint and
// address. Before, serve always ran in-process and could not serve a
// worker's jobs.
func TestSSHAttachedToWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	s := newSSHEnv(t, `idle_timeout = "5m"`, false)
	in := filepath.Join(s.dir, "in.log")
	if err := os.WriteFile(in, []byte("a\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(s.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\n[[connectors]]\nname = \"tail\"\nclass = \"file-source\"\npath = " + strconvQuote(in) + "\ntopic = \"lines\"\n")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	startAPIWorker(t, bin, s.cfg, filepath.Join(s.dir, "data", api.SocketName))
	s.serveInProcess()
	if !strings.Contains(s.stderr.String(), "attached to the worker") {
		t.Fatalf("serve did not attach to the worker:\n%s", s.stderr.String())
	}

	// The worker's job, seen over SSH.
	r := s.ssh("bob", "", "connect", "list", "-o", "json")
	var jobs []ops.JobStatus
	if r.code != 0 || json.Unmarshal([]byte(r.out), &jobs) != nil || len(jobs) != 1 || jobs[0].Name != "tail" {
		t.Fatalf("connect list over SSH: exit %d, %s %s; want the worker's job tail", r.code, r.out, r.err)
	}

	reset := []string{"offsets", "reset", "billing", "--all-topics", "--to-earliest", "--execute"}
	r = s.ssh("bob", "", reset...)
	if r.code != exitRefused || !strings.Contains(r.err, "bob (SHA256:") {
		t.Fatalf("read key's reset through the worker: exit %d, stderr %q; want exit 3 naming bob", r.code, r.err)
	}
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 10 {
		t.Fatalf("a read key changed offsets through the worker: %v", got)
	}
	if r = s.ssh("alice", "", append(reset, "-o", "json")...); r.code != 0 {
		t.Fatalf("operate key's reset through the worker: exit %d: %s", r.code, r.err)
	}
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 0 {
		t.Fatalf("reset not applied: %v", got)
	}
	// The worker's audit log (the CLI attaches to it too).
	var audit []ops.AuditEntry
	if a := s.local("audit", "-o", "json"); a.code != 0 || json.Unmarshal([]byte(a.out), &audit) != nil || len(audit) == 0 {
		t.Fatalf("audit: exit %d %s %s", a.code, a.out, a.err)
	}
	e := audit[0]
	if !fingerprint.MatchString(e.User) || !strings.HasPrefix(e.User, "alice ") || !strings.HasPrefix(e.Host, "127.0.0.1:") || e.Action != "offsets.reset" {
		t.Fatalf("the worker's audit entry: user %q host %q action %q; want alice's name and fingerprint, the SSH client's address", e.User, e.Host, e.Action)
	}
}

// Ctrl+C in 'ssh -t box tail TOPIC -f' ends the command as it does
// locally: the client's terminal is raw, so Ctrl+C arrives as the byte
// 0x03 and the server cancels the exec on it. Before, tail -f ran on until
// the client's connection dropped.
func TestSSHExecCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	s := startSSH(t, `idle_timeout = "5m"`)
	cmd := exec.Command("ssh", append(append(s.sshArgs("alice", "-tt"), "--"), "tail", "orders", "-f", "--format", "value")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	kafkatest.WaitFor(t, 30*time.Second, "tail -f printed the topic's records", func() bool {
		return strings.Count(out.String(), "\n") >= 30
	})
	// Typed-ahead input does not hide the Ctrl+C behind it.
	if _, err := io.WriteString(stdin, "abc\x03"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ssh -t ... tail -f after Ctrl+C: %v, want exit 0 as locally:\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("tail -f over ssh -t still ran 20s after Ctrl+C:\n%s", out.String())
	}
	if !strings.Contains(s.stderr.String(), "ssh exec done") {
		t.Errorf("the server did not log the exec's end:\n%s", s.stderr.String())
	}
}
