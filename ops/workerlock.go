package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// WorkerLockFile is the lock file the process hosting a data dir's jobs
// ('kdeck run', or the console when the configuration has jobs) holds in
// the data dir, so that a second one refuses to start them.
const WorkerLockFile = "kdeck.lock"

// ErrWorkerRunning reports that another worker holds the data dir's lock.
// It also matches ErrRefused (exit code 3).
var ErrWorkerRunning = errors.New("another worker runs on this data dir")

// WorkerHolder says which process holds a data dir's worker lock.
type WorkerHolder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
	// Face is what holds it: "kdeck run" or "the kdeck console".
	Face string `json:"face"`
}

// WorkerLock is a held worker lock: an flock on DATA_DIR/kdeck.lock, which
// the kernel releases when the process ends, so a crash leaves no stale
// lock. Release it with Close.
type WorkerLock struct {
	f *os.File
}

// LockWorker takes the worker lock of dataDir without waiting, for face
// ("kdeck run", "the kdeck console"). When another process holds it, it
// returns an error matching ErrWorkerRunning that names the holder (what,
// pid, host, since when).
func LockWorker(dataDir, face string) (*WorkerLock, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data dir %s: %w", dataDir, err)
	}
	p := filepath.Join(dataDir, WorkerLockFile)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the worker lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, workerRunning(dataDir)
		}
		return nil, fmt.Errorf("cannot lock %s: %w", p, err)
	}
	b, _ := json.Marshal(WorkerHolder{PID: os.Getpid(), Host: procHost, Since: time.Now().UTC().Truncate(time.Second), Face: face})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot write the worker lock %s: %w", p, err)
	}
	return &WorkerLock{f: f}, nil
}

func workerRunning(dataDir string) error {
	h, ok, _ := WorkerLockHolder(dataDir)
	who := "another kdeck process"
	if ok {
		who = fmt.Sprintf("%s (pid %d on %s, running since %s)", firstNonEmpty(h.Face, "another kdeck"), h.PID, h.Host, h.Since.Local().Format(time.RFC3339))
	}
	return &workerRunningError{msg: fmt.Sprintf("%s already hosts the jobs of data dir %s: stop it first, or give this one another [ops] data_dir; two hosts would run every job twice", who, dataDir)}
}

type workerRunningError struct{ msg string }

func (e *workerRunningError) Error() string { return e.msg }
func (e *workerRunningError) Is(target error) bool {
	return target == ErrWorkerRunning || target == ErrRefused
}

// WorkerLockHolder returns the worker holding dataDir's lock; ok is false
// when no process holds it (a lock file left by a crash is not held).
func WorkerLockHolder(dataDir string) (h WorkerHolder, ok bool, err error) {
	p := filepath.Join(dataDir, WorkerLockFile)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return WorkerHolder{}, false, nil
	}
	if err != nil {
		return WorkerHolder{}, false, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return WorkerHolder{}, false, nil
	}
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	if err := json.Unmarshal(b[:n], &h); err != nil {
		return WorkerHolder{}, true, fmt.Errorf("the worker lock %s is held but unreadable: %w", p, err)
	}
	return h, true, nil
}

// Close releases the lock. It is safe to call more than once.
func (w *WorkerLock) Close() error {
	if w == nil || w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
