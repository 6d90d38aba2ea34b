package ops

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// undoable lists the audit actions PlanUndo can revert. An entry that
// failed on some partitions only is undoable too: its after holds the
// partitions that did change.
var undoable = map[string]bool{ActionOffsetsReset: true, ActionOffsetsUndo: true, ActionOffsetsDelete: true, ActionGroupsDelete: true}

// PlanUndo implements Service. The plan restores the committed offsets
// (with their leader epochs and metadata) that the audit entry replaced,
// deleting commits the entry created. It refuses (ErrRefused) an entry that
// is not a successful offsets change, (ErrGroupActive) a group with members,
// and (ErrGroupMoved) a group whose offsets changed since the entry.
func (l *Local) PlanUndo(ctx context.Context, auditID string) (*Plan, error) {
	e, err := l.AuditEntry(ctx, auditID)
	if err != nil {
		return nil, err
	}
	if err := undoRefusal(e); err != nil {
		return nil, err
	}
	c, err := l.client(e.Cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	if err := l.refuseActive(ctx, c, e.Group); err != nil {
		return nil, err
	}
	cur, err := l.committed(ctx, c, e.Group)
	if err != nil {
		return nil, err
	}
	if err := movedSinceEntry(e, cur); err != nil {
		return nil, err
	}
	plan := &Plan{Kind: PlanUndo, Cluster: c.cfg.Name, Group: e.Group, UndoOf: e.ID, Created: l.now().UTC()}
	topics := map[string]bool{}
	for _, b := range e.Before {
		topics[b.Topic] = true
	}
	var ts []string
	for t := range topics {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	starts, ends, err := l.watermarks(ctx, c, ts...)
	if err != nil {
		return nil, err
	}
	for _, b := range e.Before {
		k := topicPart{b.Topic, b.Partition}
		row := PlanRow{Topic: b.Topic, Partition: b.Partition, Current: -1, New: b.Offset, LogStartOffset: -1, LogEndOffset: -1}
		if v, ok := cur[k]; ok {
			row.Current = v.Offset
		}
		if b.Offset >= 0 {
			ep := b.LeaderEpoch
			row.LeaderEpoch, row.Metadata = &ep, b.Metadata
		} else {
			row.Note = "commit deleted (there was none before)"
		}
		if s, ok := starts.Lookup(b.Topic, b.Partition); ok && s.Err == nil {
			row.LogStartOffset = s.Offset
		}
		if en, ok := ends.Lookup(b.Topic, b.Partition); ok && en.Err == nil {
			row.LogEndOffset = en.Offset
		}
		if b.Offset >= 0 && row.LogStartOffset >= 0 && b.Offset < row.LogStartOffset {
			row.Note = fmt.Sprintf("below log start %d: the consumer will reset", row.LogStartOffset)
		}
		plan.Rows = append(plan.Rows, row)
	}
	sort.Slice(plan.Rows, func(i, j int) bool {
		if plan.Rows[i].Topic != plan.Rows[j].Topic {
			return plan.Rows[i].Topic < plan.Rows[j].Topic
		}
		return plan.Rows[i].Partition < plan.Rows[j].Partition
	})
	plan.Finish()
	return plan, nil
}

// undoRefusal refuses an entry PlanUndo cannot revert: a job's offsets
// change, an action that is not an offsets change, an entry without a known
// outcome or one that failed without changing anything.
func undoRefusal(e AuditEntry) error {
	if strings.HasPrefix(e.Action, "jobs.offsets.") {
		return refusedf("audit entry %s changed the offsets of job %q, not a group's: undo it with 'kdeck connect offsets %s --undo %s'", e.ID, e.Job, e.Job, e.ID)
	}
	if !undoable[e.Action] {
		return refusedf("audit entry %s is a %s, not an offsets change: only offsets.reset, offsets.delete, groups.delete and offsets.undo entries can be undone", e.ID, e.Action)
	}
	switch {
	case e.Outcome == OutcomePending, e.Outcome == OutcomeUnknown:
		return refusedf("audit entry %s has no known outcome (%s), so it cannot be undone; check the group with 'kdeck groups describe %s' and plan a reset", e.ID, e.Error, e.Group)
	case e.Outcome != OutcomeOK && len(e.After) == 0:
		return refusedf("audit entry %s failed (%s), so there is nothing to undo; check the group with 'kdeck groups describe %s'", e.ID, e.Error, e.Group)
	}
	return nil
}

// movedSinceEntry refuses (ErrGroupMoved) when a commit the entry left has
// changed since, naming up to five.
func movedSinceEntry(e AuditEntry, cur map[topicPart]OffsetValue) error {
	var changed []string
	for _, a := range e.After {
		have := int64(-1)
		if v, ok := cur[topicPart{a.Topic, a.Partition}]; ok {
			have = v.Offset
		}
		if have != a.Offset {
			changed = append(changed, fmt.Sprintf("%s/%d: the entry left %s, it is now %s", a.Topic, a.Partition, offsetWord(a.Offset), offsetWord(have)))
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		if len(changed) > 5 {
			changed = append(changed[:5], fmt.Sprintf("and %d more", len(changed)-5))
		}
		return &wrapped{msg: fmt.Sprintf("group %q's offsets changed since audit entry %s (%s); undo refused: plan a new reset instead", e.Group, e.ID, strings.Join(changed, "; ")), err: ErrGroupMoved}
	}
	return nil
}
