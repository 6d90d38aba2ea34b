package ops

// addDemoJobs adds the embedded default's demo jobs to s.
func (l *Local) addDemoJobs(s *supervisor) {}
