package workergroup

// SetJobs replaces the jobs this worker declares to the group (a job
// created, changed, stopped or deleted through the configs topic) and asks
// the group to rebalance, so the leader assigns the new set. Safe to call
// concurrently with Run; before Run it only sets the jobs.
func (m *Member) SetJobs(jobs []Job) {
	m.mu.Lock()
	m.cfg.Jobs = append([]Job(nil), jobs...)
	cl := m.cl
	m.mu.Unlock()
	if cl != nil {
		cl.ForceRebalance()
	}
}
