package ops

// SampledStatus returns a group's status from its window without sampling.
func SampledStatus(l *Local, cluster, group string) string {
	gs := GroupSummary{Group: group}
	l.decorateSummary(cluster, &gs)
	return gs.Status
}
