package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

var listenLine = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// BenchmarkDevStartup measures a whole 'kdeck dev' process from exec to a
// bootstrap address that accepts a connection (demo channel on, ephemeral).
//
//	go test ./cmd/kdeck -run '^$' -bench DevStartup -benchtime 20x
func BenchmarkDevStartup(b *testing.B) {
	bin := buildKdeck(b)
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
