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
// (ErrGroupMoved). To be safe against a second execute at the same moment
// (another kdeck, another operator), it holds the group while it checks
// and commits: it joins the group as its only member (client id
// HoldClientID), so the coordinator rejects every other commit and a second
// executor's join waits, then finds the group moved. It writes the audit
// intent (before and planned after) first and fails without changing
// anything when it cannot; then it writes every changed offset with one
// batched OffsetCommit (plus one OffsetDelete for commits to remove, or one
// DeleteGroups), reads the offsets back, and appends the outcome with the
// offsets after of the partitions that did change. Per-partition failures
// are reported together.
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
	if err := validName("group", plan.Group); err != nil {
		return AuditEntry{}, invalidf("the plan's group is not valid: %v", err)
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
	hold, err := l.holdGroup(ctx, c, plan.Group)
	if err != nil {
		return AuditEntry{}, err
	}
	defer hold.release()
	cur, err := l.committed(ctx, c, plan.Group)
	if err != nil {
		return AuditEntry{}, err
	}
	if err := movedSince(plan, cur); err != nil {
		return AuditEntry{}, err
	}

	entry, commits, deletes := planChanges(plan, action, c.cfg.Name, cur)
	if err := l.auditIntent(ctx, &entry); err != nil {
		return AuditEntry{}, err
	}

	// failed holds the partitions whose change did not happen.
	failed := map[topicPart]bool{}
	var opErr error
	switch {
	case plan.Kind == PlanDeleteGroup:
		// DeleteGroups needs an empty group: delete the offsets while
		// holding, then leave and delete the group itself.
		var errs []error
		if len(deletes) > 0 {
			errs = append(errs, l.deleteOffsets(ctx, c, hold, plan.Group, deletes, failed))
		}
		hold.release()
		resp, err := c.adm.DeleteGroups(ctx, plan.Group)
		if err == nil {
			err = resp.Error()
		}
		errs = append(errs, err)
		opErr = errors.Join(errs...)
	default:
		var errs []error
		if len(commits) > 0 {
			errs = append(errs, commitHeld(ctx, c, hold, commits, failed))
		}
		if len(deletes) > 0 {
			errs = append(errs, l.deleteOffsets(ctx, c, hold, plan.Group, deletes, failed))
		}
		opErr = errors.Join(errs...)
		if err := l.verifyCommitted(ctx, c, plan.Group, entry.After, failed); err != nil {
			opErr = errors.Join(opErr, err)
		}
	}
	if opErr != nil {
		opErr = l.err(c, opErr)
		entry.Before, entry.After = keepChanged(entry.Before, entry.After, failed)
	}
	entry = l.recordAudit(ctx, entry, opErr)
	return entry, opErr
}

// planChanges returns the audit entry of executing plan on the commits cur
// (its details, and the offsets before and after of every row that
// changes), with the commits to write and the commits to delete.
func planChanges(plan *Plan, action, cluster string, cur map[topicPart]OffsetValue) (AuditEntry, map[topicPart]OffsetValue, kadm.TopicsSet) {
	entry := AuditEntry{Action: action, Cluster: cluster, Group: plan.Group, Command: plan.Command, UndoOf: plan.UndoOf, Details: map[string]string{}}
	if plan.Mode != "" {
		entry.Details["mode"] = string(plan.Mode)
	}
	if plan.Instant != nil {
		entry.Details["instant"] = plan.Instant.UTC().Format(time.RFC3339Nano)
	}
	if plan.SourceGroup != "" {
		entry.Details["source_group"] = plan.SourceGroup
	}
	commits := map[topicPart]OffsetValue{}
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
			commits[k] = after
		} else {
			deletes.Add(r.Topic, r.Partition)
		}
		entry.Before = append(entry.Before, before)
		entry.After = append(entry.After, after)
	}
	return entry, commits, deletes
}

// commitHeld writes commits through the group hold, marking in failed the
// partitions whose commit did not happen; per-partition errors are joined in
// one sorted sentence.
func commitHeld(ctx context.Context, c *clusterClient, hold *groupHold, commits map[topicPart]OffsetValue, failed map[topicPart]bool) error {
	res, err := hold.commit(ctx, c, commits)
	if err != nil {
		for k := range commits {
			failed[k] = true
		}
	}
	var bad []string
	for k, perr := range res {
		if perr != nil {
			failed[k] = true
			bad = append(bad, fmt.Sprintf("%s: %v", k, perr))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		err = errors.Join(err, fmt.Errorf("committing offsets failed for %s", strings.Join(bad, ", ")))
	}
	return err
}

// deleteOffsets removes commits with OffsetDelete while kdeck holds the
// group, marking the partitions that failed. Apache Kafka allows it for
// topics the holding member does not subscribe to (none); kfake refuses it
// for a KIP-848 group with any member, so there the hold is released first.
func (l *Local) deleteOffsets(ctx context.Context, c *clusterClient, hold *groupHold, group string, deletes kadm.TopicsSet, failed map[topicPart]bool) error {
	resp, err := c.adm.DeleteOffsets(ctx, group, deletes)
	if errors.Is(err, kerr.NonEmptyGroup) && hold.kip848 {
		hold.release()
		resp, err = c.adm.DeleteOffsets(ctx, group, deletes)
	}
	if err != nil {
		deletes.Each(func(t string, p int32) { failed[topicPart{t, p}] = true })
		return err
	}
	var bad []string
	resp.EachError(func(t string, p int32, err error) {
		failed[topicPart{t, p}] = true
		bad = append(bad, fmt.Sprintf("%s/%d: %v", t, p, err))
	})
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("deleting offsets failed for %s", strings.Join(bad, ", "))
}

// verifyCommitted reads the group's offsets back after a commit and reports
// (and marks failed) every partition that does not hold what was written.
func (l *Local) verifyCommitted(ctx context.Context, c *clusterClient, group string, after []OffsetValue, failed map[topicPart]bool) error {
	now, err := l.committed(ctx, c, group)
	if err != nil {
		return fmt.Errorf("the commit was sent but reading it back failed, so its outcome is unknown: %w", err)
	}
	var bad []string
	for _, a := range after {
		k := topicPart{a.Topic, a.Partition}
		if failed[k] {
			continue
		}
		have := int64(-1)
		if v, ok := now[k]; ok {
			have = v.Offset
		}
		if have != a.Offset {
			failed[k] = true
			bad = append(bad, fmt.Sprintf("%s holds %s, not %s", k, offsetWord(have), offsetWord(a.Offset)))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return &wrapped{msg: fmt.Sprintf("group %q changed right after the commit (%s): another client changed it; check the group and make a new plan", group, strings.Join(bad, "; ")), err: ErrGroupMoved}
}

// keepChanged drops the rows of partitions whose change failed, so the
// entry's after (and the before an undo restores) are only what changed.
func keepChanged(before, after []OffsetValue, failed map[topicPart]bool) ([]OffsetValue, []OffsetValue) {
	var b, a []OffsetValue
	for i := range after {
		if failed[topicPart{after[i].Topic, after[i].Partition}] {
			continue
		}
		b, a = append(b, before[i]), append(a, after[i])
	}
	return b, a
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
	plan.Finish()
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
