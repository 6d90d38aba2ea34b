package mirror

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m struct {
		Mirrors []map[string]any `toml:"mirrors"`
	}
	if _, err := toml.Decode(s, &m); err != nil {
		t.Fatalf("toml: %v", err)
	}
	return m.Mirrors[0]
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(decode(t, `
[[mirrors]]
name = "local-to-dr"
source = "local"
target = "dr"
topics = ["orders.*", "payments"]
exclude = ["orders-tmp"]
groups = ["billing"]
naming = "identity"
refresh_interval = "PT1M"
sync_configs = false
exactly_once = true
sync_group_offsets = true
offset_lag_max = 50
[mirrors.producer]
linger = "10ms"
compression = "zstd"
max_buffered_records = 5000
[mirrors.consumer]
fetch_max_bytes = 1048576
isolation = "read_uncommitted"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "local-to-dr" || c.Source != "local" || c.Target != "dr" || len(c.Topics) != 2 || c.Exclude[0] != "orders-tmp" ||
		c.Naming != NamingIdentity || c.RefreshInterval != time.Minute || *c.SyncConfigs || !c.ExactlyOnce || !c.SyncGroupOffsets ||
		c.OffsetLagMax != 50 || c.Producer.Linger != 10*time.Millisecond || c.Producer.Compression != "zstd" ||
		c.Producer.MaxBufferedRecords != 5000 || c.Consumer.FetchMaxBytes != 1<<20 || c.Consumer.Isolation != "read_uncommitted" {
		t.Fatalf("parsed %+v", c)
	}
	if c.RemoteTopic("orders") != "orders" {
		t.Fatalf("identity remote topic %q", c.RemoteTopic("orders"))
	}
	d := c.withDefaults()
	if d.GroupID != "kdeck-mirror-local-to-dr" || d.Separator != "." || d.Producer.MaxBufferedBytes != 64<<20 {
		t.Fatalf("defaults %+v", d)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       []string
	}{
		{"missing", `[[mirrors]]
topics = ["a"]`, []string{"name: is required", "source: is required", "target: is required"}},
		{"all at once", `[[mirrors]]
name = "x"
source = "a"
target = "a"
naming = "prefx"
topics = ["("]
refresh_interval = "soon"
exactlyonce = true
start = "middle"
[mirrors.producer]
lingr = "5ms"
compression = "brotli"`, []string{
			`exactlyonce: unknown key; did you mean "exactly_once"?`,
			`naming: is "prefx"; use "prefix" or "identity"; did you mean "prefix"?`,
			`producer.compression: is "brotli"`,
			`producer.lingr: unknown key; did you mean "linger"?`,
			`refresh_interval: "soon" is not a duration`,
			`start: is "middle"`,
			`target: must differ from source "a"`,
			`topics: "(" is not a regular expression`,
		}},
		{"types", `[[mirrors]]
name = 3
source = "a"
target = "b"
topics = [1]
sync_configs = "yes"
producer = 5`, []string{"name: must be a string", "topics: must be a list of strings", "sync_configs: must be true or false", "producer: must be a table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(decode(t, tc.toml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want *ConfigError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{Name: "x", Source: "a", Target: "b", Naming: "bogus"}, nil, nil); err == nil {
		t.Fatal("New accepted a bad naming")
	}
	if _, err := New(Config{Name: "x", Source: "a", Target: "b"}, nil, nil); err == nil {
		t.Fatal("New accepted missing client options")
	}
}

func TestSelector(t *testing.T) {
	s := newSelector(Config{Name: "f", Source: "a", Target: "b", Topics: []string{"orders.*", "b.x"}, Exclude: []string{"orders-tmp"}}.withDefaults())
	for topic, want := range map[string]bool{
		"orders": true, "orders-eu": true, "orders-tmp": false, "payments": false,
		"b.x":                false, // a remote copy from the target is never mirrored back
		"__consumer_offsets": false, "a.checkpoints.internal": false, HeartbeatTopic: true,
		"xorders": false, // patterns are anchored
	} {
		if got := s.mirrors(topic); got != want {
			t.Errorf("mirrors(%q) = %v, want %v", topic, got, want)
		}
	}
	if s.translatesGroup("kdeck-mirror-f") || !s.translatesGroup("billing") {
		t.Error("group selection")
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(`name = "x"
source = "a"
target = "b"
topics = ["t.*"]`)
	f.Add(`naming = "identity"
[producer]
linger = "5ms"`)
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if _, err := toml.Decode(s, &m); err != nil {
			return
		}
		c, err := ParseConfig(m)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("ParseConfig accepted what Validate refuses: %v", verr)
			}
		}
	})
}
