package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Parse's checks of the keys and of the [clusters.NAME] tables.

// unknownKeys reports the keys TOML did not decode into Config: each
// unknown key once with a suggestion, and an unknown table once (not its
// keys). The job tables are left to their runtimes.
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

// validCluster checks one [clusters.NAME] table: brokers, SASL and the
// Schema Registry.
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
	if s := c.SASL; s != nil {
		errs = append(errs, validSASL(s, at, src.line(toml.Key{"clusters", name, "sasl", "mechanism"}))...)
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

// validSASL checks a cluster's sasl table and upper-cases its mechanism;
// at makes an error for a key of the cluster, mechLine is the line of
// sasl.mechanism.
func validSASL(s *SASL, at func(key string) *Error, mechLine int) []*Error {
	var errs []*Error
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		s.Mechanism = strings.ToUpper(s.Mechanism)
	default:
		e := at("sasl")
		e.Key += ".mechanism"
		e.Line = mechLine
		e.Msg = fmt.Sprintf("%q is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
		errs = append(errs, e)
	}
	if s.Username == "" {
		e := at("sasl")
		e.Key += ".username"
		e.Msg = "missing: SASL needs a username"
		errs = append(errs, e)
	}
	n := 0
	for _, v := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		e := at("sasl")
		e.Msg = "set exactly one of password_env, password_file or password"
		errs = append(errs, e)
	}
	return errs
}
