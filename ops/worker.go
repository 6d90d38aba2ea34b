package ops

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kdeck/kdeck/config"
)

// workerIDFile is the file in the data dir keeping the derived worker id.
const workerIDFile = "worker-id"

// WorkerID returns this worker's id: [worker] id, else the id kept in the
// data dir (file worker-id), else one derived from the host name and the
// data dir and written there, so that a worker restarted in place keeps it.
// The id makes the static member ids (group.instance.id) of the worker's
// stream jobs and its worker-group membership.
func (l *Local) WorkerID() (string, error) {
	l.workerOnce.Do(func() { l.workerID, l.workerErr = loadWorkerID(l.cfg, l.Info().DataDir) })
	return l.workerID, l.workerErr
}

func loadWorkerID(cfg *config.Config, dataDir string) (string, error) {
	if cfg.Worker.ID != "" {
		return cfg.Worker.ID, nil
	}
	path := filepath.Join(dataDir, workerIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); config.ValidName(id) {
			return id, nil
		}
		return "", fmt.Errorf("%s does not hold a valid worker id: delete it (a new one is derived) or set [worker] id", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cannot read the worker id: %w", err)
	}
	id := deriveWorkerID(dataDir)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", fmt.Errorf("cannot keep the worker id in the data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("cannot keep the worker id in the data dir: %w", err)
	}
	return id, nil
}

// deriveWorkerID names a worker by its host and a digest of its data dir:
// two workers on one host differ by their data dirs.
func deriveWorkerID(dataDir string) string {
	host, _ := os.Hostname()
	var b strings.Builder
	for _, r := range host {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	h := b.String()
	if h == "" {
		h = "worker"
	}
	if len(h) > 60 {
		h = h[:60]
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return h + "-" + hex.EncodeToString(sum[:4])
}

// workerSessionTimeout is [worker] session_timeout or its default.
func (l *Local) workerSessionTimeout() time.Duration {
	return l.cfg.Worker.SessionTimeout.Or(config.DefaultWorkerSessionTimeout)
}
