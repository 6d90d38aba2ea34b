package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

func TestTUINotATerminal(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), nil, strings.NewReader(""), &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit code = %d, want %d (stderr %q)", code, exitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), "not a terminal") || out.Len() != 0 {
		t.Fatalf("stdout %q, stderr %q: want only a hint on stderr", out.String(), errb.String())
	}
}

// ptyTUI is the real binary running in a pseudo-terminal.
type ptyTUI struct {
	cmd   *exec.Cmd
	f     *os.File
	start time.Time
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
}

// startTUI runs kdeck with no arguments and no configuration (so it starts
// the embedded default) in a pty of the given size, with HOME, XDG dirs and
// the working directory in a temporary directory.
func startTUI(tb testing.TB, cols, rows int, args ...string) *ptyTUI {
	tb.Helper()
	bin, err := buildOnce()
	if err != nil {
		tb.Fatal(err)
	}
	home := tb.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"TERM=xterm-256color", "LANG=C.UTF-8", "PATH=" + os.Getenv("PATH")}
	p := &ptyTUI{cmd: cmd, done: make(chan struct{}), start: time.Now()}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		tb.Fatal(err)
	}
	p.f = f
	go func() {
		defer close(p.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			answerQueries(f, buf[:n])
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		f.Close()
		<-p.done
	})
	return p
}

// answerQueries answers the terminal queries termenv sends at start (the
// background colour, OSC 11, and the cursor position, DSR) as a real dark
// terminal would; without answers it waits 5 s for them.
func answerQueries(w io.Writer, out []byte) {
	if bytes.Contains(out, []byte("\x1b]11;?")) {
		_, _ = io.WriteString(w, "\x1b]11;rgb:0000/0000/0000\x1b\\")
	}
	if bytes.Contains(out, []byte("\x1b[6n")) {
		_, _ = io.WriteString(w, "\x1b[1;1R")
	}
}

// text returns everything drawn so far without escape sequences.
func (p *ptyTUI) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ansi.Strip(p.out.String())
}

// waitFor waits until re matches the drawn text and returns the match.
func (p *ptyTUI) waitFor(tb testing.TB, re *regexp.Regexp, within time.Duration, ok func([]string) bool) []string {
	tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, m := range re.FindAllStringSubmatch(p.text(), -1) {
			if ok == nil || ok(m) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tail := p.text()
	if len(tail) > 3000 {
		tail = tail[len(tail)-3000:]
	}
	tb.Fatalf("%v not on screen within %v; screen ends with:\n%s", re, within, tail)
	return nil
}

func (p *ptyTUI) keys(tb testing.TB, s string) {
	tb.Helper()
	if _, err := io.WriteString(p.f, s); err != nil {
		tb.Fatal(err)
	}
}

// rssMB reads the process's resident set size.
func (p *ptyTUI) rssMB() float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

var (
	clusterUp   = regexp.MustCompile(`local\s+up\s+127\.0\.0\.1:\d+\s+1/1 brokers up`) // the address first: never cut
	billingLag  = regexp.MustCompile(`demo-billing\s+(\S+)\s+(\d+)\s+([\d,]+)\s`)
	groupsShown = regexp.MustCompile(`GROUP\s+STATE`)
)

// TestTUISmoke runs the real binary in a pseudo-terminal with no
// configuration: it must draw the live overview of the embedded default,
// show the demo group's lag on the groups screen, and quit cleanly on q.
func TestTUISmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	p := startTUI(t, 120, 40)
	p.waitFor(t, clusterUp, 30*time.Second, nil)
	t.Logf("overview with live cluster data after %v", time.Since(p.start))
	p.keys(t, "3")
	p.waitFor(t, groupsShown, 10*time.Second, nil)
	m := p.waitFor(t, billingLag, 30*time.Second, func(m []string) bool { return m[3] != "0" })
	t.Logf("demo-billing lag %s on screen after %v; RSS %.1f MB", m[3], time.Since(p.start), p.rssMB())
	p.keys(t, "q")
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("kdeck did not exit within 15s of q")
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("kdeck exited with %v after q; output:\n%s", err, p.text())
	}
	if !strings.Contains(p.out.String(), "\x1b[?1049l") {
		t.Fatal("kdeck did not leave the alternate screen (terminal not restored)")
	}
}

// BenchmarkTUIStartup starts the real binary with no configuration in a
// pty (so it starts the embedded default with its demo) and reports the
// time to the first frame with live cluster data (first_frame_ms), the time
// until the demo group's lag is on the groups screen (lag_ms), and the
// process's resident memory after 10 s of running (rss_MB).
//
//	go test ./cmd/kdeck -run XXX -bench TUIStartup -benchtime=3x
func BenchmarkTUIStartup(b *testing.B) {
	var first, lag, rss float64
	for b.Loop() {
		p := startTUI(b, 120, 40)
		p.waitFor(b, clusterUp, 30*time.Second, nil)
		first += float64(time.Since(p.start).Milliseconds())
		p.keys(b, "3")
		p.waitFor(b, billingLag, 30*time.Second, func(m []string) bool { return m[3] != "0" })
		lag += float64(time.Since(p.start).Milliseconds())
		time.Sleep(time.Until(p.start.Add(10 * time.Second)))
		rss += p.rssMB()
		p.keys(b, "q")
		<-p.done
		_ = p.cmd.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(first/n, "first_frame_ms")
	b.ReportMetric(lag/n, "lag_ms")
	b.ReportMetric(rss/n, "rss_MB")
	b.ReportMetric(0, "ns/op")
}

// TestTUIResetAndUndo walks the "done when" path in the real
// binary on the embedded default: open demo-billing, rewind it with a
// previewed, confirmed reset, find the audit entry and undo it.
func TestTUIResetAndUndo(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	p := startTUI(t, 120, 40)
	p.waitFor(t, clusterUp, 30*time.Second, nil)
	// demo-billing is committed and left by the demo about 1.5 s after start.
	p.keys(t, "3")
	p.waitFor(t, billingLag, 30*time.Second, func(m []string) bool { return m[1] == "Empty" })
	p.keys(t, ":group demo-billing\r")
	p.waitFor(t, regexp.MustCompile(`demo-billing\s+state Empty`), 10*time.Second, nil)
	p.keys(t, "r")
	p.waitFor(t, regexp.MustCompile(`Reset offsets of demo-billing`), 10*time.Second, nil)
	p.keys(t, "\r")
	p.waitFor(t, regexp.MustCompile(`Type demo-billing to execute`), 10*time.Second, nil)
	p.keys(t, "demo-billing\r")
	id := p.waitFor(t, regexp.MustCompile(`Done\. audit id (\d{8}-\d{6}-[0-9a-f]+)`), 15*time.Second, nil)[1]
	p.keys(t, "\r5")
	p.waitFor(t, regexp.MustCompile(`offsets\.reset\s+local\s+demo-billing\s+ok\s+`+id), 10*time.Second, nil)
	p.keys(t, "u")
	p.waitFor(t, regexp.MustCompile(`Undo `+id), 10*time.Second, nil)
	p.keys(t, "demo-billing\r")
	p.waitFor(t, regexp.MustCompile(`Done\. audit id (\d{8}-\d{6}-[0-9a-f]+)`), 15*time.Second, func(m []string) bool { return m[1] != id })
	p.keys(t, "\x03")
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("kdeck did not exit within 15s of ctrl+c")
	}
}
