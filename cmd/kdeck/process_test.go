package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The whole-process tests' helpers: the one build of the binary and the one
// way to start a kdeck subprocess.

// kdeckBuilds builds the binary once per test binary and flavour: plain,
// and with -race when the tests run with -race (raceEnabled).
var kdeckBuilds = map[bool]func() (string, error){
	false: sync.OnceValues(func() (string, error) { return goBuild(false) }),
	true:  sync.OnceValues(func() (string, error) { return goBuild(true) }),
}

// goBuild builds this package's binary into a new temporary directory.
func goBuild(race bool) (string, error) {
	dir, err := os.MkdirTemp("", "kdeck-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kdeck")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return bin, nil
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// buildKdeck returns the plain binary (no -race: the SIGKILL loops and
// benchmarks measure or stress the binary as users run it), built once per
// test binary; a failed build fails the test.
func buildKdeck(tb testing.TB) string {
	tb.Helper()
	bin, err := kdeckBuilds[false]()
	if err != nil {
		tb.Fatalf("go build: %v", err)
	}
	return bin
}

// buildOnce returns the binary built with -race when the tests run with
// -race (the console and attach tests, where a race in the binary is what
// they look for), built once per test binary.
func buildOnce() (string, error) { return kdeckBuilds[raceEnabled]() }

// kdeckProcess is a kdeck subprocess of a test, with its stderr kept.
type kdeckProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startKdeck starts bin with args; the test's cleanup kills it and waits
// for it if the test did not wait for it.
func startKdeck(t testing.TB, bin string, args ...string) *kdeckProcess {
	t.Helper()
	p := &kdeckProcess{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

// startRun starts 'kdeck run' on the config file cfgPath with args.
func startRun(t testing.TB, bin, cfgPath string, args ...string) *kdeckProcess {
	t.Helper()
	return startKdeck(t, bin, append([]string{"--config", cfgPath, "run"}, args...)...)
}
