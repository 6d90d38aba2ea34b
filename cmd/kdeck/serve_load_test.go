package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/twmb/franz-go/pkg/kgo"
	gossh "golang.org/x/crypto/ssh"
)

// goConsole is one console session opened with Go's SSH client, reading
// everything the server draws.
type goConsole struct {
	client *gossh.Client
	sess   *gossh.Session
	// first is the time from dialling to the first frame with live
	// cluster data; zero until then.
	first time.Duration
	mu    sync.Mutex
	out   bytes.Buffer
	seen  chan struct{}
	done  chan struct{}
	bytes int
}

// dialConsole dials addr with key's private key, asks for a cols x rows
// xterm-256color terminal and a shell (the console), and reads its output
// until the session ends. Safe to call from any goroutine.
func dialConsole(addr, keyPath string, cols, rows int) (*goConsole, error) {
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            "ops",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), // a test server with a fresh key
		Timeout:         10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	fail := func(err error) (*goConsole, error) { client.Close(); return nil, err }
	sess, err := client.NewSession()
	if err != nil {
		return fail(err)
	}
	_ = sess.Setenv("LANG", "C.UTF-8")
	if err := sess.RequestPty("xterm-256color", rows, cols, gossh.TerminalModes{}); err != nil {
		return fail(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if _, err := sess.StdinPipe(); err != nil {
		return fail(err)
	}
	if err := sess.Shell(); err != nil {
		return fail(err)
	}
	c := &goConsole{client: client, sess: sess, seen: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			c.mu.Lock()
			c.bytes += n
			if c.first == 0 {
				c.out.Write(buf[:n])
				if sshClusterUp.MatchString(ansi.Strip(c.out.String())) {
					c.first = time.Since(start)
					c.out.Reset()
					close(c.seen)
				}
			}
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c, nil
}

// close ends the session; it may be called again.
func (c *goConsole) close() {
	c.sess.Close()
	c.client.Close()
	<-c.done
}

// waitFirst waits for the first frame with live data.
func (c *goConsole) waitFirst(tb testing.TB, within time.Duration) time.Duration {
	tb.Helper()
	select {
	case <-c.seen:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.first
	case <-time.After(within):
		c.mu.Lock()
		defer c.mu.Unlock()
		tb.Fatalf("no frame with live data within %v; got:\n%s", within, ansi.Strip(c.out.String()))
		return 0
	}
}

// openConsoles opens n consoles at once and waits for each first frame.
func openConsoles(tb testing.TB, addr, key string, n int) ([]*goConsole, []time.Duration) {
	tb.Helper()
	cs := make([]*goConsole, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Go(func() { cs[i], errs[i] = dialConsole(addr, key, 120, 40) })
	}
	wg.Wait()
	for i, c := range cs {
		if c != nil {
			tb.Cleanup(c.close)
		}
		if errs[i] != nil {
			tb.Fatalf("console %d: %v", i, errs[i])
		}
	}
	firsts := make([]time.Duration, n)
	for i, c := range cs {
		firsts[i] = c.waitFirst(tb, 60*time.Second)
	}
	return cs, firsts
}

// TestSSHConcurrentSessions: ten consoles at once over one served ops
// layer each get their first frame and keep being drawn, while an exec
// from another key runs; closing them leaves the server serving.
func TestSSHConcurrentSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	s := startSSH(t, `idle_timeout = "5m"`)
	addr := net.JoinHostPort("127.0.0.1", s.port)
	cs, _ := openConsoles(t, addr, filepath.Join(s.dir, "alice"), 10)
	// Six execs at once beside them, each a fresh command tree over the
	// shared service.
	outs := make([][]byte, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range outs {
		key := []string{"alice", "bob"}[i%2]
		wg.Go(func() {
			outs[i], errs[i] = exec.Command("ssh", append(s.sshArgs(key), "--", "groups", "-o", "json")...).Output()
		})
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != nil || !strings.Contains(string(outs[i]), `"billing"`) {
			t.Fatalf("exec %d beside ten consoles: %v %s", i, errs[i], outs[i])
		}
	}
	// Every console keeps redrawing (the refresh is 500ms).
	before := make([]int, len(cs))
	for i, c := range cs {
		c.mu.Lock()
		before[i] = c.bytes
		c.mu.Unlock()
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, c := range cs {
		for {
			c.mu.Lock()
			grew := c.bytes > before[i]
			c.mu.Unlock()
			if grew {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("console %d stopped being drawn", i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, c := range cs {
		c.close()
	}
	if r := s.ssh("alice", "", "topics"); r.code != 0 {
		t.Fatalf("exec after the consoles closed: exit %d %s", r.code, r.err)
	}
	if n := strings.Count(s.stderr.String(), "ssh console opened"); n != 10 {
		t.Errorf("server logged %d consoles opened, want 10", n)
	}
}

// BenchmarkSSHSessions runs 'kdeck serve' as its own process and holds ten
// consoles (KDECK_SSH_BENCH_SESSIONS) open at once for KDECK_SSH_BENCH_FOR
// (default 60s): it reports the first-frame time per session (mean and
// slowest, from dialling to the first frame with live cluster data), the
// server's resident memory with no session (rss_idle_MB) and with the
// sessions at the end (rss_sessions_MB). Run by scripts/bench-ssh.sh:
//
//	go test ./cmd/kdeck -run XXX -bench SSHSessions -benchtime 1x
func BenchmarkSSHSessions(b *testing.B) {
	hold := time.Minute
	if v := os.Getenv("KDECK_SSH_BENCH_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("KDECK_SSH_BENCH_FOR=%q: %v", v, err)
		}
		hold = d
	}
	sessions := 10
	if v := os.Getenv("KDECK_SSH_BENCH_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("KDECK_SSH_BENCH_SESSIONS=%q is not a positive count", v)
		}
		sessions = n
	}
	bin, err := buildOnce()
	if err != nil {
		b.Fatal(err)
	}
	var mean, slowest, idle, busy float64
	for b.Loop() {
		s := newSSHEnv(b, `idle_timeout = "5m"`, false)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "serve", "--config", s.cfg, "--ssh", "127.0.0.1:0")
		cmd.Stderr = s.stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cancel(); _ = cmd.Wait() })
		deadline := time.Now().Add(30 * time.Second)
		for s.port == "" && time.Now().Before(deadline) {
			if m := serveAddr.FindStringSubmatch(s.stderr.String()); m != nil {
				s.port = m[1]
			}
			time.Sleep(20 * time.Millisecond)
		}
		if s.port == "" {
			b.Fatalf("kdeck serve did not listen: %s", s.stderr.String())
		}
		time.Sleep(2 * time.Second)
		idle += rssMB(b, cmd.Process.Pid)
		cs, firsts := openConsoles(b, net.JoinHostPort("127.0.0.1", s.port), filepath.Join(s.dir, "alice"), sessions)
		sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
		var sum time.Duration
		for _, f := range firsts {
			sum += f
		}
		mean += float64(sum.Milliseconds()) / float64(len(firsts))
		slowest += float64(firsts[len(firsts)-1].Milliseconds())
		b.Logf("first frames (ms): %v", firsts)
		time.Sleep(hold)
		busy += rssMB(b, cmd.Process.Pid)
		for _, c := range cs {
			c.close()
		}
		cancel()
		_ = cmd.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(mean/n, "first_frame_mean_ms")
	b.ReportMetric(slowest/n, "first_frame_max_ms")
	b.ReportMetric(idle/n, "rss_idle_MB")
	b.ReportMetric(busy/n, "rss_sessions_MB")
	b.ReportMetric(0, "ns/op")
}

// rssMB reads a process's resident set size.
func rssMB(tb testing.TB, pid int) float64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// TestSSHStalledClient: a client that stops reading the output of a big
// exec (4 MiB of records, twice its 2 MiB SSH window) stalls that exec
// only: meanwhile consoles open and other execs run; once it reads again,
// its exec completes with every record.
func TestSSHStalledClient(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	s := startSSH(t, `idle_timeout = "5m"`)
	s.c.CreateTopic(t, "big", 1)
	const n, size = 4096, 1024
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "big", Value: bytes.Repeat([]byte{'a' + byte(i%26)}, size)}
	}
	s.c.Produce(t, recs...)
	addr := net.JoinHostPort("127.0.0.1", s.port)

	pem, err := os.ReadFile(filepath.Join(s.dir, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "ops", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe() // not read until the end
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(fmt.Sprintf("tail big --from earliest -n %d --format value", n)); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- sess.Wait() }()

	cs, _ := openConsoles(t, addr, filepath.Join(s.dir, "alice"), 3)
	if r := s.ssh("alice", "", "groups", "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"billing"`) {
		t.Fatalf("exec beside a stalled client: exit %d %s", r.code, r.err)
	}
	for _, c := range cs {
		c.close()
	}
	select {
	case err := <-finished:
		t.Fatalf("the stalled exec finished (%v) though its client read nothing: the test did not stall it", err)
	default:
	}
	got, err := io.Copy(io.Discard, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(n * (size + 1)); got != want {
		t.Fatalf("the stalled exec wrote %d bytes once read, want %d", got, want)
	}
	select {
	case err := <-finished:
		if err != nil {
			t.Fatalf("the stalled exec ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled exec did not end after its output was read")
	}
}
