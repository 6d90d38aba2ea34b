package streams

import (
	"path/filepath"
	"sort"
)

// ResetPlan is what resetting a job deletes and rewinds, as Kafka's
// application reset tool does: the group's committed offsets on the input
// topics (reset to earliest, a time or a duration by the caller), the
// internal topics (changelogs and repartition topics) and the local state
// directory. Computing it changes nothing.
type ResetPlan struct {
	// Group is the consumer group (the application id).
	Group string `json:"group"`
	// Inputs are the user's input topics whose offsets are reset.
	Inputs []string `json:"inputs"`
	// InternalTopics are deleted: changelogs and repartition topics.
	InternalTopics []string `json:"internal_topics"`
	// RepartitionTopics are the subset of InternalTopics that the group
	// also consumes; their offsets disappear with them.
	RepartitionTopics []string `json:"repartition_topics"`
	// StateDir is the local state directory to wipe (stores and tables).
	StateDir string `json:"state_dir"`
}

// PlanReset returns the reset plan of the topology with local state under
// dataDir. It must be executed only while no instance runs (the group has
// no members); ops checks that and refuses otherwise.
func PlanReset(t *Topology, dataDir string) ResetPlan {
	p := ResetPlan{Group: t.appID, Inputs: append([]string(nil), t.inputs...), StateDir: StateDir(dataDir, t.appID)}
	for _, s := range t.stores {
		p.InternalTopics = append(p.InternalTopics, s.changelog)
	}
	p.RepartitionTopics = append(p.RepartitionTopics, t.repartitions...)
	p.InternalTopics = append(p.InternalTopics, t.repartitions...)
	sort.Strings(p.InternalTopics)
	return p
}

// StateDir returns the local state directory of application appID under
// dataDir.
func StateDir(dataDir, appID string) string { return filepath.Join(dataDir, appID) }

// InternalTopics returns the changelog and repartition topics of t.
func (t *Topology) InternalTopics() []string { return PlanReset(t, "").InternalTopics }

// Inputs returns the input topics of t (not the repartition topics).
func (t *Topology) Inputs() []string { return append([]string(nil), t.inputs...) }

// DataDir returns the job's data dir.
func (j *Job) DataDir() string { return j.cfg.dataDir }

// PlanReset returns the job's reset plan.
func (j *Job) PlanReset() ResetPlan { return PlanReset(j.top, j.cfg.dataDir) }
