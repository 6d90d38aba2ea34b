package ops

import (
	"context"
	"fmt"
)

// Health implements Service. It is healthy when every configured cluster
// answers, no job is FAILED and no consumer group is in STOP or STALL (the
// statuses come from the lag windows, which this call also samples once:
// without earlier samples, no group has a status yet). Problems are
// sentences naming what is wrong; the error is for Health itself failing.
func (l *Local) Health(ctx context.Context) (HealthReport, error) {
	rep := HealthReport{Problems: []string{}}
	cls, err := l.Clusters(ctx)
	if err != nil {
		return rep, err
	}
	for _, c := range cls {
		if !c.Reachable {
			rep.Problems = append(rep.Problems, fmt.Sprintf("cluster %q does not answer: %s", c.Name, c.Error))
			continue
		}
		gs, err := l.ListGroups(ctx, c.Name)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("cluster %q: cannot list groups: %v", c.Name, err))
			continue
		}
		for _, g := range gs {
			if g.Status == StatusStop || g.Status == StatusStall {
				rep.Problems = append(rep.Problems, fmt.Sprintf("group %q on cluster %q is %s with lag %d", g.Group, c.Name, g.Status, g.Lag))
			}
		}
	}
	jobs, err := l.Jobs(ctx)
	if err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("cannot list jobs: %v", err))
	}
	for _, j := range jobs {
		if j.State == StateFailed {
			msg := fmt.Sprintf("job %q is FAILED", j.Name)
			if j.LastError != "" {
				msg += ": " + j.LastError
			}
			rep.Problems = append(rep.Problems, msg)
		}
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// HealthReport is the outcome of Health.
type HealthReport struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}
