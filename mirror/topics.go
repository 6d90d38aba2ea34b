package mirror

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ensureTopic creates topic unless it exists.
func ensureTopic(ctx context.Context, adm *kadm.Client, topic string, partitions int32, rf int16, configs map[string]*string) error {
	for k, v := range configs {
		if v == nil {
			delete(configs, k)
		}
	}
	resp, err := adm.CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil && resp.ErrMessage != "" {
		// Apache Kafka says why (e.g. "Topic 'a_t' collides with existing
		// topic: a.t": '.' and '_' clash in its metric names).
		err = fmt.Errorf("%w (%s)", err, resp.ErrMessage)
	}
	return err
}

// discover lists the source topics, creates or grows their remote topics,
// syncs safe configs, and starts consuming partitions not yet consumed. The
// first call (initial) starts partitions without progress at Config.Start;
// later calls start new partitions at the earliest offset.
func (r *run) discover(ctx context.Context, initial bool) error {
	c := r.cfg
	want, topics, err := r.sourceTopics(ctx)
	if err != nil || len(topics) == 0 {
		return err
	}
	srcConfigs, noConfigs := r.sourceConfigs(ctx, topics)
	remotes := make([]string, len(topics))
	for i, t := range topics {
		remotes[i] = c.RemoteTopic(t)
	}
	tmd, err := r.tadm.ListTopics(ctx, remotes...)
	if err != nil {
		return fmt.Errorf("list topics of %s: %w", c.Target, err)
	}
	var errs []error
	ready := map[string]bool{}
	for i, t := range topics {
		remote := remotes[i]
		if err := noConfigs[t]; err != nil {
			errs = append(errs, fmt.Errorf("cannot read the configs of source topic %s in %s (%w): its remote topic %s is not created or synced until they can be copied (cleanup.policy decides whether it is compacted); retried at the next discovery every %v", t, c.Source, err, remote, c.RefreshInterval))
			continue
		}
		td, exists := tmd[remote]
		ok, err := r.prepareRemote(ctx, remote, want[t], td, exists, safeConfigs(srcConfigs, t))
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			ready[t] = true
		}
	}
	return errors.Join(append(errs, r.startFresh(ctx, topics, want, ready, initial))...)
}

// sourceTopics lists the source topics the flow mirrors, sorted, with their
// partition counts.
func (r *run) sourceTopics(ctx context.Context) (map[string]int32, []string, error) {
	md, err := r.sadm.ListTopics(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list topics of %s: %w", r.cfg.Source, err)
	}
	want := map[string]int32{}
	var topics []string
	for _, td := range md.Sorted() {
		if td.Err != nil || td.IsInternal || !r.f.sel.mirrors(td.Topic) {
			continue
		}
		want[td.Topic] = int32(len(td.Partitions))
		topics = append(topics, td.Topic)
	}
	return want, topics, nil
}

// sourceConfigs reads the topics' configs when configs are synced.
// noConfigs holds the topics whose configs could not be read: their remote
// topics are neither created nor synced this time, since a remote created
// without them would get the target's defaults (a compacted topic mirrored
// into one with delete retention).
func (r *run) sourceConfigs(ctx context.Context, topics []string) (kadm.ResourceConfigs, map[string]error) {
	noConfigs := map[string]error{}
	if !*r.cfg.SyncConfigs {
		return nil, noConfigs
	}
	srcConfigs, err := r.sadm.DescribeTopicConfigs(ctx, topics...)
	for _, t := range topics {
		switch rc, rerr := srcConfigs.On(t, nil); {
		case err != nil:
			noConfigs[t] = err
		case rerr != nil:
			noConfigs[t] = rerr
		case rc.Err != nil:
			noConfigs[t] = rc.Err
		}
	}
	return srcConfigs, noConfigs
}

// prepareRemote creates remote (n partitions, the safe configs) when it
// does not exist, or grows it to n partitions and syncs the safe configs.
// ready says whether its partitions may be mirrored; err says what failed
// (a failed config sync leaves it ready).
func (r *run) prepareRemote(ctx context.Context, remote string, n int32, td kadm.TopicDetail, exists bool, safe map[string]*string) (ready bool, err error) {
	c := r.cfg
	switch {
	case !exists || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
		if err := ensureTopic(ctx, r.tadm, remote, n, c.ReplicationFactor, safe); err != nil {
			return false, fmt.Errorf("create remote topic %s in %s: %w", remote, c.Target, err)
		}
	case td.Err != nil:
		return false, fmt.Errorf("remote topic %s in %s: %w", remote, c.Target, td.Err)
	default:
		if have := int32(len(td.Partitions)); have < n {
			resp, err := r.tadm.UpdatePartitions(ctx, int(n), remote)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				return false, fmt.Errorf("grow remote topic %s in %s to %d partitions: %w", remote, c.Target, n, err)
			}
			if err := r.awaitProducerPartitions(ctx, remote, n); err != nil {
				return false, err
			}
		}
		if len(safe) > 0 {
			if err := r.syncConfigs(ctx, remote, safe); err != nil {
				return true, err
			}
		}
	}
	return true, nil
}

// startFresh starts consuming the partitions not yet consumed of the topics
// whose remote is ready.
func (r *run) startFresh(ctx context.Context, topics []string, want map[string]int32, ready map[string]bool, initial bool) error {
	c := r.cfg
	add := map[string]map[int32]kgo.Offset{}
	var fresh []*partition
	r.f.mu.Lock()
	for _, t := range topics {
		if !ready[t] {
			continue
		}
		r.f.remote[t] = c.RemoteTopic(t)
		for p := int32(0); p < want[t]; p++ {
			if _, ok := r.f.parts[topicPartition{t, p}]; ok || !r.f.owns(t, p) {
				continue
			}
			ps := newPartition(t, c.RemoteTopic(t), p, -1)
			fresh = append(fresh, ps)
		}
	}
	r.f.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	if err := r.startOffsets(ctx, fresh, initial); err != nil {
		return err
	}
	r.f.mu.Lock()
	for _, ps := range fresh {
		r.f.parts[topicPartition{ps.topic, ps.part}] = ps
		if add[ps.topic] == nil {
			add[ps.topic] = map[int32]kgo.Offset{}
		}
		add[ps.topic][ps.part] = kgo.NewOffset().At(ps.acked)
	}
	r.f.mu.Unlock()
	r.src.AddConsumePartitions(add)
	r.f.log.Info("mirroring partitions", "new", len(fresh), "topics", len(topics))
	return nil
}

// startOffsets resolves where each fresh partition begins: the committed
// progress (the source group, or under exactly once the target's progress
// topic), else Config.Start (initial) or the earliest offset.
func (r *run) startOffsets(ctx context.Context, fresh []*partition, initial bool) error {
	c := r.cfg
	var committed kadm.OffsetResponses
	if !c.ExactlyOnce {
		var err error
		committed, err = retryCoordinator(ctx, func() (kadm.OffsetResponses, error) { return r.sadm.FetchOffsets(ctx, c.GroupID) })
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return fmt.Errorf("fetch progress of group %s in %s: %w", c.GroupID, c.Source, err)
		}
	}
	var topics []string
	seen := map[string]bool{}
	for _, ps := range fresh {
		if !seen[ps.topic] {
			seen[ps.topic] = true
			topics = append(topics, ps.topic)
		}
	}
	var bounds kadm.ListedOffsets
	var err error
	if initial && c.Start == "latest" {
		bounds, err = r.sadm.ListEndOffsets(ctx, topics...)
	} else {
		bounds, err = r.sadm.ListStartOffsets(ctx, topics...)
	}
	if err != nil {
		return fmt.Errorf("list offsets of %s: %w", c.Source, err)
	}
	for _, ps := range fresh {
		start := int64(-1)
		if c.ExactlyOnce {
			if o, ok := r.progress[topicPartition{ps.topic, ps.part}]; ok {
				start = o
			}
		} else if o, ok := committed.Lookup(ps.topic, ps.part); ok && o.Err == nil && o.At >= 0 {
			start = o.At
		}
		if start < 0 {
			if o, ok := bounds.Lookup(ps.topic, ps.part); ok && o.Err == nil {
				start = o.Offset
			} else {
				start = 0
			}
			ps.committed = -1
		} else {
			ps.committed = start
		}
		if c.ExactlyOnce {
			ps.committed = -1 // the source group mirrors the target's progress: commit it once
		}
		ps.acked = start
	}
	return nil
}

// awaitProducerPartitions waits until the target producer's metadata knows n
// partitions of topic, so that records for new partitions are not refused.
func (r *run) awaitProducerPartitions(ctx context.Context, topic string, n int32) error {
	if l, _, _ := r.tgt.PartitionLeader(topic, 0); l < 0 {
		return nil // not produced to yet: its first produce loads fresh metadata
	}
	deadline := time.Now().Add(r.f.adminTimeout)
	for {
		r.tgt.ForceMetadataRefresh()
		if l, _, _ := r.tgt.PartitionLeader(topic, n-1); l >= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remote topic %s: the producer did not see its %d partitions within %v", topic, n, r.f.adminTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// safeConfigs returns the source topic's configs that SyncConfigs copies:
// those in SafeTopicConfigs set on the topic itself (not broker defaults).
func safeConfigs(rcs kadm.ResourceConfigs, topic string) map[string]*string {
	out := map[string]*string{}
	for _, rc := range rcs {
		if rc.Name != topic || rc.Err != nil {
			continue
		}
		for _, cf := range rc.Configs {
			if cf.Value == nil || cf.Source != kmsg.ConfigSourceDynamicTopicConfig || !contains(SafeTopicConfigs, cf.Key) {
				continue
			}
			v := *cf.Value
			out[cf.Key] = &v
		}
	}
	return out
}

// syncConfigs sets the safe configs on the remote topic where they differ.
func (r *run) syncConfigs(ctx context.Context, remote string, want map[string]*string) error {
	rcs, err := r.tadm.DescribeTopicConfigs(ctx, remote)
	if err != nil {
		return fmt.Errorf("describe configs of %s in %s: %w", remote, r.cfg.Target, err)
	}
	have := map[string]string{}
	for _, rc := range rcs {
		for _, cf := range rc.Configs {
			if cf.Value != nil {
				have[cf.Key] = *cf.Value
			}
		}
	}
	var alter []kadm.AlterConfig
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := want[k]; have[k] != *v {
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: v})
		}
	}
	if len(alter) == 0 {
		return nil
	}
	resp, err := r.tadm.AlterTopicConfigs(ctx, alter, remote)
	if err == nil {
		for _, x := range resp {
			if x.Err != nil {
				err = x.Err
			}
		}
	}
	if err != nil {
		return fmt.Errorf("sync configs of %s in %s: %w", remote, r.cfg.Target, err)
	}
	return nil
}
