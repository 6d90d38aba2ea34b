package ops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/config"
)

// offsetsFake is a job runner with offsets whose reads can fail.
type offsetsFake struct {
	readErr error
	altered int
}

func (f *offsetsFake) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *offsetsFake) Pause()                        {}
func (f *offsetsFake) Resume()                       {}
func (f *offsetsFake) Status() JobStatus             { return JobStatus{State: StateRunning} }
func (f *offsetsFake) Offsets(context.Context) ([]JobOffset, error) {
	return nil, f.readErr
}
func (f *offsetsFake) AlterOffsets(context.Context, []JobOffset) error { f.altered++; return nil }
func (f *offsetsFake) ResetOffsets(context.Context) error              { f.altered++; return nil }

// A connector whose offsets cannot be read is not altered: the audit entry
// could not hold them, so the change could not be undone.
func TestAlterJobOffsetsRefusesWhenBeforeUnreadable(t *testing.T) {
	l, err := NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &offsetsFake{readErr: errors.New("offsets topic unreachable")}
	h := l.sup().add(kindTest, config.Job{Table: map[string]any{"name": "c1", "class": "fake"}})
	h.offsets = func(*Local, config.Job) (offsetRunner, func(), error) { return f, func() {}, nil }
	_, err = l.AlterJobOffsets(context.Background(), "c1", AlterOffsetsRequest{Reset: true})
	if err == nil || !strings.Contains(err.Error(), "offsets topic unreachable") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("alter with unreadable offsets: %v", err)
	}
	if f.altered != 0 {
		t.Fatalf("offsets altered %d times although the before could not be read", f.altered)
	}
	if es, _ := l.Audit(context.Background(), AuditFilter{}); len(es) != 0 {
		t.Fatalf("audit entries %+v for a change not made", es)
	}
}
