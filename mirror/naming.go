package mirror

import (
	"regexp"
	"strings"
)

// selector decides which source topics and groups a flow mirrors and how
// remote topics are named.
type selector struct {
	cfg                   Config
	topics, exclude       []*regexp.Regexp
	groups, groupsExclude []*regexp.Regexp
}

func newSelector(c Config) *selector {
	compile := func(list []string) []*regexp.Regexp {
		out := make([]*regexp.Regexp, len(list))
		for i, s := range list {
			out[i] = regexp.MustCompile("^(?:" + s + ")$") // validated by Config.Validate
		}
		return out
	}
	return &selector{cfg: c, topics: compile(c.Topics), exclude: compile(c.Exclude),
		groups: compile(c.Groups), groupsExclude: compile(c.GroupsExclude)}
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, r := range res {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}

// internalTopic reports topics never mirrored: Kafka's own (__consumer_offsets),
// MirrorMaker 2's and kdeck's internal topics.
func internalTopic(t string) bool {
	return strings.HasPrefix(t, "__") || strings.HasSuffix(t, ".internal") ||
		strings.HasPrefix(t, "mm2-") || strings.HasPrefix(t, "kdeck-mirror.")
}

// isRemoteFrom reports whether topic is a remote copy from cluster alias
// under the prefix policy.
func (s *selector) isRemoteFrom(topic, alias string) bool {
	return strings.HasPrefix(topic, alias+s.cfg.Separator)
}

// mirrors reports whether the flow mirrors source topic t. HeartbeatTopic is
// mirrored unless excluded explicitly. Under
// NamingPrefix a topic that is already a remote copy from the target is
// never mirrored back (cycle prevention).
func (s *selector) mirrors(t string) bool {
	if internalTopic(t) {
		return false
	}
	if s.cfg.Naming == NamingPrefix && s.isRemoteFrom(t, s.cfg.Target) {
		return false
	}
	return (t == HeartbeatTopic || anyMatch(s.topics, t)) && !anyMatch(s.exclude, t)
}

// translatesGroup reports whether the flow translates group g's offsets.
func (s *selector) translatesGroup(g string) bool {
	if g == s.cfg.GroupID || strings.HasPrefix(g, "kdeck-mirror-") {
		return false
	}
	return anyMatch(s.groups, g) && !anyMatch(s.groupsExclude, g)
}

// RemoteTopic returns the name of source topic t in the target cluster.
func (c Config) RemoteTopic(t string) string {
	c = c.withDefaults()
	if c.Naming == NamingIdentity {
		return t
	}
	return c.Source + c.Separator + t
}

// Internal topic names in the target cluster.
func (c Config) offsetSyncsTopic() string { return "kdeck-mirror." + c.Name + ".offset-syncs.internal" }
func (c Config) progressTopic() string    { return "kdeck-mirror." + c.Name + ".progress.internal" }

// CheckpointsTopic is the target topic holding the flow's checkpoints
// (MirrorMaker 2's name: SOURCE.checkpoints.internal).
func (c Config) CheckpointsTopic() string { return c.Source + ".checkpoints.internal" }
