package ops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// HoldClientID is the client id of the group member kdeck adds to a group
// while it executes a plan on it: another kdeck (or any consumer) sees the
// group as active meanwhile, and Kafka's group coordinator rejects every
// other commit to it.
const HoldClientID = "kdeck-execute"

// holdProtocol is the assignment protocol the holding member declares; its
// subscription is empty, so OffsetDelete stays allowed while it holds.
const holdProtocol = "kdeck-hold"

// holdUserData starts the user data of a holding member's metadata, so the
// leader of a generation can tell executes from consumers.
const holdUserData = "kdeck execute"

// Timeouts of a hold: it lasts one commit, so a crashed kdeck frees the
// group after the session timeout.
const (
	holdSessionTimeout   = 10 * time.Second
	holdRebalanceTimeout = 5 * time.Second
)

// errHoldConflict reports that another member joined the group while kdeck
// was taking it: another execute at the same moment.
var errHoldConflict = errors.New("another member joined while kdeck was taking the group")

// groupHold is kdeck's membership of a group for the length of one execute.
// While a classic member holds, the coordinator accepts commits only from it
// (with its generation), and a second executor's JoinGroup waits until it
// leaves, so the second one then sees the first one's commits as a moved
// group. A KIP-848 group is held by a KIP-848 member, which commits only
// while it is the group's only member.
type groupHold struct {
	cl         *kgo.Client
	group      string
	memberID   string
	generation int32 // the classic generation, or the KIP-848 member epoch
	kip848     bool
}

// holdGroup joins group to hold it, or returns an error matching
// ErrGroupActive when another execute holds it or joined at the same moment
// and won. The caller must release the hold.
func (l *Local) holdGroup(ctx context.Context, c *clusterClient, group string) (*groupHold, error) {
	opts, err := ClientOpts(c.cfg, l.log)
	if err != nil {
		return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
	}
	cl, err := kgo.NewClient(append(opts, kgo.ClientID(HoldClientID))...)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", c.cfg.Name, err)
	}
	h := &groupHold{cl: cl, group: group}
	// A KIP-848 group is held by a KIP-848 member (kfake does not convert
	// an empty consumer group to classic on a classic join, as Kafka does).
	if d, err := l.describe848(ctx, c, group); err == nil {
		if _, ok := d[group]; ok {
			h.kip848 = true
			if err := h.join848(ctx, l, c); err != nil {
				h.release()
				return nil, err
			}
			return h, nil
		}
	}
	if err := h.holdClassic(ctx, l, c); err != nil {
		h.release()
		return nil, err
	}
	return h, nil
}

// holdClassic joins the classic group with kdeck's hold protocol and syncs;
// it returns a conflict (ErrGroupActive) when another member joined. The
// caller releases the hold on an error.
func (h *groupHold) holdClassic(ctx context.Context, l *Local, c *clusterClient) error {
	group := h.group
	meta := kmsg.NewConsumerMemberMetadata()
	meta.UserData = []byte(fmt.Sprintf("%s, pid %d on %s", holdUserData, os.Getpid(), procHost))
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = group
	join.SessionTimeoutMillis = int32(holdSessionTimeout.Milliseconds())
	join.RebalanceTimeoutMillis = int32(holdRebalanceTimeout.Milliseconds())
	join.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = holdProtocol, meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, p)
	var resp *kmsg.JoinGroupResponse
	var err error
	for range 3 {
		join.MemberID = h.memberID
		resp, err = join.RequestWith(ctx, h.cl)
		if err != nil {
			return l.err(c, err)
		}
		h.memberID = resp.MemberID
		if kerr.ErrorForCode(resp.ErrorCode) != kerr.MemberIDRequired {
			break
		}
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if errors.Is(err, kerr.InconsistentGroupProtocol) || errors.Is(err, kerr.RebalanceInProgress) {
			return holdConflict(c.cfg.Name, group, err)
		}
		return l.err(c, fmt.Errorf("joining group %q to hold it while committing: %w", group, err))
	}
	h.generation = resp.Generation
	// Every member of this generation declared kdeck's hold protocol (the
	// coordinator admits no other protocol next to it), so all are
	// executes. Only the leader commits: it would be wrong for two members
	// of one generation to commit, since both passed the moved check on
	// the same view. A non-leader first syncs (waiting for the leader's
	// assignment, so the leader gets a stable generation), then leaves and
	// reports the conflict.
	leader := resp.LeaderID == h.memberID
	if leader {
		for _, m := range resp.Members {
			var meta kmsg.ConsumerMemberMetadata
			if m.MemberID != h.memberID && (meta.ReadFrom(m.ProtocolMetadata) != nil || !strings.HasPrefix(string(meta.UserData), holdUserData)) {
				return holdConflict(c.cfg.Name, group, errHoldConflict)
			}
		}
	}
	return h.syncClassic(ctx, l, c, resp.Members, leader)
}

// syncClassic syncs the joined generation (the leader assigns every member
// nothing); a non-leader reports the conflict after syncing.
func (h *groupHold) syncClassic(ctx context.Context, l *Local, c *clusterClient, members []kmsg.JoinGroupResponseMember, leader bool) error {
	group := h.group
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = group, h.memberID, h.generation
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr(holdProtocol)
	if leader {
		for _, m := range members {
			a := kmsg.NewSyncGroupRequestGroupAssignment()
			a.MemberID = m.MemberID
			asg := kmsg.NewConsumerMemberAssignment()
			a.MemberAssignment = asg.AppendTo(nil)
			sync.GroupAssignment = append(sync.GroupAssignment, a)
		}
	}
	sresp, err := sync.RequestWith(ctx, h.cl)
	if err == nil {
		err = kerr.ErrorForCode(sresp.ErrorCode)
	}
	if err == nil && !leader {
		err = errHoldConflict
	}
	if err != nil {
		if errors.Is(err, errHoldConflict) || errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) {
			return holdConflict(c.cfg.Name, group, err)
		}
		return l.err(c, fmt.Errorf("syncing group %q to hold it while committing: %w", group, err))
	}
	return nil
}

func holdConflict(cluster, group string, cause error) error {
	return &wrapped{msg: fmt.Sprintf("another client joined group %q on cluster %q while kdeck was taking it to commit (%v): probably another execute at the same moment; nothing was changed: check the group and make a new plan", group, cluster, cause), err: ErrGroupActive}
}

// commit writes offsets as the holding member, with its generation, and
// returns the per-partition errors (nil for a partition that committed).
func (h *groupHold) commit(ctx context.Context, c *clusterClient, offs map[topicPart]OffsetValue) (map[topicPart]error, error) {
	// OffsetCommit v10+ names topics by id.
	names := map[string]bool{}
	for k := range offs {
		names[k.topic] = true
	}
	list := make([]string, 0, len(names))
	for t := range names {
		list = append(list, t)
	}
	td, err := c.adm.ListTopics(ctx, list...)
	if err != nil {
		return nil, err
	}
	id2name := map[[16]byte]string{}
	for t, d := range td {
		id2name[[16]byte(d.ID)] = t
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = h.group, h.memberID, h.generation
	byTopic := map[string][]OffsetValue{}
	for _, o := range offs {
		byTopic[o.Topic] = append(byTopic[o.Topic], o)
	}
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = t, [16]byte(td[t].ID)
		for _, o := range byTopic[t] {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
			if o.Metadata != "" {
				rp.Metadata = kmsg.StringPtr(o.Metadata)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, h.cl)
	if err != nil {
		return nil, err
	}
	out := map[topicPart]error{}
	for _, t := range resp.Topics {
		topic := t.Topic
		if topic == "" {
			topic = id2name[t.TopicID]
		}
		for _, p := range t.Partitions {
			out[topicPart{topic, p.Partition}] = kerr.ErrorForCode(p.ErrorCode)
		}
	}
	for k := range offs {
		if _, ok := out[k]; !ok {
			out[k] = fmt.Errorf("the broker did not answer for %s", k)
		}
	}
	return out, nil
}

// join848 joins a KIP-848 group as a member subscribed to nothing, then
// checks it is the only member: with KIP-848 there is no join barrier, but
// each executor joins before it looks, so of two at the same moment at least
// the second sees the first (and both may back off).
func (h *groupHold) join848(ctx context.Context, l *Local, c *clusterClient) error {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = h.group, newMemberID(), 0
	req.RebalanceTimeoutMillis = int32(holdRebalanceTimeout.Milliseconds())
	req.SubscribedTopicNames, req.Topics = []string{}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp, err := req.RequestWith(ctx, h.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return l.err(c, fmt.Errorf("joining group %q to hold it while committing: %w", h.group, err))
	}
	h.memberID, h.generation = req.MemberID, resp.MemberEpoch
	if resp.MemberID != nil && *resp.MemberID != "" {
		h.memberID = *resp.MemberID
	}
	// With KIP-848 there is no join barrier, so a hold commits only when
	// it is the group's only member: each execute joins before it looks,
	// so of two at the same moment at least the later one sees the
	// earlier (and often both see each other and back off: safe, if
	// unlucky). Member epochs cannot order them: Apache Kafka gives
	// members without partitions equal epochs.
	d, err := l.describe848(ctx, c, h.group)
	if err != nil {
		return err
	}
	if ms := d[h.group].members; len(ms) != 1 || ms[0].MemberID != h.memberID {
		return holdConflict(c.cfg.Name, h.group, errHoldConflict)
	}
	return nil
}

// newMemberID returns a KIP-848 member id (a random UUID, as clients make).
func newMemberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// release leaves the group and closes the hold's client.
func (h *groupHold) release() {
	if h == nil || h.cl == nil {
		return
	}
	if h.kip848 && h.memberID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), holdSessionTimeout)
		leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		leave.Group, leave.MemberID, leave.MemberEpoch = h.group, h.memberID, -1
		_, _ = leave.RequestWith(ctx, h.cl)
		cancel()
	} else if h.memberID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), holdSessionTimeout)
		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Group, leave.MemberID = h.group, h.memberID
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = h.memberID
		m.Reason = kmsg.StringPtr("kdeck execute done")
		leave.Members = append(leave.Members, m)
		_, _ = leave.RequestWith(ctx, h.cl)
		cancel()
	}
	h.cl.Close()
	h.cl = nil
}

// isHold reports whether every member of an active group is a kdeck hold.
func isHold(ms []GroupMember) bool {
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if !strings.HasPrefix(m.ClientID, HoldClientID) {
			return false
		}
	}
	return true
}
