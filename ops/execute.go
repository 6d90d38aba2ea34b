package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Audit actions of offset operations.
const (
	ActionOffsetsReset  = "offsets.reset"
	ActionOffsetsUndo   = "offsets.undo"
	ActionOffsetsDelete = "offsets.delete"
	ActionGroupsDelete  = "groups.delete"
)

func actionFor(k PlanKind) (action, what string, err error) {
	switch k {
	case PlanReset:
		return ActionOffsetsReset, "reset offsets", nil
	case PlanUndo:
		return ActionOffsetsUndo, "undo an offsets change", nil
	case PlanDeleteOffsets:
		return ActionOffsetsDelete, "delete offsets", nil
	case PlanDeleteGroup:
		return ActionGroupsDelete, "delete a group", nil
	}
	return "", "", invalidf("plan kind %q is unknown", k)
}

// ExecutePlan implements Service. It refuses in read-only mode
// (ErrReadOnly), when the group has members (*ActiveGroupError) and when a
// committed offset of a row differs from the one the plan saw
// (ErrGroupMoved). Then it writes every changed offset with one batched
// OffsetCommit (plus one OffsetDelete for commits to remove, or one
// DeleteGroups), and appends an audit entry with the offsets before and
// after, whatever the outcome. Per-partition failures are reported together.
func (l *Local) ExecutePlan(ctx context.Context, plan *Plan) (AuditEntry, error) {
	if plan == nil {
		return AuditEntry{}, invalidf("no plan to execute")
	}
	action, what, err := actionFor(plan.Kind)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := l.checkWritable(ctx, what); err != nil {
		return AuditEntry{}, err
	}
	if plan.Group == "" {
		return AuditEntry{}, invalidf("the plan names no group")
	}
	c, err := l.client(plan.Cluster)
	if err != nil {
		return AuditEntry{}, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	if err := l.refuseActive(ctx, c, plan.Group); err != nil {
		return AuditEntry{}, err
	}
	cur, err := l.committed(ctx, c, plan.Group)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := movedSince(plan, cur); err != nil {
		return AuditEntry{}, err
	}

	entry := AuditEntry{Action: action, Cluster: c.cfg.Name, Group: plan.Group, Command: plan.Command, UndoOf: plan.UndoOf, Details: map[string]string{}}
	if plan.Mode != "" {
		entry.Details["mode"] = string(plan.Mode)
	}
	if plan.Instant != nil {
		entry.Details["instant"] = plan.Instant.UTC().Format(time.RFC3339Nano)
	}
	if plan.SourceGroup != "" {
		entry.Details["source_group"] = plan.SourceGroup
	}
	commits := kadm.Offsets{}
	deletes := kadm.TopicsSet{}
	for _, r := range plan.Rows {
		k := topicPart{r.Topic, r.Partition}
		before, had := cur[k]
		if !had {
			before = OffsetValue{Topic: r.Topic, Partition: r.Partition, Offset: -1, LeaderEpoch: -1}
		}
		newV := r.New
		if plan.Kind == PlanDeleteOffsets || plan.Kind == PlanDeleteGroup {
			newV = -1
		}
		if newV == before.Offset && (newV < 0 || r.LeaderEpoch == nil || (*r.LeaderEpoch == before.LeaderEpoch && r.Metadata == before.Metadata)) {
			continue
		}
		after := OffsetValue{Topic: r.Topic, Partition: r.Partition, Offset: newV, LeaderEpoch: -1}
		if newV >= 0 {
			if r.LeaderEpoch != nil {
				after.LeaderEpoch, after.Metadata = *r.LeaderEpoch, r.Metadata
			}
			commits.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: newV, LeaderEpoch: after.LeaderEpoch, Metadata: after.Metadata})
		} else {
			deletes.Add(r.Topic, r.Partition)
		}
		entry.Before = append(entry.Before, before)
		entry.After = append(entry.After, after)
	}

	var opErr error
	switch {
	case plan.Kind == PlanDeleteGroup:
		var resp kadm.DeleteGroupResponses
		resp, opErr = c.adm.DeleteGroups(ctx, plan.Group)
		if opErr == nil {
			opErr = resp.Error()
		}
	default:
		var errs []error
		if len(commits) > 0 {
			resp, err := c.adm.CommitOffsets(ctx, plan.Group, commits)
			if err == nil {
				err = partitionErrors(resp)
			}
			errs = append(errs, err)
		}
		if len(deletes) > 0 {
			resp, err := c.adm.DeleteOffsets(ctx, plan.Group, deletes)
			if err == nil {
				var bad []string
				resp.EachError(func(t string, p int32, err error) { bad = append(bad, fmt.Sprintf("%s/%d: %v", t, p, err)) })
				if len(bad) > 0 {
					sort.Strings(bad)
					err = fmt.Errorf("deleting offsets failed for %s", strings.Join(bad, ", "))
				}
			}
			errs = append(errs, err)
		}
		opErr = errors.Join(errs...)
	}
	if opErr != nil {
		opErr = l.err(c, opErr)
	}
	entry = l.recordAudit(ctx, entry, opErr)
	return entry, opErr
}

// partitionErrors joins the per-partition errors of a commit into one.
func partitionErrors(resp kadm.OffsetResponses) error {
	var bad []string
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			bad = append(bad, fmt.Sprintf("%s/%d: %v", o.Topic, o.Partition, o.Err))
		}
	})
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("committing offsets failed for %s", strings.Join(bad, ", "))
}

// movedSince returns ErrGroupMoved when the group's committed offsets differ
// from the ones the plan saw.
func movedSince(plan *Plan, cur map[topicPart]OffsetValue) error {
	var moved []string
	inPlan := map[topicPart]bool{}
	for _, r := range plan.Rows {
		k := topicPart{r.Topic, r.Partition}
		inPlan[k] = true
		have := int64(-1)
		if v, ok := cur[k]; ok {
			have = v.Offset
		}
		if have != r.Current {
			moved = append(moved, fmt.Sprintf("%s was %s, is now %s", k, offsetWord(r.Current), offsetWord(have)))
		}
	}
	if plan.Kind == PlanDeleteGroup {
		for k, v := range cur {
			if !inPlan[k] {
				moved = append(moved, fmt.Sprintf("%s was not committed, is now %d", k, v.Offset))
			}
		}
	}
	if len(moved) == 0 {
		return nil
	}
	sort.Strings(moved)
	if len(moved) > 5 {
		moved = append(moved[:5], fmt.Sprintf("and %d more", len(moved)-5))
	}
	return &wrapped{msg: fmt.Sprintf("group %q moved since the plan was made (%s); nothing was changed: make a new plan", plan.Group, strings.Join(moved, "; ")), err: ErrGroupMoved}
}

func offsetWord(o int64) string {
	if o < 0 {
		return "no commit"
	}
	return fmt.Sprint(o)
}

// PlanDeleteOffsets implements Service. With an empty scope it plans
// deleting the whole group (DeleteGroups); otherwise deleting the group's
// committed offsets of the scope (OffsetDelete). The rows are the commits
// that will go; it refuses (ErrGroupActive) a group with members.
func (l *Local) PlanDeleteOffsets(ctx context.Context, cluster, group string, scope []TopicScope) (*Plan, error) {
	if strings.TrimSpace(group) == "" {
		return nil, invalidf("no group given: name the consumer group")
	}
	c, err := l.client(cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	if err := l.refuseActive(ctx, c, group); err != nil {
		return nil, err
	}
	cur, err := l.committed(ctx, c, group)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Kind: PlanDeleteGroup, Cluster: c.cfg.Name, Group: group, Created: l.now().UTC()}
	var keys []topicPart
	if len(scope) == 0 {
		if len(cur) == 0 && !l.groupExists(ctx, c, group) {
			return nil, notFoundf(ErrGroupNotFound, "group %q not found on cluster %q; list groups with 'kdeck groups'", group, c.cfg.Name)
		}
		for k := range cur {
			keys = append(keys, k)
		}
	} else {
		plan.Kind = PlanDeleteOffsets
		for _, s := range scope {
			found := false
			for k := range cur {
				if k.topic != s.Topic {
					continue
				}
				found = true
				if len(s.Partitions) == 0 {
					keys = append(keys, k)
				}
			}
			if !found {
				return nil, invalidf("group %q has no committed offsets for topic %q on cluster %q", group, s.Topic, c.cfg.Name)
			}
			for _, p := range s.Partitions {
				k := topicPart{s.Topic, p}
				if _, ok := cur[k]; !ok {
					return nil, invalidf("group %q has no committed offset for %s", group, k)
				}
				keys = append(keys, k)
			}
		}
	}
	keys = dedupKeys(sortedKeys(keys))
	topics := map[string]bool{}
	for _, k := range keys {
		topics[k.topic] = true
	}
	var ts []string
	for t := range topics {
		ts = append(ts, t)
	}
	starts, ends, err := l.watermarks(ctx, c, ts...)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		row := PlanRow{Topic: k.topic, Partition: k.partition, Current: cur[k].Offset, New: -1, LogStartOffset: -1, LogEndOffset: -1, Note: "commit deleted"}
		if s, ok := starts.Lookup(k.topic, k.partition); ok && s.Err == nil {
			row.LogStartOffset = s.Offset
		}
		if e, ok := ends.Lookup(k.topic, k.partition); ok && e.Err == nil {
			row.LogEndOffset = e.Offset
		}
		plan.Rows = append(plan.Rows, row)
	}
	finishPlan(plan)
	return plan, nil
}

// groupExists reports whether a group is known to its coordinator.
func (l *Local) groupExists(ctx context.Context, c *clusterClient, group string) bool {
	listed, err := l.listGroupNames(ctx, c)
	if err != nil {
		return true // let the delete say what is wrong
	}
	_, ok := listed[group]
	return ok
}

func dedupKeys(keys []topicPart) []topicPart {
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}
