package config

// The checks Parse runs on the tables kdeck decodes itself (clusters,
// worker, job names); each returns its problems as *Error values placed on
// their lines.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// unknownKeys reports the keys the decoder did not use, with suggestions;
// a key inside an unknown table is left out (the table is reported), and
// the generic job tables are left to their runtimes.
func unknownKeys(path string, src *source, undecoded []toml.Key) []*Error {
	var errs []*Error
	var reported []string
	for _, k := range undecoded {
		key := k.String()
		if len(k) > 0 && (k[0] == "connectors" || k[0] == "mirrors" || k[0] == "streams") {
			continue // generic tables, validated by their runtime
		}
		under := false
		for _, r := range reported {
			if strings.HasPrefix(key, r+".") {
				under = true
			}
		}
		if under {
			continue // a key inside an unknown table: the table is reported
		}
		reported = append(reported, key)
		errs = append(errs, &Error{Path: path, Line: src.line(k), Key: key, Msg: "unknown key" + suggest(k)})
	}
	return errs
}

// validCluster checks one [clusters.NAME] table (c.Name is set); it
// upper-cases a valid SASL mechanism.
func validCluster(path string, src *source, c *Cluster) []*Error {
	var errs []*Error
	name := c.Name
	at := func(key string) *Error {
		k := toml.Key{"clusters", name, key}
		return &Error{Path: path, Line: src.line(k), Key: k.String()}
	}
	if len(c.Brokers) == 0 {
		e := at("brokers")
		e.Line = src.line(toml.Key{"clusters", name})
		e.Msg = "missing: list at least one host:port"
		errs = append(errs, e)
	}
	for _, b := range c.Brokers {
		if err := validBroker(b); err != nil {
			e := at("brokers")
			e.Msg = err.Error()
			errs = append(errs, e)
		}
	}
	if c.SASL != nil {
		errs = append(errs, validSASL(c.SASL, at("sasl"), src.line(toml.Key{"clusters", name, "sasl", "mechanism"}))...)
	}
	if r := c.SchemaRegistry; r != nil {
		errs = append(errs, validateSchemaRegistry(r, func(key string) *Error {
			k := toml.Key{"clusters", name, "schema_registry", key}
			e := &Error{Path: path, Line: src.line(k), Key: k.String()}
			if e.Line == 0 {
				e.Line = src.line(toml.Key{"clusters", name, "schema_registry"})
			}
			return e
		})...)
	}
	return errs
}

// validSASL checks a cluster's sasl table; at places its problems (the
// mechanism's on mechLine) and a valid mechanism is upper-cased.
func validSASL(s *SASL, at *Error, mechLine int) []*Error {
	var errs []*Error
	problem := func(key string, msg string) *Error {
		e := *at
		e.Key += key
		e.Msg = msg
		errs = append(errs, &e)
		return &e
	}
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		s.Mechanism = strings.ToUpper(s.Mechanism)
	default:
		problem(".mechanism", fmt.Sprintf("%q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)).Line = mechLine
	}
	if s.Username == "" {
		problem(".username", "missing: SASL needs a username")
	}
	n := 0
	for _, v := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		problem("", "set exactly one of password_env, password_file or password")
	}
	return errs
}

// validWorker checks the [worker] table.
func validWorker(path string, src *source, w Worker) []*Error {
	var errs []*Error
	at := func(key, msg string) {
		k := toml.Key{"worker", key}
		errs = append(errs, &Error{Path: path, Line: src.line(k), Key: k.String(), Msg: msg})
	}
	for _, f := range []struct{ key, v string }{{"id", w.ID}, {"group", w.Group}} {
		if f.v != "" && !ValidName(f.v) {
			at(f.key, fmt.Sprintf("%q is not a valid name: use letters, digits, '.', '_' and '-' (at most 100)", f.v))
		}
	}
	for _, f := range []struct{ key, v string }{{"configs_topic", w.ConfigsTopic}, {"status_topic", w.StatusTopic}} {
		if f.v != "" && !ValidName(f.v) {
			at(f.key, fmt.Sprintf("%q is not a valid topic name here: use letters, digits, '.', '_' and '-' (at most 100)", f.v))
		}
	}
	if w.ConfigsTopic != "" && w.ConfigsTopic == w.StatusTopic {
		at("status_topic", fmt.Sprintf("%q is also the configs_topic: give the status its own topic", w.StatusTopic))
	}
	if d := w.SessionTimeout.Duration; d != 0 && (d < time.Second || d > 30*time.Minute) {
		at("session_timeout", fmt.Sprintf("%v is out of range: use 1s to 30m (Apache Kafka brokers require at least 6s by default)", d))
	}
	return errs
}

// ValidName reports whether s can name a worker or a worker group: 1 to 100
// letters, digits, '.', '_' or '-' (it becomes part of a consumer group id).
func ValidName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// jobNameErrors reports a name used by jobs of two kinds: connectors,
// mirrors and stream jobs are addressed by name alone (kdeck run, the
// worker API, the console), so their names are one namespace. Duplicates
// within a kind are left to that kind's validator.
func jobNameErrors(cfg *Config, src *source) []*Error {
	type owner struct {
		kind string
		i    int
	}
	seen := map[string]owner{}
	var errs []*Error
	for _, k := range []struct {
		kind string
		jobs []Job
	}{{"connectors", cfg.Connectors}, {"mirrors", cfg.Mirrors}, {"streams", cfg.Streams}} {
		for i, j := range k.jobs {
			name := j.Name()
			if name == "" {
				continue
			}
			prev, ok := seen[name]
			switch {
			case !ok:
				seen[name] = owner{k.kind, i}
			case prev.kind != k.kind:
				line := src.line(toml.Key{k.kind, fmt.Sprint(i), "name"})
				if line == 0 {
					line = j.Line
				}
				errs = append(errs, &Error{Path: cfg.Path, Line: line, Key: fmt.Sprintf("%s[%d].name", k.kind, i),
					Msg: fmt.Sprintf("%q is already the name of %s[%d]: connectors, mirrors and stream jobs share one namespace of names", name, prev.kind, prev.i)})
			}
		}
	}
	return errs
}

func validBroker(b string) error {
	i := strings.LastIndexByte(b, ':')
	if i <= 0 || i == len(b)-1 {
		return fmt.Errorf("broker %q is not host:port", b)
	}
	for _, r := range b[i+1:] {
		if r < '0' || r > '9' {
			return fmt.Errorf("broker %q has a port that is not a number", b)
		}
	}
	if port, err := strconv.Atoi(b[i+1:]); err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("broker %q has port %s, out of range: use 1-65535", b, b[i+1:])
	}
	return nil
}
