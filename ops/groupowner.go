package ops

import (
	"context"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/mirror"
)

// mirrorGroups returns the consumer groups in which mirror flows keep their
// progress, keyed by source cluster and group, valued by flow name: such a
// group is the flow's bookkeeping, not a consumer to judge by lag rules.
func (l *Local) mirrorGroups() map[string]string {
	tables := append([]config.Job(nil), l.cfg.Mirrors...)
	s := l.sup()
	for _, n := range s.names() {
		if h := s.get(n); h != nil && h.kind == KindMirror {
			tables = append(tables, h.spec)
		}
	}
	out := map[string]string{}
	for _, j := range tables {
		c, err := mirror.ParseConfig(j.Table)
		if err != nil {
			continue
		}
		group := c.GroupID
		if group == "" {
			group = "kdeck-mirror-" + c.Name // mirror's documented default
		}
		out[c.Source+"\x00"+group] = c.Name
	}
	return out
}

// markOwner labels a group kept by one of kdeck's own jobs (a mirror flow's
// progress group): Owner names the job and no lag status is judged.
func markOwner(owners map[string]string, cluster string, gs *GroupSummary) {
	if flow, ok := owners[cluster+"\x00"+gs.Group]; ok {
		gs.Owner = "mirror " + flow
		gs.Status = ""
	}
}

// samplerKey marks the context of the lag sampler's own calls.
type samplerKey struct{}

// observes reports whether a ListGroups or DescribeGroup call with ctx adds a
// sample to the lag windows: always without a sampler; with one, only its
// own calls, so that every screen and command reads the statuses of the
// same samples (one status per group, computed once per sample).
func (l *Local) observes(ctx context.Context) bool {
	if !l.lc.lagSampling || l.lc.lagInterval < 0 {
		return true
	}
	return ctx.Value(samplerKey{}) != nil
}
