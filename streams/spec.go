package streams

// JobSpec is a declarative job.
type JobSpec struct {
	Name      string
	Cluster   string
	Guarantee string
	DataDir   string
}

// Build compiles the spec.
func (s JobSpec) Build() (*Topology, error) { return nil, nil }
