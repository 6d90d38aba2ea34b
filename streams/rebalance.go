package streams

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/jobstate"
)

func (j *Job) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, ps := range assigned {
		for _, p := range ps {
			if j.tasks[p] == nil {
				j.pending[p] = true
			}
		}
	}
}

// onRevoked commits what was processed (no batch is in flight: rebalances are
// blocked while a batch is processed) and checkpoints and closes the
// revoked tasks' stores. It never closes the client or leaves the group.
func (j *Job) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sess == nil && len(j.safe) > 0 {
		// A batch whose outputs were acknowledged but whose commit a
		// rebalance refused: commit it now, while the partitions are ours.
		cctx, cancel := context.WithTimeout(ctx, netTimeout)
		cl.CommitOffsetsSync(cctx, j.safe, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				j.log.Info("commit on revocation failed; the last batch may be processed again", "err", err)
			}
		})
		cancel()
		j.safe = nil
	}
	j.closeTasks(revoked, true)
}

func (j *Job) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closeTasks(lost, false)
}

// closeTasks closes the tasks of the given partitions (all when nil). Held:
// mu.
func (j *Job) closeTasks(parts map[string][]int32, clean bool) {
	set := map[int32]bool{}
	for _, ps := range parts {
		for _, p := range ps {
			set[p] = true
		}
	}
	j.tasksMu.Lock()
	defer j.tasksMu.Unlock()
	for p, t := range j.tasks {
		if parts != nil && !set[p] {
			continue
		}
		j.lateClosed.Add(t.late.Load())
		t.close(clean)
		delete(j.tasks, p)
	}
	for p := range j.pending {
		if parts == nil || set[p] {
			delete(j.pending, p)
		}
	}
}

// openPending opens and restores the tasks of newly assigned partitions.
// Held: mu.
func (j *Job) openPending(ctx context.Context) error {
	if len(j.pending) == 0 {
		return nil
	}
	ps := make([]int32, 0, len(j.pending))
	for p := range j.pending {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a] < ps[b] })
	var opened []*task
	var toRestore []restoreTarget
	for _, p := range ps {
		t := &task{j: j, partition: p}
		for _, sd := range j.top.stores {
			st, from, err := openStore(sd, p, storeDir(j.cfg.dataDir, j.top.appID, sd.name, p), j.cache)
			if err != nil {
				t.close(false)
				for _, o := range opened {
					o.close(false)
				}
				return err
			}
			t.stores = append(t.stores, st)
			toRestore = append(toRestore, restoreTarget{st: st, topic: sd.changelog, from: from})
		}
		opened = append(opened, t)
	}
	j.tasksMu.Lock()
	for _, t := range opened {
		j.tasks[t.partition] = t
		delete(j.pending, t.partition)
	}
	j.tasksMu.Unlock()
	if len(toRestore) > 0 {
		j.state.Store(jobstate.Restoring)
		err := j.restore(ctx, toRestore)
		j.state.Store(jobstate.Running)
		if err != nil {
			return err
		}
	}
	for _, t := range opened {
		for _, st := range t.stores {
			if err := st.loadMeta(); err != nil {
				return err
			}
		}
	}
	return nil
}
