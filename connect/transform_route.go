package connect

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Field names of the routing transforms.
const (
	fieldRegex           = "regex"
	fieldTopicFormat     = "topic_format"
	fieldTimestampFormat = "timestamp_format"
)

func regexRouterTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "regex_router",
		Aliases: kafkaAliases("RegexRouter", false),
		Spec: NewSpec("Rename the topic when the whole topic name matches regex (Kafka Connect's RegexRouter).",
			NewField(fieldRegex, TypeString).Description("Regular expression (Go syntax) the whole topic must match."),
			NewField(fieldReplacement, TypeString).Description("Replacement; $1 or ${1} refer to groups."),
		),
		New: func(p *Parsed) (Transform, error) {
			re, err := regexp.Compile("^(?:" + p.String(fieldRegex) + ")$")
			if err != nil {
				return nil, fmt.Errorf("regex %q does not compile: %v", p.String(fieldRegex), err)
			}
			repl := p.String(fieldReplacement)
			return TransformFunc(func(r *Record) (*Record, error) {
				if re.MatchString(r.Topic) {
					r.Topic = re.ReplaceAllString(r.Topic, repl)
				}
				return r, nil
			}), nil
		},
	}
}

func timestampRouterTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "timestamp_router",
		Aliases: kafkaAliases("TimestampRouter", false),
		Spec: NewSpec("Route to a topic named from the original topic and the record's timestamp (Kafka Connect's TimestampRouter).",
			NewField(fieldTopicFormat, TypeString).Default("${topic}-${timestamp}").Description("Topic name with ${topic} and ${timestamp}."),
			NewField(fieldTimestampFormat, TypeString).Default("yyyyMMdd").Description("Timestamp format in Java's SimpleDateFormat letters (yyyy MM dd HH mm ss), in UTC."),
		),
		New: func(p *Parsed) (Transform, error) {
			format := p.String(fieldTopicFormat)
			layout := javaLayout(p.String(fieldTimestampFormat))
			return TransformFunc(func(r *Record) (*Record, error) {
				ts := r.Timestamp
				if ts.IsZero() {
					return nil, fmt.Errorf("timestamp_router: the record has no timestamp")
				}
				t := strings.ReplaceAll(format, "${topic}", r.Topic)
				r.Topic = strings.ReplaceAll(t, "${timestamp}", ts.UTC().Format(layout))
				return r, nil
			}), nil
		},
	}
}

// javaLayout converts the common SimpleDateFormat letters to a Go layout.
func javaLayout(f string) string {
	return strings.NewReplacer("yyyy", "2006", "yy", "06", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "SSS", "000").Replace(f)
}

var _ = time.UTC
