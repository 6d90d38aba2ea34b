package config

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// SchemaRegistry is a cluster's [clusters.NAME.schema_registry] table: a
// Confluent-API Schema Registry that decodes and encodes the cluster's
// records. Basic auth (username with password, password_env or
// password_file) or a bearer token (token, token_env or token_file); TLS
// defaults to the cluster's tls table for https URLs.
type SchemaRegistry struct {
	// URL is one URL or a list, tried in order.
	URL          URLList `toml:"url"`
	Username     string  `toml:"username"`
	Password     string  `toml:"password"`
	PasswordEnv  string  `toml:"password_env"`
	PasswordFile string  `toml:"password_file"`
	Token        string  `toml:"token"`
	TokenEnv     string  `toml:"token_env"`
	TokenFile    string  `toml:"token_file"`
	TLS          *TLS    `toml:"tls"`
	// Timeout bounds each registry request; default 10s.
	Timeout Duration `toml:"timeout"`
}

// URLList is a TOML string or array of strings.
type URLList []string

// UnmarshalTOML takes a string or an array of strings.
func (u *URLList) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		*u = URLList{x}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("url must be a string or a list of strings")
			}
			*u = append(*u, s)
		}
	default:
		return fmt.Errorf("url must be a string or a list of strings")
	}
	return nil
}

// MarshalTOML writes the list as an array.
func (u URLList) MarshalTOML() ([]byte, error) {
	parts := make([]string, len(u))
	for i, s := range u {
		parts[i] = fmt.Sprintf("%q", s)
	}
	return []byte("[" + strings.Join(parts, ", ") + "]"), nil
}

// validateSchemaRegistry returns the problems of one schema_registry table.
func validateSchemaRegistry(r *SchemaRegistry, at func(key string) *Error) []*Error {
	var errs []*Error
	if len(r.URL) == 0 {
		e := at("url")
		e.Msg = "missing: give the registry's URL, such as \"http://127.0.0.1:8081\""
		errs = append(errs, e)
	}
	for _, s := range r.URL {
		if err := ValidRegistryURL(s); err != nil {
			e := at("url")
			e.Msg = err.Error()
			errs = append(errs, e)
		}
	}
	count := func(vs ...string) int {
		n := 0
		for _, v := range vs {
			if v != "" {
				n++
			}
		}
		return n
	}
	pw := count(r.Password, r.PasswordEnv, r.PasswordFile)
	tok := count(r.Token, r.TokenEnv, r.TokenFile)
	switch {
	case pw > 1:
		e := at("password")
		e.Msg = "set only one of password_env, password_file or password"
		errs = append(errs, e)
	case tok > 1:
		e := at("token")
		e.Msg = "set only one of token_env, token_file or token"
		errs = append(errs, e)
	case (pw > 0 || r.Username != "") && tok > 0:
		e := at("token")
		e.Msg = "use basic auth (username and password) or a bearer token, not both"
		errs = append(errs, e)
	case pw > 0 && r.Username == "":
		e := at("username")
		e.Msg = "missing: basic auth needs a username beside the password"
		errs = append(errs, e)
	}
	return errs
}

// ValidRegistryURL checks a schema registry URL (also --registry).
func ValidRegistryURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("schema registry URL %q is not an http:// or https:// URL", s)
	}
	return nil
}

// ResolvePassword returns the basic-auth password from its env var, file or
// literal ("" when none is set).
func (r *SchemaRegistry) ResolvePassword() (string, error) {
	return resolveSecret("schema registry password", r.Password, r.PasswordEnv, r.PasswordFile)
}

// ResolveToken returns the bearer token from its env var, file or literal
// ("" when none is set).
func (r *SchemaRegistry) ResolveToken() (string, error) {
	return resolveSecret("schema registry token", r.Token, r.TokenEnv, r.TokenFile)
}

// resolveSecret reads a secret from env (preferred), file, or the literal.
func resolveSecret(what, literal, env, file string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s env var %s is not set: export it or use a _file key", what, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(expandHome(file))
		if err != nil {
			return "", fmt.Errorf("cannot read %s file %s: %v", what, file, unwrapPathErr(err))
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return literal, nil
	}
}

var _ toml.Unmarshaler = (*URLList)(nil)
