package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sshServer is 'kdeck serve' running in-process on a kafkatest cluster
// with three keys made by ssh-keygen: alice (operate, inline), bob (read,
// in a public_keys_file) and mallory (not configured).
type sshServer struct {
	t      testing.TB
	dir    string
	cfg    string
	port   string
	c      *kafkatest.Cluster
	stderr *syncBuffer
	known  string
}

var serveAddr = regexp.MustCompile(`serving the console over SSH on 127\.0\.0\.1:(\d+)`)

// needSSH skips when the OpenSSH client or ssh-keygen is missing; .ci/run
// installs them, so CI never skips.
func needSSH(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"ssh", "ssh-keygen"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (.ci/run installs it)", tool)
			}
			t.Skipf("%s is not installed (apt-get install openssh-client tmux)", tool)
		}
	}
}

// keygen makes an Ed25519 key pair named name in dir and returns the
// public key line.
func keygen(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

// startSSH seeds a cluster (topic orders, group billing at 4/10/0) and
// starts 'kdeck serve --ssh 127.0.0.1:0' in-process with extra appended to
// [ssh].
func startSSH(t testing.TB, extraSSH string) *sshServer { return newSSHEnv(t, extraSSH, true) }

// newSSHEnv writes the cluster, keys and configuration of startSSH and,
// when inProcess, serves them.
func newSSHEnv(t testing.TB, extraSSH string, inProcess bool) *sshServer {
	t.Helper()
	needSSH(t)
	dir := t.TempDir()
	t.Setenv("KDECK_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 30)
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 4, 1: 10, 2: 0}})
	alice := keygen(t, dir, "alice")
	bob := keygen(t, dir, "bob")
	keygen(t, dir, "mallory")
	bobKeys := filepath.Join(dir, "bob.keys")
	if err := os.WriteFile(bobKeys, []byte("# bob's laptop\n"+bob+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`[clusters.local]
brokers = [%q]

[ops]
data_dir = %q

[tui]
refresh = "500ms"

[ssh]
%s

[[ssh.users]]
name = "alice"
role = "operate"
public_keys = [%q]

[[ssh.users]]
name = "bob"
role = "read"
public_keys_file = %q
`, c.Addr(), filepath.Join(dir, "data"), extraSSH, alice, bobKeys)
	cfg := filepath.Join(dir, "kdeck.toml")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sshServer{t: t, dir: dir, cfg: cfg, c: c, stderr: &syncBuffer{}, known: filepath.Join(dir, "known_hosts")}
	if inProcess {
		s.serveInProcess()
	}
	return s
}

// serveInProcess runs 'kdeck serve --ssh 127.0.0.1:0' in this process
// until the test ends.
func (s *sshServer) serveInProcess() {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out syncBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--config", s.cfg, "--ssh", "127.0.0.1:0"}, strings.NewReader(""), &out, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("kdeck serve exited %d after shutdown: %s", code, s.stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("kdeck serve did not stop within 15s of its context")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := serveAddr.FindStringSubmatch(s.stderr.String()); m != nil {
			s.port = m[1]
			return
		}
		select {
		case code := <-done:
			t.Fatalf("kdeck serve exited %d: %s", code, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("kdeck serve did not listen within 30s: %s", s.stderr.String())
}

// sshArgs are the OpenSSH client's arguments for key, without the command:
// no user configuration, a fresh known_hosts, only this key.
func (s *sshServer) sshArgs(key string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-p", s.port, "-i", filepath.Join(s.dir, key),
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=" + s.known,
		"-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"}
	args = append(args, extra...)
	return append(args, "ops@127.0.0.1")
}

// ssh runs one command over SSH with key and returns its exit code, stdout
// and stderr.
func (s *sshServer) ssh(key string, stdin string, args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// "--": the rest is the command, even where it starts with a dash.
	cmd := exec.CommandContext(ctx, "ssh", append(append(s.sshArgs(key), "--"), args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("ssh: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// local runs kdeck in-process on the server's configuration.
func (s *sshServer) local(args ...string) result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"--config", s.cfg}, args...), strings.NewReader(""), &out, &errb)
	return result{out.String(), errb.String(), code}
}

var fingerprint = regexp.MustCompile(`^(alice|bob) \(SHA256:[A-Za-z0-9+/]{43}\)$`)

// TestSSHExec: a subcommand over SSH prints what it prints locally with
// the same exit code; a read key's mutation exits 3 and changes nothing;
// an operate key's mutation is audited under its name, fingerprint and
// address; unknown keys, shells, forwarding, local-only commands and file
// flags are refused.
func TestSSHExec(t *testing.T) {
	s := startSSH(t, `idle_timeout = "5m"`)

	remote := s.ssh("alice", "", "groups", "describe", "billing", "-o", "json")
	loc := s.local("groups", "describe", "billing", "-o", "json")
	if remote.code != 0 || loc.code != 0 {
		t.Fatalf("groups describe: remote exit %d (%s), local exit %d (%s)", remote.code, remote.err, loc.code, loc.err)
	}
	var rg, lg ops.GroupDetail
	if err := json.Unmarshal([]byte(remote.out), &rg); err != nil {
		t.Fatalf("remote output is not the JSON of a group: %v\n%s", err, remote.out)
	}
	if err := json.Unmarshal([]byte(loc.out), &lg); err != nil {
		t.Fatal(err)
	}
	if rg.Group != "billing" || len(rg.Offsets) != len(lg.Offsets) || len(rg.Offsets) != 3 {
		t.Fatalf("remote and local differ:\nremote %s\nlocal  %s", remote.out, loc.out)
	}
	if r := s.ssh("bob", "", "topics"); r.code != 0 || r.out != s.local("topics").out {
		t.Fatalf("topics for a read key: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
	if r, l := s.ssh("alice", "", "groups", "describe", "nosuch"), s.local("groups", "describe", "nosuch"); r.code != l.code || r.code == 0 || r.err != l.err {
		t.Fatalf("a failing command: remote exit %d %q, local exit %d %q", r.code, r.err, l.code, l.err)
	}

	reset := []string{"offsets", "reset", "billing", "--all-topics", "--to-earliest", "--execute"}
	r := s.ssh("bob", "", reset...)
	if r.code != exitRefused || !strings.Contains(r.err, "bob (SHA256:") || !strings.Contains(r.err, "read") {
		t.Fatalf("read key's reset: exit %d, stderr %q; want exit 3 naming bob's read role", r.code, r.err)
	}
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 10 {
		t.Fatalf("a read key changed offsets: %v", got)
	}

	if r := s.ssh("alice", "", append([]string{"--read-only"}, reset...)...); r.code != exitRefused {
		t.Fatalf("operate key's reset with --read-only: exit %d, stderr %q; want 3", r.code, r.err)
	}
	r = s.ssh("alice", "", append(reset, "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("operate key's reset: exit %d: %s", r.code, r.err)
	}
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 0 {
		t.Fatalf("reset not applied: %v", got)
	}
	var audit []ops.AuditEntry
	if a := s.local("audit", "-o", "json"); a.code != 0 || json.Unmarshal([]byte(a.out), &audit) != nil || len(audit) == 0 {
		t.Fatalf("audit: exit %d %s %s", a.code, a.out, a.err)
	}
	e := audit[0]
	if !fingerprint.MatchString(e.User) || !strings.HasPrefix(e.User, "alice ") || !strings.HasPrefix(e.Host, "127.0.0.1:") {
		t.Fatalf("audit entry user %q host %q: want alice's name and fingerprint and the client's address", e.User, e.Host)
	}
	if !strings.HasPrefix(e.Command, "kdeck offsets reset billing") {
		t.Errorf("audit command %q: want the command the client ran", e.Command)
	}

	// Refusals: nothing on the server's files or processes.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--ssh", "127.0.0.1:0"}, "'serve' is not served over SSH"},
		{[]string{"run"}, "'run' is not served over SSH"},
		{[]string{"dev", "--port", "0"}, "'dev' is not served over SSH"},
		{[]string{"config", "show"}, "'config' is not served over SSH"},
		{[]string{"--config", "/etc/passwd", "groups"}, "--config would name a file on the server"},
		{[]string{"offsets", "reset", "billing", "--from-file", "/etc/passwd"}, "--from-file would name a file on the server"},
		{[]string{"offsets", "reset", "billing", "--all-topics", "--to-latest", "--export", "/tmp/x.csv"}, "--export would name a file on the server"},
		{[]string{"-b", "127.0.0.1:1", "topics"}, "--brokers"},
	} {
		r := s.ssh("alice", "", tt.args...)
		if r.code != exitUsage || !strings.Contains(r.err, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, r.code, r.err, tt.want)
		}
	}
	// --from-file - reads the client's standard input.
	if r := s.ssh("alice", "orders,1,7\n", "offsets", "reset", "billing", "--from-file", "-", "--execute"); r.code != 0 {
		t.Errorf("--from-file - over SSH: exit %d: %s", r.code, r.err)
	} else if got := s.c.Committed(t, "billing")["orders"]; got[1] != 7 {
		t.Errorf("--from-file - applied %v, want orders/1 at 7", got)
	}

	if r := s.ssh("mallory", "", "topics"); r.code != 255 || !strings.Contains(r.err, "Permission denied") {
		t.Errorf("unknown key: exit %d, stderr %q; want 255 and Permission denied", r.code, r.err)
	}
	if !strings.Contains(s.stderr.String(), "ssh key refused") {
		t.Errorf("the server did not log the refused key:\n%s", s.stderr.String())
	}
	// No shell: without a terminal and without a command.
	cmd := exec.Command("ssh", s.sshArgs("alice", "-T")...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), "there is no shell here") {
		t.Errorf("shell request: %v, %q; want exit 2 and no shell", err, out)
	}
	// No forwarding: a remote forward is refused (ssh exits 255).
	fw := exec.Command("ssh", append(s.sshArgs("alice", "-R", "0:127.0.0.1:9", "-o", "ExitOnForwardFailure=yes"), "topics")...)
	out, err = fw.CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 255 || !strings.Contains(string(out), "forwarding failed") {
		t.Errorf("remote forwarding: %v, %q; want exit 255 and forwarding failed", err, out)
	}
}

// tmuxConsole is an OpenSSH client in a tmux window of its own tmux server.
type tmuxConsole struct {
	t    testing.TB
	sock string
}

// console opens key's console over SSH in a detached tmux window of
// cols x rows, the client's environment being env (TERM, LANG, sent with
// SendEnv). The window stays after ssh exits, to read its last words.
func (s *sshServer) console(t testing.TB, key string, cols, rows int, env ...string) *tmuxConsole {
	t.Helper()
	needSSH(t, "tmux")
	c := &tmuxConsole{t: t, sock: filepath.Join(s.dir, "tmux-"+key)}
	var names []string
	for _, kv := range env {
		names = append(names, strings.SplitN(kv, "=", 2)[0])
	}
	args := s.sshArgs(key, "-t", "-o", "SendEnv="+strings.Join(names, " "))
	cmdline := "env " + shellJoin(env) + " ssh " + shellJoin(args)
	c.tmux("-f", "/dev/null", "new-session", "-d", "-s", "k", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows), cmdline,
		";", "set-option", "-t", "k", "remain-on-exit", "on")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", c.sock, "kill-server").Run() })
	return c
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func (c *tmuxConsole) tmux(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", c.sock}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// screen is what the window shows now, without escape sequences.
func (c *tmuxConsole) screen() string { return c.tmux("capture-pane", "-p", "-t", "k") }

// waitFor waits until re matches the screen (and ok, if given, accepts the
// match) and returns the match.
func (c *tmuxConsole) waitFor(re *regexp.Regexp, within time.Duration, ok func([]string) bool) []string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(c.screen()); m != nil && (ok == nil || ok(m)) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%v not on screen within %v; screen:\n%s", re, within, c.screen())
	return nil
}

// typeText types text literally; enter adds the Enter key.
func (c *tmuxConsole) typeText(text string, enter bool) {
	c.t.Helper()
	// One key at a time, as a person types: bubbletea reads a burst of
	// runes as one key message (a paste).
	for _, r := range text {
		c.tmux("send-keys", "-t", "k", "-l", string(r))
		time.Sleep(30 * time.Millisecond)
	}
	if enter {
		c.tmux("send-keys", "-t", "k", "Enter")
	}
}

// exited waits for ssh to exit and returns its status.
//
// tmux before 3.6 built with libutempter (Debian 12's 3.3a) can lose the
// SIGCHLD of a pane's process: when the pane's terminal closes it removes
// the utmp record, and libutempter swaps tmux's SIGCHLD handler out while
// its helper runs. A pane whose process exits in that window is dead
// (pane_dead 1) but never reaped: no status, no "Pane is dead" line, a
// blank window (tmux issue 4559, fixed in 3.6 by raising SIGCHLD again).
// So a dead pane without a status gets that SIGCHLD here, sent to this
// console's own tmux server.
func (c *tmuxConsole) exited(within time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		st := strings.Fields(c.tmux("display-message", "-p", "-t", "k", "#{pane_dead} #{pid} #{pane_dead_status}"))
		if len(st) == 3 && st[0] == "1" {
			return st[2]
		}
		if len(st) == 2 && st[0] == "1" {
			if pid, err := strconv.Atoi(st[1]); err == nil {
				c.t.Logf("pane dead without a status: SIGCHLD to tmux server %d (tmux issue 4559)", pid)
				_ = syscall.Kill(pid, syscall.SIGCHLD)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("ssh did not exit within %v; screen:\n%s", within, c.screen())
	return ""
}

var (
	sshClusterUp = regexp.MustCompile(`local\s+up\s+127\.0\.0\.1:\d+\s+1/1 brokers up`) // the address first: never cut
	doneID       = regexp.MustCompile(`Done\. audit id (\d{8}-\d{6}-[0-9a-f]+)`)
	headerLine   = regexp.MustCompile(`(?m)^ kdeck .*updated \d\d:\d\d:\d\d$`)
)

// TestSSHConsole walks the path with the real OpenSSH client in
// tmux: alice (operate) sees the overview drawn for her UTF-8, 256-colour
// terminal, resets billing and undoes it, audited under her key; the
// console follows a resize; bob (read, ASCII locale, 16 colours) is
// refused on reset with his role named.
func TestSSHConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	s := startSSH(t, `idle_timeout = "5m"`)

	a := s.console(t, "alice", 120, 40, "TERM=xterm-256color", "LANG=C.UTF-8")
	a.waitFor(regexp.MustCompile(`ssh alice \(operate\)`), 30*time.Second, nil)
	a.waitFor(sshClusterUp, 30*time.Second, nil)
	if scr := a.screen(); !strings.Contains(scr, " │ cluster local │ ") {
		t.Errorf("a UTF-8 client got no UTF-8 separators:\n%s", scr)
	}
	if esc := a.tmux("capture-pane", "-p", "-e", "-t", "k"); !strings.Contains(esc, "38;5;") {
		t.Errorf("a 256-colour client got no 256-colour styles")
	}
	if m := a.waitFor(headerLine, 10*time.Second, nil); len([]rune(m[0])) != 119 {
		t.Errorf("header is %d columns wide in a 120-column window: %q", len([]rune(m[0])), m[0])
	}
	a.tmux("resize-window", "-t", "k", "-x", "100", "-y", "30")
	a.waitFor(headerLine, 10*time.Second, func(m []string) bool { return len([]rune(m[0])) == 99 })

	a.typeText(":group billing", true)
	a.waitFor(regexp.MustCompile(`billing\s+state Empty`), 10*time.Second, nil)
	a.typeText("r", false)
	a.waitFor(regexp.MustCompile(`Reset offsets of billing`), 10*time.Second, nil)
	a.typeText("", true)
	a.waitFor(regexp.MustCompile(`Type billing to execute`), 10*time.Second, nil)
	a.typeText("billing", true)
	id := a.waitFor(doneID, 15*time.Second, nil)[1]
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 0 {
		t.Fatalf("reset from the console not applied: %v", got)
	}
	var e ops.AuditEntry
	if r := s.local("audit", "show", id, "-o", "json"); r.code != 0 || json.Unmarshal([]byte(r.out), &e) != nil {
		t.Fatalf("audit show %s: exit %d %s %s", id, r.code, r.out, r.err)
	}
	if !fingerprint.MatchString(e.User) || !strings.HasPrefix(e.User, "alice ") || !strings.HasPrefix(e.Host, "127.0.0.1:") {
		t.Fatalf("the console's reset is audited as %q from %q: want alice's key and address", e.User, e.Host)
	}
	a.typeText("", true)
	a.typeText("5", false)
	a.waitFor(regexp.MustCompile(`offsets\.reset\s+local\s+billing\s+ok\s+`+id), 10*time.Second, nil)
	a.typeText("u", false)
	a.waitFor(regexp.MustCompile(`Undo `+id), 10*time.Second, nil)
	a.typeText("billing", true)
	a.waitFor(doneID, 15*time.Second, func(m []string) bool { return m[1] != id })
	if got := s.c.Committed(t, "billing")["orders"]; got[0] != 4 || got[1] != 10 || got[2] != 0 {
		t.Fatalf("undo from the console left %v, want 4/10/0", got)
	}
	a.typeText("", true)
	a.typeText("q", false)
	if st := a.exited(15 * time.Second); st != "0" {
		t.Errorf("ssh exited %s after q, want 0", st)
	}

	b := s.console(t, "bob", 160, 30, "TERM=xterm", "LANG=C")
	b.waitFor(regexp.MustCompile(`ssh bob \(read\).*READ-ONLY`), 30*time.Second, nil)
	b.waitFor(sshClusterUp, 30*time.Second, nil)
	if scr := b.screen(); strings.ContainsAny(scr, "╭│▁▲•") || !strings.Contains(scr, " | cluster local | ") {
		t.Errorf("an ASCII client got UTF-8 glyphs, or no ASCII separators:\n%s", scr)
	}
	if esc := b.tmux("capture-pane", "-p", "-e", "-t", "k"); strings.Contains(esc, "38;5;") {
		t.Errorf("a 16-colour client got 256-colour styles")
	}
	b.typeText(":group billing", true)
	b.waitFor(regexp.MustCompile(`billing\s+state Empty`), 10*time.Second, nil)
	b.typeText("r", false)
	b.waitFor(regexp.MustCompile(`read role: bob \(SHA256:\S+\) may look but not change anything`), 10*time.Second, nil)
	if strings.Contains(b.screen(), "Reset offsets of billing") {
		t.Fatal("a read key opened the reset dialog")
	}
	if got := s.c.Committed(t, "billing")["orders"]; got[1] != 10 {
		t.Fatalf("a read key changed offsets: %v", got)
	}
}

// TestSSHIdleTimeout: a console without input is closed after
// idle_timeout, saying so, though it redraws meanwhile.
func TestSSHIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	s := startSSH(t, `idle_timeout = "2s"`)
	c := s.console(t, "alice", 100, 30, "TERM=xterm-256color", "LANG=C.UTF-8")
	c.waitFor(sshClusterUp, 30*time.Second, nil)
	if st := c.exited(30 * time.Second); st != "0" {
		t.Errorf("ssh exited %s after the idle timeout, want 0", st)
	}
	if !strings.Contains(s.stderr.String(), "ssh console closed: idle") {
		t.Errorf("the server did not log the idle close:\n%s", s.stderr.String())
	}
	// The sentence follows the console, on the main screen (which it
	// scrolls), so look in the history too.
	if h := c.tmux("capture-pane", "-p", "-S", "-100", "-t", "k"); !strings.Contains(h, "kdeck: closed after 2s without input") {
		t.Errorf("no idle sentence after the console:\n%s", h)
	}
}

// TestServeNeedsUsers: without [[ssh.users]] nobody could log in, so serve
// refuses to start (exit 2), saying what to add, and writes no host key.
func TestServeNeedsUsers(t *testing.T) {
	dir := isolate(t)
	r := kdeck(t, "", "serve", "--ssh", "127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.err, "[[ssh.users]]") {
		t.Fatalf("serve without users: exit %d, stderr %q", r.code, r.err)
	}
	p := writeConfig(t, dir, "[ssh]\nlisten = \"127.0.0.1:0\"\n")
	r = kdeck(t, "", "serve", "--config", p)
	if r.code != exitUsage || !strings.Contains(r.err, "no [[ssh.users]] in "+p) {
		t.Fatalf("serve with [ssh] but no users: exit %d, stderr %q", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "kdeck", "ssh_host_ed25519_key")); !os.IsNotExist(err) {
		t.Fatalf("a refused serve wrote a host key (%v)", err)
	}
}
