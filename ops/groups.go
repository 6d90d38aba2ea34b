package ops

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdeck/kdeck/ops/lag"
)

// listedGroup is a group as ListGroups v5 reports it, with its type.
type listedGroup struct {
	Group, State, ProtocolType, GroupType string
	Coordinator                           int32
}

// listGroupNames lists consumer groups (classic and KIP-848), one request per
// broker. Share and streams groups and Connect's worker groups are left out.
func (l *Local) listGroupNames(ctx context.Context, c *clusterClient) (map[string]listedGroup, error) {
	req := kmsg.NewPtrListGroupsRequest()
	shards := c.kgo.RequestSharded(ctx, req)
	out := map[string]listedGroup{}
	var firstErr error
	ok := 0
	for _, sh := range shards {
		if sh.Err != nil {
			if firstErr == nil {
				firstErr = sh.Err
			}
			continue
		}
		resp := sh.Resp.(*kmsg.ListGroupsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ok++
		for _, g := range resp.Groups {
			if g.GroupType == "share" || g.GroupType == "streams" {
				continue
			}
			if g.ProtocolType != "" && g.ProtocolType != "consumer" {
				continue
			}
			gt := g.GroupType
			if gt == "" {
				gt = "classic"
			}
			out[g.Group] = listedGroup{Group: g.Group, State: g.GroupState, ProtocolType: g.ProtocolType, GroupType: gt, Coordinator: sh.Meta.NodeID}
		}
	}
	if ok == 0 && firstErr != nil {
		return nil, l.err(c, firstErr)
	}
	return out, nil
}

// groupMembers describes groups, classic ones with DescribeGroups and
// KIP-848 ones with ConsumerGroupDescribe, batched per coordinator.
func (l *Local) groupMembers(ctx context.Context, c *clusterClient, listed map[string]listedGroup) (map[string][]GroupMember, map[string]string, error) {
	var classic, consumer []string
	for n, g := range listed {
		if g.GroupType == "consumer" {
			consumer = append(consumer, n)
		} else {
			classic = append(classic, n)
		}
	}
	members := map[string][]GroupMember{}
	states := map[string]string{}
	if len(classic) > 0 {
		dgs, err := c.adm.DescribeGroups(ctx, classic...)
		if err != nil && !isShardErr(err) {
			return nil, nil, l.err(c, err)
		}
		for n, dg := range dgs {
			if dg.Err != nil {
				continue
			}
			states[n] = dg.State
			for _, m := range dg.Members {
				gm := GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
				if m.InstanceID != nil {
					gm.InstanceID = *m.InstanceID
				}
				if ca, ok := m.Assigned.AsConsumer(); ok {
					for _, t := range ca.Topics {
						ps := append([]int32(nil), t.Partitions...)
						sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
						gm.Assigned = append(gm.Assigned, TopicScope{Topic: t.Topic, Partitions: ps})
					}
				}
				members[n] = append(members[n], gm)
			}
		}
	}
	if len(consumer) > 0 {
		dgs, err := l.describe848(ctx, c, consumer...)
		if err != nil {
			return nil, nil, err
		}
		for n, dg := range dgs {
			states[n] = dg.state
			members[n] = dg.members
		}
	}
	return members, states, nil
}

type described848 struct {
	state       string
	coordinator int32
	members     []GroupMember
}

// describe848 describes KIP-848 groups with ConsumerGroupDescribe, naming
// assigned topics from their ids when the broker leaves names out (kfake
// does; Apache Kafka fills both). Groups that are not KIP-848 groups, or do
// not exist, are left out of the result.
func (l *Local) describe848(ctx context.Context, c *clusterClient, groups ...string) (map[string]described848, error) {
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = groups
	shards := c.kgo.RequestSharded(ctx, req)
	out := map[string]described848{}
	var ids map[[16]byte]string
	name := func(id [16]byte, n string) string {
		if n != "" {
			return n
		}
		if ids == nil {
			ids = map[[16]byte]string{}
			if tds, err := c.adm.ListTopicsWithInternal(ctx); err == nil {
				for _, td := range tds {
					ids[td.ID] = td.Topic
				}
			}
		}
		return ids[id]
	}
	for _, sh := range shards {
		if sh.Err != nil {
			if len(shards) == 1 {
				return nil, l.err(c, sh.Err)
			}
			continue
		}
		for _, g := range sh.Resp.(*kmsg.ConsumerGroupDescribeResponse).Groups {
			if g.ErrorCode != 0 || g.State == "" || g.State == "Dead" {
				continue
			}
			d := described848{state: g.State, coordinator: sh.Meta.NodeID}
			for _, m := range g.Members {
				gm := GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
				if m.InstanceID != nil {
					gm.InstanceID = *m.InstanceID
				}
				for _, tp := range m.Assignment.TopicPartitions {
					ps := append([]int32(nil), tp.Partitions...)
					sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
					gm.Assigned = append(gm.Assigned, TopicScope{Topic: name(tp.TopicID, tp.Topic), Partitions: ps})
				}
				sort.Slice(gm.Assigned, func(i, j int) bool { return gm.Assigned[i].Topic < gm.Assigned[j].Topic })
				d.members = append(d.members, gm)
			}
			sort.Slice(d.members, func(i, j int) bool { return d.members[i].MemberID < d.members[j].MemberID })
			out[g.Group] = d
		}
	}
	return out, nil
}

// ListGroups implements Service. It costs one ListGroups per broker, one
// describe per coordinator and group type, one batched OffsetFetch per
// coordinator and one ListOffsets per partition leader, whatever the number
// of groups.
func (l *Local) ListGroups(ctx context.Context, cluster string) ([]GroupSummary, error) {
	c, err := l.client(cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	listed, err := l.listGroupNames(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(listed) == 0 {
		return []GroupSummary{}, nil
	}
	names := make([]string, 0, len(listed))
	for n := range listed {
		names = append(names, n)
	}
	sort.Strings(names)
	members, states, err := l.groupMembers(ctx, c, listed)
	if err != nil {
		return nil, err
	}
	fetched, ends, err := l.groupsOffsets(ctx, c, names)
	if err != nil {
		return nil, err
	}
	out := make([]GroupSummary, 0, len(names))
	observe, owners := l.observes(ctx), l.mirrorGroups()
	for _, n := range names {
		lg := listed[n]
		gs := GroupSummary{Group: n, State: lg.State, Protocol: lg.GroupType, Members: len(members[n]), TimeLagEstimate: -1}
		if s, ok := states[n]; ok && s != "" {
			gs.State = s
		}
		ts := map[string]struct{}{}
		var pts []lag.Observation
		if f, ok := fetched[n]; ok {
			if f.Err != nil {
				gs.Error = humanize(c.cfg.Name, c.cfg.Brokers, f.Err).Error()
			}
			f.Fetched.Each(func(o kadm.OffsetResponse) {
				if o.Err != nil || o.At < 0 {
					return
				}
				ts[o.Topic] = struct{}{}
				if e, ok := ends.Lookup(o.Topic, o.Partition); ok && e.Err == nil {
					pts = append(pts, lag.Observation{Partition: lag.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Committed: o.At, LogEndOffset: e.Offset})
					if e.Offset > o.At {
						gs.Lag += e.Offset - o.At
					}
				}
			})
		}
		if f, ok := fetched[n]; ok && f.Err == nil && observe {
			l.observe(c.cfg.Name, n, gs.Members > 0, pts)
		}
		for _, m := range members[n] {
			for _, a := range m.Assigned {
				ts[a.Topic] = struct{}{}
			}
		}
		for t := range ts {
			gs.Topics = append(gs.Topics, t)
		}
		sort.Strings(gs.Topics)
		l.decorateSummary(c.cfg.Name, &gs)
		markOwner(owners, c.cfg.Name, &gs)
		out = append(out, gs)
	}
	return out, nil
}

// groupsOffsets fetches the committed offsets of the groups (one batched
// OffsetFetch per coordinator) and the log end offsets of every topic they
// committed on (one ListOffsets per leader). A partition whose leader did
// not answer has no end offset; that is not an error.
func (l *Local) groupsOffsets(ctx context.Context, c *clusterClient, names []string) (kadm.FetchOffsetsResponses, kadm.ListedOffsets, error) {
	fetched := c.adm.FetchManyOffsets(ctx, names...)
	topicSet := map[string]struct{}{}
	for _, f := range fetched {
		f.Fetched.Each(func(o kadm.OffsetResponse) { topicSet[o.Topic] = struct{}{} })
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	var ends kadm.ListedOffsets
	if len(topics) > 0 {
		var err error
		ends, err = c.adm.ListEndOffsets(ctx, topics...)
		if err != nil && !isShardErr(err) {
			return nil, nil, l.err(c, err)
		}
	}
	return fetched, ends, nil
}

// DescribeGroup implements Service.
func (l *Local) DescribeGroup(ctx context.Context, cluster, group string) (GroupDetail, error) {
	c, err := l.client(cluster)
	if err != nil {
		return GroupDetail{}, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	d, err := l.describeGroup(ctx, c, group, true)
	if err != nil {
		return GroupDetail{}, err
	}
	l.observeDetail(c.cfg.Name, &d, l.observes(ctx))
	l.decorateSummary(c.cfg.Name, &d.GroupSummary)
	if markOwner(l.mirrorGroups(), c.cfg.Name, &d.GroupSummary); d.Owner != "" {
		for i := range d.Offsets {
			d.Offsets[i].Status = ""
		}
	}
	d.LagHistory = l.lagHistory(c.cfg.Name, group)
	return d, nil
}

// describeGroup gathers a group's members and offsets; timeLag also reads
// the next record of each lagging partition for its timestamp.
func (l *Local) describeGroup(ctx context.Context, c *clusterClient, group string, timeLag bool) (GroupDetail, error) {
	d := GroupDetail{GroupSummary: GroupSummary{Group: group, TimeLagEstimate: -1}, Coordinator: -1}
	found, err := l.describeMembers(ctx, c, &d)
	if err != nil {
		return d, err
	}
	offs, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) {
			offs = kadm.OffsetResponses{}
		} else {
			return d, l.err(c, err)
		}
	}
	committed := 0
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At >= 0 {
			committed++
		}
	})
	if !found && committed == 0 {
		return d, notFoundf(ErrGroupNotFound, "group %q not found on cluster %q; list groups with 'kdeck groups'", group, c.cfg.Name)
	}
	if d.State == "Dead" || d.State == "" {
		d.State = "Empty"
	}
	d.Members = len(d.MemberList)
	if err := l.describeOffsets(ctx, c, &d, groupRows(offs, d.MemberList)); err != nil {
		return d, err
	}
	if timeLag {
		l.fillTimeLag(ctx, c, d.Offsets)
	}
	return d, nil
}

// describeMembers sets d's protocol, state, coordinator and members, from
// ConsumerGroupDescribe for a KIP-848 group, else from the classic
// describe. found is false when the coordinator knows no live group.
func (l *Local) describeMembers(ctx context.Context, c *clusterClient, d *GroupDetail) (found bool, err error) {
	group := d.Group
	// KIP-848 first: kfake answers the classic describe of a KIP-848 group
	// as Stable, Apache Kafka as Dead; ConsumerGroupDescribe is exact.
	if cgs, err := l.describe848(ctx, c, group); err == nil {
		if cg, ok := cgs[group]; ok {
			d.Protocol, d.State, d.Coordinator, d.MemberList = "consumer", cg.state, cg.coordinator, cg.members
			return true, nil
		}
	}
	dgs, err := c.adm.DescribeGroups(ctx, group)
	if err != nil && !isShardErr(err) {
		return false, l.err(c, err)
	}
	if dg, ok := dgs[group]; ok && dg.Err == nil {
		d.Protocol, d.State, d.Coordinator = "classic", dg.State, dg.Coordinator.NodeID
		if dg.ProtocolType != "" && dg.ProtocolType != "consumer" {
			d.Protocol = dg.ProtocolType
		}
		if dg.State != "Dead" && dg.State != "" {
			found = true
		}
		mems, _, err := l.groupMembers(ctx, c, map[string]listedGroup{group: {Group: group, GroupType: "classic"}})
		if err != nil {
			return found, err
		}
		d.MemberList = mems[group]
	}
	return found, nil
}

// groupRows returns a row for every committed partition and every assigned
// one, with the member it is assigned to.
func groupRows(offs kadm.OffsetResponses, members []GroupMember) map[topicPart]*PartitionOffset {
	rows := map[topicPart]*PartitionOffset{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			rows[topicPart{o.Topic, o.Partition}] = &PartitionOffset{Topic: o.Topic, Partition: o.Partition, Committed: -1, Error: o.Err.Error()}
			return
		}
		rows[topicPart{o.Topic, o.Partition}] = &PartitionOffset{Topic: o.Topic, Partition: o.Partition, Committed: o.At}
	})
	for _, m := range members {
		for _, a := range m.Assigned {
			for _, p := range a.Partitions {
				r, ok := rows[topicPart{a.Topic, p}]
				if !ok {
					r = &PartitionOffset{Topic: a.Topic, Partition: p, Committed: -1}
					rows[topicPart{a.Topic, p}] = r
				}
				r.MemberID, r.ClientID, r.Host = m.MemberID, m.ClientID, m.Host
			}
		}
	}
	return rows
}

// describeOffsets sets d's topics, offsets (sorted by topic and partition,
// with log start and end offsets and lag) and total lag from rows.
func (l *Local) describeOffsets(ctx context.Context, c *clusterClient, d *GroupDetail, rows map[topicPart]*PartitionOffset) error {
	topicSet := map[string]struct{}{}
	for k := range rows {
		topicSet[k.topic] = struct{}{}
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	d.Topics = topics
	starts, ends, err := l.watermarks(ctx, c, topics...)
	if err != nil {
		return err
	}
	for k, r := range rows {
		r.LogStartOffset, r.LogEndOffset = -1, -1
		if s, ok := starts.Lookup(k.topic, k.partition); ok && s.Err == nil {
			r.LogStartOffset = s.Offset
		}
		if e, ok := ends.Lookup(k.topic, k.partition); ok && e.Err == nil {
			r.LogEndOffset = e.Offset
		}
		if r.Committed >= 0 && r.LogEndOffset > r.Committed {
			r.Lag = r.LogEndOffset - r.Committed
		}
		d.Lag += r.Lag
	}
	d.Offsets = make([]PartitionOffset, 0, len(rows))
	for _, r := range rows {
		d.Offsets = append(d.Offsets, *r)
	}
	sort.Slice(d.Offsets, func(i, j int) bool {
		if d.Offsets[i].Topic != d.Offsets[j].Topic {
			return d.Offsets[i].Topic < d.Offsets[j].Topic
		}
		return d.Offsets[i].Partition < d.Offsets[j].Partition
	})
	return nil
}

// fillTimeLag sets TimeLag on lagging partitions from the timestamp of the
// next record the group would read, fetched in one consumer session.
func (l *Local) fillTimeLag(ctx context.Context, c *clusterClient, rows []PartitionOffset) {
	want := map[string]map[int32]kgo.Offset{}
	idx := map[string]map[int32]int{}
	n := 0
	for i, r := range rows {
		if r.Lag <= 0 {
			continue
		}
		at := r.Committed
		if at < r.LogStartOffset {
			at = r.LogStartOffset
		}
		if want[r.Topic] == nil {
			want[r.Topic] = map[int32]kgo.Offset{}
			idx[r.Topic] = map[int32]int{}
		}
		want[r.Topic][r.Partition] = kgo.NewOffset().At(at)
		idx[r.Topic][r.Partition] = i
		n++
	}
	if n == 0 {
		return
	}
	opts, err := ClientOpts(c.cfg, nil)
	if err != nil {
		return
	}
	opts = append(opts, kgo.ConsumePartitions(want), kgo.FetchMaxPartitionBytes(64<<10), kgo.FetchMaxBytes(4<<20), kgo.FetchMaxWait(200*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	now := l.now()
	for n > 0 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			i, ok := idx[p.Topic][p.Partition]
			if !ok {
				return
			}
			delete(idx[p.Topic], p.Partition)
			cl.PauseFetchPartitions(map[string][]int32{p.Topic: {p.Partition}})
			n--
			lag := now.Sub(p.Records[0].Timestamp).Seconds()
			if lag < 0 {
				lag = 0
			}
			rows[i].TimeLag = lag
		})
	}
}
