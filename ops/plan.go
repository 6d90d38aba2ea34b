package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kdeck/kdeck/ops/plan"
)

// topicPart keys per-partition maps.
type topicPart struct {
	topic     string
	partition int32
}

func (k topicPart) String() string { return fmt.Sprintf("%s/%d", k.topic, k.partition) }

// ResetRequest asks PlanReset for a plan.
type ResetRequest struct {
	Cluster string
	Group   string
	// Scope is the topics (and partitions) to reset; AllTopics instead
	// takes every topic the group has committed offsets for.
	Scope     []TopicScope
	AllTopics bool
	Mode      ResetMode
	// Offset is the target for ResetToOffset and the delta for ResetShiftBy.
	Offset int64
	// Time is the instant for ResetToDatetime (and the computed one for
	// ResetByDuration, relative to now).
	Time time.Time
	// Duration is how far back ResetByDuration goes.
	Duration time.Duration
	// FromGroup is the source group for ResetToGroup.
	FromGroup string
	// FileOffsets are the rows of a CSV plan for ResetFromFile.
	FileOffsets []FileOffset
	// TargetGroup, when set, writes the offsets to this group instead of
	// Group (replay "as a new application group"); Group is left untouched.
	TargetGroup string
	// TargetGiven says a target group was given (replay --as), so an
	// empty TargetGroup is refused rather than read as "the group itself".
	TargetGiven bool
	// Command is the command line that asked, for the audit log.
	Command string
}

// validateReset checks a request before any network call.
func validateReset(req *ResetRequest) error {
	if err := validateResetGroups(req); err != nil {
		return err
	}
	if err := validateResetMode(req); err != nil {
		return err
	}
	if err := validateResetScope(req); err != nil {
		return err
	}
	if req.TargetGroup != "" && req.TargetGroup == req.Group {
		req.TargetGroup = ""
	}
	return nil
}

// validateResetGroups checks the group, the replay's target group and the
// source group of --to-group.
func validateResetGroups(req *ResetRequest) error {
	if strings.TrimSpace(req.Group) == "" {
		return invalidf("no group given: name the consumer group to reset")
	}
	if err := validName("group", req.Group); err != nil {
		return invalidf("%v", err)
	}
	if req.TargetGroup != "" || req.TargetGiven {
		if err := validName("target group (--as)", req.TargetGroup); err != nil {
			return invalidf("%v; the replay would otherwise rewind group %q itself", err, req.Group)
		}
	}
	if req.FromGroup != "" {
		if err := validName("source group (--to-group)", req.FromGroup); err != nil {
			return invalidf("%v", err)
		}
	}
	return nil
}

// validateResetMode checks that the mode is known and that what it needs
// (a file, a source group, topics) is given.
func validateResetMode(req *ResetRequest) error {
	known := false
	for _, m := range plan.Modes {
		known = known || m == req.Mode
	}
	if !known {
		if req.Mode == "" {
			return invalidf("no reset mode given: use exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --by-duration, --to-group or --from-file")
		}
		return invalidf("reset mode %q is unknown", req.Mode)
	}
	switch req.Mode {
	case ResetFromFile:
		if len(req.Scope) > 0 || req.AllTopics {
			return invalidf("--from-file takes its partitions from the file: drop --topic and --all-topics")
		}
		if len(req.FileOffsets) == 0 {
			return invalidf("the offsets file has no rows")
		}
	case ResetToGroup:
		if req.FromGroup == "" {
			return invalidf("--to-group needs the group to copy offsets from")
		}
		if req.FromGroup == req.Group && req.TargetGroup == "" {
			return invalidf("--to-group names the group being reset: copy from another group")
		}
	default:
		if len(req.Scope) == 0 && !req.AllTopics {
			return invalidf("no topics given: use --topic T (repeatable, T:0,2,5 for some partitions) or --all-topics")
		}
	}
	return nil
}

// validateResetScope checks the topics and partitions, and the mode's
// argument (offset, time, duration).
func validateResetScope(req *ResetRequest) error {
	if len(req.Scope) > 0 && req.AllTopics {
		return invalidf("--topic and --all-topics exclude each other: use one")
	}
	for _, s := range req.Scope {
		if s.Topic == "" {
			return invalidf("an empty topic name was given to --topic")
		}
		if err := validName("topic", s.Topic); err != nil {
			return invalidf("--topic: %v", err)
		}
		for _, p := range s.Partitions {
			if p < 0 {
				return invalidf("partition %d of topic %q is negative", p, s.Topic)
			}
		}
	}
	switch req.Mode {
	case ResetToOffset:
		if req.Offset < 0 {
			return invalidf("--to-offset %d is negative: give an offset of 0 or more", req.Offset)
		}
	case ResetToDatetime:
		if req.Time.IsZero() {
			return invalidf("--to-datetime needs a time")
		}
	case ResetByDuration:
		if req.Duration <= 0 {
			return invalidf("--by-duration needs a positive duration such as PT15M or 90m")
		}
	}
	return nil
}

// committed returns a group's committed offsets, keyed by partition; a
// group that does not exist has none.
func (l *Local) committed(ctx context.Context, c *clusterClient, group string) (map[topicPart]OffsetValue, error) {
	resp, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) {
			return map[topicPart]OffsetValue{}, nil
		}
		return nil, l.err(c, err)
	}
	out := make(map[topicPart]OffsetValue)
	var perr error
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			if perr == nil {
				perr = fmt.Errorf("cannot read the committed offset of group %q on %s/%d: %w", group, o.Topic, o.Partition, o.Err)
			}
			return
		}
		if o.At < 0 {
			return
		}
		out[topicPart{o.Topic, o.Partition}] = OffsetValue{Topic: o.Topic, Partition: o.Partition, Offset: o.At, LeaderEpoch: o.LeaderEpoch, Metadata: o.Metadata}
	})
	if perr != nil {
		return nil, l.err(c, perr)
	}
	return out, nil
}

// activeMembers returns the members of a group (classic or KIP-848); none
// when the group is empty or does not exist.
func (l *Local) activeMembers(ctx context.Context, c *clusterClient, group string) ([]GroupMember, error) {
	if cgs, err := l.describe848(ctx, c, group); err == nil {
		if cg, ok := cgs[group]; ok {
			return cg.members, nil
		}
	}
	dgs, err := c.adm.DescribeGroups(ctx, group)
	if err != nil && !isShardErr(err) {
		return nil, l.err(c, err)
	}
	dg, ok := dgs[group]
	if !ok || dg.Err != nil {
		return nil, nil
	}
	var out []GroupMember
	for _, m := range dg.Members {
		out = append(out, GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost})
	}
	return out, nil
}

// refuseActive returns an *ActiveGroupError when group has members.
func (l *Local) refuseActive(ctx context.Context, c *clusterClient, group string) error {
	ms, err := l.activeMembers(ctx, c, group)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		return &ActiveGroupError{Cluster: c.cfg.Name, Group: group, Members: ms}
	}
	return nil
}

// PlanReset implements Service. It costs a describe and an OffsetFetch of
// the group (and of the source group for replays and --to-group), one
// ListOffsets for log start offsets, one for log end offsets and, for a
// datetime or duration, one by time, whatever the number of partitions.
// It refuses (ErrGroupActive) a target group with members.
func (l *Local) PlanReset(ctx context.Context, req ResetRequest) (*Plan, error) {
	if err := validateReset(&req); err != nil {
		return nil, err
	}
	c, err := l.client(req.Cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()

	target := req.Group
	if req.TargetGroup != "" {
		target = req.TargetGroup
	}
	if err := l.refuseActive(ctx, c, target); err != nil {
		return nil, err
	}
	st, err := l.resetCommitted(ctx, c, req, target)
	if err != nil {
		return nil, err
	}
	keys, topics, err := st.listedKeys(req, c.cfg.Name)
	if err != nil {
		return nil, err
	}
	if st.starts, st.ends, err = l.watermarks(ctx, c, topics...); err != nil {
		return nil, err
	}
	if keys, err = st.scopeKeys(req, keys, topics, c.cfg.Name); err != nil {
		return nil, err
	}

	plan := &Plan{Kind: PlanReset, Cluster: c.cfg.Name, Group: target, Mode: req.Mode, Created: l.now().UTC(), Command: req.Command}
	if target != req.Group {
		plan.SourceGroup = req.Group
	}
	if req.Mode == ResetToGroup {
		plan.SourceGroup = req.FromGroup
	}
	switch req.Mode {
	case ResetToDatetime, ResetByDuration:
		at := req.Time
		if req.Mode == ResetByDuration {
			at = l.now().Add(-req.Duration)
		}
		at = at.UTC()
		plan.Instant = &at
		st.byTime, err = c.adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), topics...)
		if err != nil && !isShardErr(err) {
			return nil, l.err(c, err)
		}
	}

	var noCommit []string
	for _, k := range keys {
		row, ok, err := st.row(req, k, plan.Instant)
		if err != nil {
			return nil, l.err(c, err)
		}
		if !ok {
			noCommit = append(noCommit, k.String())
			continue
		}
		plan.Rows = append(plan.Rows, row)
	}
	if len(noCommit) > 0 {
		return nil, refusedf("--shift-by moves a committed offset, and group %q has none on %s; reset those partitions with --to-offset, --to-earliest or --to-datetime instead", req.Group, strings.Join(noCommit, ", "))
	}
	plan.Finish()
	return plan, nil
}

// resetState is what PlanReset reads before it computes the rows.
type resetState struct {
	cur    map[topicPart]OffsetValue // the target group's commits
	src    map[topicPart]OffsetValue // the group the request names (cur unless --to-group differs)
	from   map[topicPart]OffsetValue // ResetToGroup: the group copied from
	fileAt map[topicPart]int64       // ResetFromFile: the file's offsets
	// explicit holds the partitions named by the user: they must exist.
	explicit     map[topicPart]bool
	starts, ends kadm.ListedOffsets
	byTime       kadm.ListedOffsets // ResetToDatetime, ResetByDuration
}

// resetCommitted reads the committed offsets a reset starts from.
func (l *Local) resetCommitted(ctx context.Context, c *clusterClient, req ResetRequest, target string) (*resetState, error) {
	st := &resetState{fileAt: map[topicPart]int64{}, explicit: map[topicPart]bool{}}
	var err error
	if st.cur, err = l.committed(ctx, c, target); err != nil {
		return nil, err
	}
	st.src = st.cur
	if target != req.Group {
		if st.src, err = l.committed(ctx, c, req.Group); err != nil {
			return nil, err
		}
	}
	if req.Mode == ResetToGroup {
		if st.from, err = l.committed(ctx, c, req.FromGroup); err != nil {
			return nil, err
		}
		if len(st.from) == 0 {
			return nil, notFoundf(ErrGroupNotFound, "group %q has no committed offsets on cluster %q to copy", req.FromGroup, c.cfg.Name)
		}
	}
	return st, nil
}

// listedKeys returns the partitions an offsets file or --all-topics lists,
// in the order they will be shown, and every topic the request touches,
// sorted.
func (st *resetState) listedKeys(req ResetRequest, cluster string) ([]topicPart, []string, error) {
	var keys []topicPart
	switch {
	case req.Mode == ResetFromFile:
		for _, fo := range req.FileOffsets {
			if fo.Group != "" && fo.Group != req.Group {
				continue
			}
			k := topicPart{fo.Topic, fo.Partition}
			if _, dup := st.fileAt[k]; !dup {
				keys = append(keys, k)
			}
			st.fileAt[k] = fo.Offset
			st.explicit[k] = true
		}
		if len(keys) == 0 {
			return nil, nil, invalidf("the offsets file has no rows for group %q", req.Group)
		}
	case req.AllTopics:
		base := st.src
		if req.Mode == ResetToGroup {
			base = st.from
		}
		for k := range base {
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, nil, invalidf("group %q has no committed offsets on cluster %q, so --all-topics selects nothing: name topics with --topic", req.Group, cluster)
		}
	}
	topicSet := map[string]bool{}
	for _, k := range keys {
		topicSet[k.topic] = true
	}
	for _, s := range req.Scope {
		topicSet[s.Topic] = true
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return keys, topics, nil
}

// scopeKeys checks that the topics exist, adds the partitions --topic
// names (all of a topic's when it names none) to keys and returns them
// sorted; a named partition that does not exist is an error.
func (st *resetState) scopeKeys(req ResetRequest, keys []topicPart, topics []string, cluster string) ([]topicPart, error) {
	for _, t := range topics {
		if le, ok := st.starts[t][-1]; ok && le.Err != nil {
			if req.AllTopics {
				continue // a committed topic deleted since: its rows say so
			}
			return nil, invalidf("topic %q does not exist on cluster %q; list topics with 'kdeck topics'", t, cluster)
		}
	}
	seen := map[topicPart]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	for _, s := range req.Scope {
		if len(s.Partitions) == 0 {
			for p := range st.starts[s.Topic] {
				if k := (topicPart{s.Topic, p}); p >= 0 && !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
			continue
		}
		for _, p := range s.Partitions {
			k := topicPart{s.Topic, p}
			st.explicit[k] = true
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	keys = sortedKeys(keys)
	for _, k := range keys {
		if _, ok := st.starts.Lookup(k.topic, k.partition); !ok && st.explicit[k] {
			return nil, invalidf("topic %q has no partition %d on cluster %q (it has %d)", k.topic, k.partition, cluster, countPartitions(st.starts, k.topic))
		}
	}
	return keys, nil
}

// row computes the plan row of partition k. ok is false for --shift-by on
// a partition without a commit (the caller refuses the plan).
func (st *resetState) row(req ResetRequest, k topicPart, instant *time.Time) (row PlanRow, ok bool, err error) {
	row = PlanRow{Topic: k.topic, Partition: k.partition, Current: -1, New: -1, LogStartOffset: -1, LogEndOffset: -1}
	if v, ok := st.cur[k]; ok {
		row.Current = v.Offset
	}
	s, sok := st.starts.Lookup(k.topic, k.partition)
	e, eok := st.ends.Lookup(k.topic, k.partition)
	if !sok || !eok {
		row.New, row.Note = row.Current, "partition no longer exists: unchanged"
		return row, true, nil
	}
	if s.Err != nil || e.Err != nil {
		return row, false, fmt.Errorf("cannot read the log offsets of %s: %w", k, errors.Join(s.Err, e.Err))
	}
	row.LogStartOffset, row.LogEndOffset = s.Offset, e.Offset
	want := int64(-1)
	var notes []string
	switch req.Mode {
	case ResetToEarliest:
		want = s.Offset
	case ResetToLatest:
		want = e.Offset
	case ResetToCurrent:
		if v, ok := st.src[k]; ok {
			want = v.Offset
		} else {
			want = e.Offset
			notes = append(notes, "no commit: log end")
		}
	case ResetToOffset:
		want = req.Offset
	case ResetShiftBy:
		v, ok := st.src[k]
		if !ok {
			return row, false, nil
		}
		want = addOffset(v.Offset, req.Offset)
	case ResetToDatetime, ResetByDuration:
		o, ok := st.byTime.Lookup(k.topic, k.partition)
		if !ok || o.Err != nil || o.Offset < 0 || o.Offset >= e.Offset {
			want = e.Offset
			notes = append(notes, "no record at or after "+instant.Format(time.RFC3339Nano)+": log end")
		} else {
			want = o.Offset
		}
	case ResetToGroup:
		v, ok := st.from[k]
		if !ok {
			row.New, row.Note = row.Current, fmt.Sprintf("group %q has no commit here: unchanged", req.FromGroup)
			return row, true, nil
		}
		want = v.Offset
	case ResetFromFile:
		want = st.fileAt[k]
	}
	switch {
	case want < s.Offset:
		notes = append(notes, fmt.Sprintf("clamped to log start %d (asked %d)", s.Offset, want))
		want = s.Offset
	case want > e.Offset:
		notes = append(notes, fmt.Sprintf("clamped to log end %d (asked %d)", e.Offset, want))
		want = e.Offset
	}
	row.New = want
	row.Note = strings.Join(notes, "; ")
	return row, true, nil
}

func sortedKeys(keys []topicPart) []topicPart {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].topic != keys[j].topic {
			return keys[i].topic < keys[j].topic
		}
		return keys[i].partition < keys[j].partition
	})
	return keys
}

func countPartitions(l kadm.ListedOffsets, topic string) int {
	n := 0
	for p := range l[topic] {
		if p >= 0 {
			n++
		}
	}
	return n
}
