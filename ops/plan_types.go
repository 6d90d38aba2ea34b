package ops

import (
	"io"

	"github.com/kdeck/kdeck/ops/plan"
)

// The names of package plan that callers of Service use: the plans
// PlanReset and ExecutePlan pass, the reset modes and the CSV plan format.
type (
	// ResetMode is how a reset chooses each partition's new offset
	// (plan.Mode).
	ResetMode = plan.Mode
	// FileOffset is one row of a kafka-consumer-groups CSV plan
	// (plan.FileOffset).
	FileOffset = plan.FileOffset
	// PlanKind says what a plan does when executed (plan.Kind).
	PlanKind = plan.Kind
	// Plan is a previewed offset change (plan.Plan).
	Plan = plan.Plan
	// PlanRow is one partition of a plan (plan.Row).
	PlanRow = plan.Row
	// PlanTotals sums a plan (plan.Totals).
	PlanTotals = plan.Totals
)

// Reset modes, one per kafka-consumer-groups.sh option (see plan.Mode).
const (
	ResetToEarliest = plan.ToEarliest
	ResetToLatest   = plan.ToLatest
	ResetToCurrent  = plan.ToCurrent
	ResetToOffset   = plan.ToOffset
	ResetShiftBy    = plan.ShiftBy
	ResetToDatetime = plan.ToDatetime
	ResetByDuration = plan.ByDuration
	ResetToGroup    = plan.ToGroup
	ResetFromFile   = plan.FromFile
)

// Plan kinds (see plan.Kind).
const (
	PlanReset         = plan.Reset
	PlanDeleteOffsets = plan.DeleteOffsets
	PlanDeleteGroup   = plan.DeleteGroup
	PlanUndo          = plan.Undo
)

// ParseOffsetsCSV reads a CSV plan in kafka-consumer-groups' format (see
// plan.ParseCSV); its errors match ErrInvalid. It reads r to the end and
// does not close it.
func ParseOffsetsCSV(r io.Reader, name string) ([]FileOffset, error) {
	rows, err := plan.ParseCSV(r, name)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	return rows, nil
}

// WritePlanCSV writes a plan's new offsets in kafka-consumer-groups' CSV
// format (see plan.WriteCSV).
func WritePlanCSV(w io.Writer, p *Plan, withGroup bool) error {
	return plan.WriteCSV(w, p, withGroup)
}
