package ops

// SampledStatus returns a group's status from its window without sampling.
func SampledStatus(l *Local, cluster, group string) string {
	gs := GroupSummary{Group: group}
	l.decorateSummary(cluster, &gs)
	return gs.Status
}

// BillingSeeded is closed once the demo decided whether to seed
// demo-billing's offsets and, if so, did.
func BillingSeeded(e *Embedded) <-chan struct{} { return e.billingSeeded }
