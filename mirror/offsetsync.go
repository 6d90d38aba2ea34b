package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetSync pairs a source offset with the target offset of its copy.
type offsetSync struct {
	Source int64 `json:"source"`
	Target int64 `json:"target"`
}

// maxSyncs caps the offset syncs a partition keeps in memory; older ones
// are dropped (a group behind all of them is not translated until it moves).
const maxSyncs = 1024

// addSync records a sync; the caller holds ps.mu.
func (ps *partition) addSync(s offsetSync) {
	ps.lastSyncSrc = s.Source
	ps.pending = append(ps.pending, s)
	ps.syncs = append(ps.syncs, s)
	if len(ps.syncs) > maxSyncs {
		ps.syncs = append(ps.syncs[:0], ps.syncs[len(ps.syncs)-maxSyncs/2:]...)
	}
}

// translate returns the target offset a group should resume at after
// committing source offset next (the next record it would consume), and
// whether a sync allows it. Among the syncs (s, t) with s <= next it uses the
// largest t: next itself is at t when s == next, else every record from s+1
// on is after t, so t+1 skips nothing. At most next-s-1 records (fewer than
// OffsetLagMax, plus at-least-once duplicates) are read again.
func (ps *partition) translate(next int64) (int64, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	best, ok := int64(-1), false
	for _, s := range ps.syncs {
		if s.Source > next {
			continue
		}
		t := s.Target
		if s.Source < next {
			t++
		}
		if t > best {
			best, ok = t, true
		}
	}
	return best, ok
}

// produceSyncs writes queued offset syncs, plus one for each partition's
// last acknowledged record, to the target's offset-syncs topic (so that an
// idle, caught-up group translates exactly). It never blocks: as MirrorMaker
// 2 skips offset syncs while too many are outstanding, a sync that finds the
// producer buffer full is dropped (translation then uses an older sync, which
// is safe: it can only replay, never skip). The records carry a context of
// their own, so that stopping the housekeeping does not fail syncs already
// buffered; the final flush is bounded by its caller.
func (r *run) produceSyncs() {
	topic := r.cfg.offsetSyncsTopic()
	for _, ps := range r.f.allPartitions() {
		ps.mu.Lock()
		if ps.lastSrc >= 0 && ps.lastSrc != ps.lastSyncSrc {
			ps.addSync(offsetSync{Source: ps.lastSrc, Target: ps.lastTgt})
		}
		pending := ps.pending
		ps.pending = nil
		ps.mu.Unlock()
		for _, s := range pending {
			v, _ := json.Marshal(s)
			r.aux.TryProduce(context.Background(), &kgo.Record{Topic: topic, Key: progressKey(ps.topic, ps.part), Value: v}, r.auxPromise)
		}
	}
}

func (r *run) auxPromise(rec *kgo.Record, err error) {
	if err != nil && !errors.Is(err, kgo.ErrClientClosed) && !errors.Is(err, kgo.ErrMaxBuffered) {
		r.f.noteError(fmt.Errorf("write %s in %s: %w", rec.Topic, r.cfg.Target, err))
	}
}

// Checkpoint is one translated group offset, as stored (JSON) in the
// target's CheckpointsTopic, keyed by group, source topic and partition.
type Checkpoint struct {
	Group       string `json:"group"`
	Topic       string `json:"topic"`
	RemoteTopic string `json:"remote_topic"`
	Partition   int32  `json:"partition"`
	// SourceOffset is the group's committed offset in the source.
	SourceOffset int64 `json:"source_offset"`
	// TargetOffset is where the group resumes in the remote topic without
	// skipping a record it has not consumed.
	TargetOffset int64 `json:"target_offset"`
	// At is when the checkpoint was taken (Unix milliseconds).
	At int64 `json:"at"`
}

func checkpointKey(group, topic string, p int32) []byte {
	return []byte(group + "\x00" + topic + "\x00" + strconv.Itoa(int(p)))
}

// checkpoint translates the committed offsets of the selected source groups,
// writes them as checkpoints to the target and, with SyncGroupOffsets,
// commits them to the target's groups that have no members there.
func (r *run) checkpoint(ctx context.Context) error {
	listed, err := r.sadm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups of %s: %w", r.cfg.Source, err)
	}
	var groups []string
	for _, g := range listed.Groups() {
		if r.f.sel.translatesGroup(g) {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	sort.Strings(groups)
	// A sync for each partition's last acknowledged record: a caught-up
	// group translates exactly.
	for _, ps := range r.f.allPartitions() {
		ps.mu.Lock()
		if ps.lastSrc >= 0 && ps.lastSrc != ps.lastSyncSrc {
			ps.addSync(offsetSync{Source: ps.lastSrc, Target: ps.lastTgt})
		}
		ps.mu.Unlock()
	}
	fetched := r.sadm.FetchManyOffsets(ctx, groups...)
	now := time.Now().UnixMilli()
	byGroup := map[string]kadm.Offsets{}
	for _, g := range groups {
		resp, ok := fetched[g]
		if !ok || resp.Err != nil {
			continue
		}
		resp.Fetched.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil || o.At < 0 {
				return
			}
			ps := r.f.partition(o.Topic, o.Partition)
			if ps == nil {
				return
			}
			to, ok := ps.translate(o.At)
			if !ok {
				return
			}
			cp := Checkpoint{Group: g, Topic: o.Topic, RemoteTopic: ps.remote, Partition: o.Partition, SourceOffset: o.At, TargetOffset: to, At: now}
			v, _ := json.Marshal(cp)
			r.aux.Produce(ctx, &kgo.Record{Topic: r.cfg.CheckpointsTopic(), Key: checkpointKey(g, o.Topic, o.Partition), Value: v}, r.auxPromise)
			if byGroup[g] == nil {
				byGroup[g] = kadm.Offsets{}
			}
			os := byGroup[g]
			os.Add(kadm.Offset{Topic: ps.remote, Partition: o.Partition, At: to, LeaderEpoch: -1})
		})
	}
	if err := r.aux.Flush(ctx); err != nil {
		return fmt.Errorf("write checkpoints to %s: %w", r.cfg.Target, err)
	}
	if r.cfg.SyncGroupOffsets {
		return r.syncGroupOffsets(ctx, byGroup)
	}
	return nil
}

// syncGroupOffsets commits translated offsets to target groups that have no
// members, never moving a group backwards.
func (r *run) syncGroupOffsets(ctx context.Context, byGroup map[string]kadm.Offsets) error {
	var errs []error
	for g, want := range byGroup {
		described, err := r.tadm.DescribeGroups(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d, ok := described[g]; ok && len(d.Members) > 0 {
			continue // active in the target: its own commits win
		}
		have, err := r.tadm.FetchOffsets(ctx, g)
		if errors.Is(err, kerr.GroupIDNotFound) {
			have, err = nil, nil
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		commit := kadm.Offsets{}
		want.Each(func(o kadm.Offset) {
			if cur, ok := have.Lookup(o.Topic, o.Partition); ok && cur.Err == nil && cur.At >= o.At {
				return
			}
			commit.Add(o)
		})
		if len(commit) == 0 {
			continue
		}
		resp, err := r.tadm.CommitOffsets(ctx, g, commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sync offsets of group %s in %s: %w", g, r.cfg.Target, err))
		}
	}
	return errors.Join(errs...)
}

// Translation is the failover translation of one group: where it resumes
// in the target's remote topics.
type Translation struct {
	Group string `json:"group"`
	// Members is the group's member count in the target; a group with
	// members must not have its offsets changed.
	Members int                `json:"members"`
	Offsets []TranslatedOffset `json:"offsets"`
}

// TranslatedOffset is one partition of a Translation.
type TranslatedOffset struct {
	Checkpoint
	// Current is the group's committed offset in the remote topic, -1 when
	// none.
	Current int64 `json:"current"`
}

// Translate computes the failover translation of group from the checkpoints
// the flow cfg wrote to its target (it needs only the target cluster, so it
// works when the source is down). target are the options connecting to the
// target. It returns ErrNoCheckpoint when the group has none. It blocks
// until the checkpoints topic is read or ctx ends.
func Translate(ctx context.Context, cfg Config, target []kgo.Opt, group string) (Translation, error) {
	cfg = cfg.withDefaults()
	topic := cfg.CheckpointsTopic()
	tr := Translation{Group: group}
	acl, err := kgo.NewClient(target...)
	if err != nil {
		return tr, err
	}
	defer acl.Close()
	adm := kadm.NewClient(acl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return tr, fmt.Errorf("list %s in %s: %w", topic, cfg.Target, err)
	}
	latest, err := latestCheckpoints(ctx, cfg, target, ends, group)
	if err != nil {
		return tr, err
	}
	if len(latest) == 0 {
		return tr, fmt.Errorf("%w for group %q in %s (flow %q): the flow has not translated its offsets yet", ErrNoCheckpoint, group, cfg.Target, cfg.Name)
	}
	have, err := retryCoordinator(ctx, func() (kadm.OffsetResponses, error) { return adm.FetchOffsets(ctx, group) })
	if errors.Is(err, kerr.GroupIDNotFound) {
		have, err = nil, nil
	}
	if err != nil {
		return tr, fmt.Errorf("fetch offsets of %s in %s: %w", group, cfg.Target, err)
	}
	for _, cp := range latest {
		cur := int64(-1)
		if o, ok := have.Lookup(cp.RemoteTopic, cp.Partition); ok && o.Err == nil {
			cur = o.At
		}
		tr.Offsets = append(tr.Offsets, TranslatedOffset{Checkpoint: cp, Current: cur})
	}
	sort.Slice(tr.Offsets, func(i, j int) bool {
		a, b := tr.Offsets[i], tr.Offsets[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	// Members guards the failover: an error must not pass for an empty group.
	d, err := retryCoordinator(ctx, func() (kadm.DescribedGroups, error) {
		d, err := adm.DescribeGroups(ctx, group)
		if err == nil {
			err = d[group].Err
		}
		return d, err
	})
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return tr, fmt.Errorf("describe group %s in %s: %w", group, cfg.Target, err)
	}
	tr.Members = len(d[group].Members)
	return tr, nil
}

// latestCheckpoints reads the checkpoints topic on the target up to its end
// offsets ends and returns the latest checkpoint of each partition of
// group, by record key.
func latestCheckpoints(ctx context.Context, cfg Config, target []kgo.Opt, ends kadm.ListedOffsets, group string) (map[string]Checkpoint, error) {
	topic := cfg.CheckpointsTopic()
	latest := map[string]Checkpoint{}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return latest, nil
	}
	start := map[int32]kgo.Offset{}
	for p := range want {
		start[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, target...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	prefix := group + "\x00"
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s in %s: %w", topic, cfg.Target, ctx.Err())
		}
		for _, fe := range fs.Errors() {
			return nil, fmt.Errorf("read %s in %s: %w", topic, cfg.Target, fe.Err)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Offset+1 >= want[rec.Partition] {
				delete(want, rec.Partition)
			}
			if !strings.HasPrefix(string(rec.Key), prefix) {
				return
			}
			var cp Checkpoint
			if json.Unmarshal(rec.Value, &cp) == nil && cp.Group == group {
				latest[string(rec.Key)] = cp
			}
		})
	}
	return latest, nil
}

// syncsReloaded caps how many records of the offset-syncs topic a starting
// flow reads back (its tail).
const syncsReloaded = 100_000

// loadSyncs reads the tail of the offset-syncs topic back into the
// partitions' in-memory syncs, so that groups behind the restart point stay
// translatable. A sync from an earlier run stays valid: every record after
// its source offset was, and after a restart is again, mirrored after its
// target offset.
func (r *run) loadSyncs(ctx context.Context) error {
	topic := r.cfg.offsetSyncsTopic()
	ends, err := r.tadm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	end := int64(0)
	if o, ok := ends.Lookup(topic, 0); ok && o.Err == nil {
		end = o.Offset
	}
	if end == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, r.f.target...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(max(0, end-syncsReloaded))}}))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, fe := range fs.Errors() {
			return fe.Err
		}
		done := false
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Offset+1 >= end {
				done = true
			}
			t, p, ok := strings.Cut(string(rec.Key), "\x00")
			pn, err := strconv.Atoi(p)
			var s offsetSync
			if !ok || err != nil || json.Unmarshal(rec.Value, &s) != nil {
				return
			}
			ps := r.f.partition(t, int32(pn))
			if ps == nil {
				return
			}
			ps.mu.Lock()
			ps.syncs = append(ps.syncs, s)
			if len(ps.syncs) > maxSyncs {
				ps.syncs = append(ps.syncs[:0], ps.syncs[len(ps.syncs)-maxSyncs/2:]...)
			}
			ps.mu.Unlock()
		})
		if done {
			return nil
		}
	}
}
