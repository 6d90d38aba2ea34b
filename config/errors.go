package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kdeck/kdeck/spec"
)

// Error is one problem in a configuration file.
type Error struct {
	Path string // file
	Line int    // 1-based, 0 when unknown
	Key  string // dotted key, "" when unknown
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return b.String()
}

// Errors is every problem found in one file; Load and Parse return it.
type Errors struct {
	Path string
	List []*Error
}

func (e *Errors) Error() string {
	if len(e.List) == 1 {
		return e.List[0].Error()
	}
	lines := make([]string, len(e.List))
	for i, x := range e.List {
		lines[i] = "  " + x.Error()
	}
	return fmt.Sprintf("%d problems in %s:\n%s", len(e.List), e.Path, strings.Join(lines, "\n"))
}

// knownKeys lists the keys of each table kdeck decodes itself, by parent path
// with "*" standing for a cluster name.
var knownKeys = map[string][]string{
	"":                               {"default_cluster", "clusters", "ops", "server", "tui", "worker", "ssh", "connectors", "mirrors", "streams"},
	"clusters.*":                     {"brokers", "client_id", "sasl", "tls", "dial_timeout", "request_timeout", "schema_registry"},
	"clusters.*.schema_registry":     {"url", "username", "password", "password_env", "password_file", "token", "token_env", "token_file", "tls", "timeout"},
	"clusters.*.schema_registry.tls": {"enabled", "ca_file", "cert_file", "key_file", "insecure_skip_verify", "server_name"},
	"clusters.*.sasl":                {"mechanism", "username", "password", "password_env", "password_file"},
	"clusters.*.tls":                 {"enabled", "ca_file", "cert_file", "key_file", "insecure_skip_verify", "server_name"},
	"ops":                            {"data_dir", "read_only", "audit_topic", "lag_window", "lag_sample_interval", "max_restarts"},
	"server":                         {"listen"},
	"tui":                            {"refresh"},
	"worker":                         {"id", "group", "session_timeout", "configs_topic", "status_topic"},
	"ssh":                            {"listen", "host_key", "idle_timeout", "users"},
	"ssh.users":                      {"name", "role", "public_keys", "public_keys_file"},
}

func suggest(k toml.Key) string {
	parent := k[:len(k)-1]
	pattern := make([]string, len(parent))
	copy(pattern, parent)
	if len(pattern) >= 2 && pattern[0] == "clusters" {
		pattern[1] = "*"
	}
	return Suggest(k[len(k)-1], knownKeys[strings.Join(pattern, ".")])
}

// Suggest returns "; did you mean X?" for the candidate nearest to word, or
// "" when none is close. It is spec.Suggest, kept for the CLI and ops.
func Suggest(word string, candidates []string) string { return spec.Suggest(word, candidates) }

// source finds the line on which a key is set, by a light scan of the text:
// BurntSushi/toml keeps key positions private.
type source struct {
	path  string
	lines []lineKey
}

type lineKey struct {
	line int
	key  []string // full path of the key assigned or table opened
}

func newSource(path string, data []byte) *source {
	s := &source{path: path}
	var table []string
	counts := map[string]int{}
	for i, raw := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(raw)
		if l == "" || l[0] == '#' {
			continue
		}
		switch {
		case strings.HasPrefix(l, "[["):
			end := strings.Index(l, "]]")
			if end < 0 {
				continue
			}
			name := strings.Join(splitKey(l[2:end]), ".")
			idx := counts[name]
			counts[name]++
			table = append(splitKey(l[2:end]), fmt.Sprint(idx))
			s.lines = append(s.lines, lineKey{i + 1, append([]string(nil), table...)})
		case l[0] == '[':
			end := strings.IndexByte(l, ']')
			if end < 0 {
				continue
			}
			table = underArray(splitKey(l[1:end]), counts)
			s.lines = append(s.lines, lineKey{i + 1, append([]string(nil), table...)})
		default:
			eq := strings.IndexByte(l, '=')
			if eq <= 0 {
				continue
			}
			k := append(append([]string(nil), table...), splitKey(l[:eq])...)
			s.lines = append(s.lines, lineKey{i + 1, k})
			// Inline tables: name their keys on the same line.
			rest := strings.TrimSpace(l[eq+1:])
			if strings.HasPrefix(rest, "{") {
				for _, part := range strings.Split(strings.Trim(rest, "{}"), ",") {
					if e := strings.IndexByte(part, '='); e > 0 {
						s.lines = append(s.lines, lineKey{i + 1, append(append([]string(nil), k...), splitKey(part[:e])...)})
					}
				}
			}
		}
	}
	return s
}

// underArray places a sub-table of an array of tables ([mirrors.producer]
// after the second [[mirrors]]) under the index of the last such table
// (mirrors.1.producer), so that its keys are found as their runtime names
// them; counts holds how many of each array table were seen.
func underArray(key []string, counts map[string]int) []string {
	for n := len(key) - 1; n > 0; n-- {
		if c := counts[strings.Join(key[:n], ".")]; c > 0 {
			out := append(append([]string(nil), key[:n]...), fmt.Sprint(c-1))
			return append(out, key[n:]...)
		}
	}
	return key
}

func splitKey(s string) []string {
	parts := strings.Split(s, ".")
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		p = strings.Trim(p, `"'`)
		out = append(out, p)
	}
	return out
}

// line returns the line that sets k exactly, else the first line under k.
func (s *source) line(k toml.Key) int {
	want := []string(k)
	// toml.Key for arrays of tables has no index; match ignoring numeric parts.
	match := func(have []string, exact bool) bool {
		hi := 0
		for _, w := range want {
			for hi < len(have) && isIndex(have[hi]) && !isIndex(w) {
				hi++
			}
			if hi >= len(have) || have[hi] != w {
				return false
			}
			hi++
		}
		return !exact || hi == len(have)
	}
	for _, lk := range s.lines {
		if match(lk.key, true) {
			return lk.line
		}
	}
	for _, lk := range s.lines {
		if match(lk.key, false) {
			return lk.line
		}
	}
	return 0
}

// arrayTableLine returns the header line of the i-th [[kind]] table.
func (s *source) arrayTableLine(kind string, i int) int {
	for _, lk := range s.lines {
		if len(lk.key) == 2 && lk.key[0] == kind && lk.key[1] == fmt.Sprint(i) {
			return lk.line
		}
	}
	return 0
}

// KeyLine returns the line in the i-th [[kind]] table that sets key, or the
// table's header line. Runtimes use it to place their own errors.
func (c *Config) KeyLine(kind string, i int, key string) int {
	data, err := readFile(c.Path)
	if err != nil {
		return 0
	}
	s := newSource(c.Path, data)
	want := append([]string{kind, fmt.Sprint(i)}, splitKey(key)...)
	for _, lk := range s.lines {
		if strings.Join(lk.key, ".") == strings.Join(want, ".") {
			return lk.line
		}
	}
	return s.arrayTableLine(kind, i)
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
