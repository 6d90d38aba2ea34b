package api

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrWorkerRunning reports a socket that a live worker answers on.
var ErrWorkerRunning = errors.New("a kdeck worker is already serving this data dir")

// ListenUnix listens on the Unix socket at path with mode 0600. A socket
// file left by a crashed worker (nothing answers on it) is removed and
// reported with stale true; a live one is refused with ErrWorkerRunning.
func ListenUnix(path string) (ln net.Listener, stale bool, err error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, false, fmt.Errorf("%s exists and is not a socket: move it away so the worker can create its socket there", path)
		}
		if Alive(path) {
			return nil, false, fmt.Errorf("%w: %s answers (stop that worker, or attach to it with --server unix://%s)", ErrWorkerRunning, path, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, false, fmt.Errorf("cannot remove the stale socket %s: %w", path, err)
		}
		stale = true
	}
	old := syscall.Umask(0o177)
	ln, err = net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, stale, fmt.Errorf("cannot listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, stale, fmt.Errorf("cannot make %s private: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, stale, nil
}

// Alive reports whether something accepts connections on the Unix socket at
// path (within a second).
func Alive(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
