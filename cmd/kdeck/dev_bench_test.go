package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kdeckBinary builds the kdeck binary once per test process.
func kdeckBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kdeck-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kdeck")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			tb.Logf("%s", out)
		}
	})
	if binErr != nil {
		tb.Fatalf("building kdeck: %v", binErr)
	}
	return binPath
}

var listenLine = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// BenchmarkDevStartup measures a whole 'kdeck dev' process from exec to a
// bootstrap address that accepts a connection (demo channel on, ephemeral).
//
//	go test ./cmd/kdeck -run '^$' -bench DevStartup -benchtime 20x
func BenchmarkDevStartup(b *testing.B) {
	bin := kdeckBinary(b)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command(bin, "dev", "--ephemeral", "--port", "0")
		cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+b.TempDir(), "KDECK_CONFIG=")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		addr := ""
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addr = m[1]
				break
			}
		}
		if addr == "" {
			b.Fatal("kdeck dev printed no address")
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms-to-reachable")
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
}
