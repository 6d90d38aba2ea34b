package ops

import "fmt"

// MaxTopicNameLength is the longest topic name Apache Kafka accepts.
const MaxTopicNameLength = 249

// ValidateTopicName applies Apache Kafka's rule for topic names (Topic.validate
// in Kafka's clients): 1 to 249 characters from [a-zA-Z0-9._-], and not "."
// or "..". It returns an ErrInvalid naming the rule, so a name Kafka would
// refuse is refused before any request (kfake accepts some of them).
func ValidateTopicName(name string) error {
	const rule = "Apache Kafka accepts 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-', and not \".\" or \"..\""
	switch {
	case name == "":
		return invalidf("a topic name is required: %s", rule)
	case name == "." || name == "..":
		return invalidf("topic name %q is not legal: %s", name, rule)
	case len(name) > MaxTopicNameLength:
		return invalidf("topic name %s is %d characters long: %s", shorten(name), len(name), rule)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return invalidf("topic name %s has the character %q at byte %d: %s", shorten(name), c, i, rule)
		}
	}
	return nil
}

// shorten quotes a name for a message, escaping control bytes and cutting
// it past 60 bytes.
func shorten(name string) string {
	if len(name) > 60 {
		return fmt.Sprintf("%q…", name[:60])
	}
	return fmt.Sprintf("%q", name)
}
