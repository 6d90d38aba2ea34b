package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	src := `
default_cluster = "prod"

[clusters.prod]
brokers = ["k1:9092", "k2:9092"]
client_id = "ops"
dial_timeout = "2s"
[clusters.prod.sasl]
mechanism = "scram-sha-512"
username = "admin"
password_env = "KDECK_TEST_PW"
[clusters.prod.tls]
enabled = true

[clusters.dev]
brokers = ["127.0.0.1:9092"]

[ops]
data_dir = "/tmp/kdeck"
read_only = true

[[connectors]]
name = "app-log"
class = "file-source"
path = "/var/log/*.log"
`
	cfg, err := Parse("k.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Default() != "prod" || len(cfg.Clusters) != 2 || cfg.Clusters["prod"].SASL.Mechanism != "SCRAM-SHA-512" {
		t.Errorf("cfg = %+v", cfg)
	}
	if cfg.Clusters["prod"].DialTimeout.Duration.Seconds() != 2 || !cfg.Ops.ReadOnly {
		t.Errorf("dial timeout / read only not decoded: %+v", cfg.Ops)
	}
	if len(cfg.Connectors) != 1 || cfg.Connectors[0].Name() != "app-log" || cfg.Connectors[0].Line != 22 {
		t.Errorf("connectors = %+v", cfg.Connectors)
	}
	if got := cfg.KeyLine("connectors", 0, "path"); got != 0 { // no file on disk: unknown
		t.Errorf("KeyLine without a file = %d", got)
	}
}

func TestParseErrorsAllAtOnce(t *testing.T) {
	src := `default_cluster = "prd"

[clusters.prod]
brokerz = ["k1:9092"]
client_id = "x"

[clusters.prod.sasl]
mechanism = "GSSAPI"
username = "u"

[opps]
read_only = true
`
	_, err := Parse("bad.toml", []byte(src))
	var ce *Errors
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`bad.toml:4: clusters.prod.brokerz: unknown key; did you mean "brokers"?`,
		`bad.toml:11: opps: unknown key; did you mean "ops"?`,
		`bad.toml:3: clusters.prod.brokers: missing`,
		`bad.toml:8: clusters.prod.sasl.mechanism: "GSSAPI" is not supported`,
		`set exactly one of password_env, password_file or password`,
		`bad.toml:1: default_cluster: cluster "prd" is not defined; did you mean "prod"?`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if len(ce.List) != 6 {
		t.Errorf("%d errors, want 6:\n%s", len(ce.List), msg)
	}
}

func TestParseMalformed(t *testing.T) {
	_, err := Parse("m.toml", []byte("[clusters.prod\nbrokers = 1\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "m.toml:2: ") {
		t.Errorf("err = %v", err)
	}
	_, err = Parse("m.toml", []byte("[clusters.prod]\nbrokers = \"k1\"\n"))
	if err == nil || !strings.Contains(err.Error(), "m.toml") {
		t.Errorf("wrong type: %v", err)
	}
}

func TestLookupOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("KDECK_CONFIG", "")
	if got := Lookup(""); got != "" {
		t.Errorf("nothing present: %q", got)
	}
	os.MkdirAll(filepath.Join(dir, "xdg", "kdeck"), 0o755)
	os.WriteFile(filepath.Join(dir, "xdg", "kdeck", "config.toml"), nil, 0o644)
	if got := Lookup(""); got != filepath.Join(dir, "xdg", "kdeck", "config.toml") {
		t.Errorf("xdg: %q", got)
	}
	os.WriteFile("kdeck.toml", nil, 0o644)
	if got := Lookup(""); got != "kdeck.toml" {
		t.Errorf("cwd: %q", got)
	}
	t.Setenv("KDECK_CONFIG", "/env.toml")
	if got := Lookup(""); got != "/env.toml" {
		t.Errorf("env: %q", got)
	}
	if got := Lookup("/flag.toml"); got != "/flag.toml" {
		t.Errorf("flag: %q", got)
	}
	if _, err := Load("/does/not/exist.toml"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	src := `[clusters.a]
brokers = ["h:1"]
[clusters.a.sasl]
mechanism = "PLAIN"
username = "u"
password = "literal-secret"
[clusters.b]
brokers = ["h:1"]
[clusters.b.sasl]
mechanism = "PLAIN"
username = "u"
password_file = "` + pwFile + `"
[clusters.c]
brokers = ["h:1"]
[clusters.c.sasl]
mechanism = "PLAIN"
username = "u"
password_env = "KDECK_UNSET_PW"
[[connectors]]
name = "pg"
db_password = "hunter2"
db_password_env = "PGPW"
`
	cfg, err := Parse("s.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"literal-secret", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "PGPW") || !strings.Contains(out, pwFile) {
		t.Errorf("references should show:\n%s", out)
	}
	if pw, err := cfg.Clusters["b"].SASL.ResolvePassword(); err != nil || pw != "s3cret" {
		t.Errorf("file password = %q, %v", pw, err)
	}
	os.Unsetenv("KDECK_UNSET_PW")
	if _, err := cfg.Clusters["c"].SASL.ResolvePassword(); err == nil || !strings.Contains(err.Error(), "KDECK_UNSET_PW is not set") {
		t.Errorf("unset env: %v", err)
	}
}

func TestAdHoc(t *testing.T) {
	if c, err := AdHoc("a:1, b:2"); err != nil || len(c.Brokers) != 2 {
		t.Errorf("%+v %v", c, err)
	}
	for _, bad := range []string{"", "nohost", "h:port", ":9092"} {
		if _, err := AdHoc(bad); err == nil {
			t.Errorf("AdHoc(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("[clusters.a]\nbrokers=[\"h:1\"]\n")
	f.Add("default_cluster = 1\n[[connectors]]\nname='x'\n")
	f.Add("[clusters.a.sasl]\nmechanism='PLAIN'\n")
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := Parse("f.toml", []byte(s))
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

// TestRedactedNestedAndKeyMaterial: secrets under nested tables (a
// transform's keys, a connector's sub-table), key material and passwords
// inside connection strings are redacted; record keys and references are not.
func TestRedactedNestedAndKeyMaterial(t *testing.T) {
	src := `
[[connectors]]
name = "pg"
class = "postgres-sink"
connection_url = "postgres://app:pw-in-url@db:5432/orders"
dsn = "host=db user=app password=pw-in-dsn dbname=orders"
ssl_key = "-----BEGIN PRIVATE KEY-----pem-body"
api_key = "ak-123"
key_converter = "string"
key_file = "/etc/kdeck/key.pem"
[connectors.auth]
bearer_token = "tok-nested"
client_private_key = "pk-nested"
[[connectors.transforms]]
type = "insert_header"
header = "auth"
signing_key = "sign-in-transform"
[[streams]]
name = "s"
key = "value.customer"
`
	cfg, err := Parse("n.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"pw-in-url", "pw-in-dsn", "pem-body", "ak-123", "tok-nested", "pk-nested", "sign-in-transform"} {
		if strings.Contains(out, secret) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}
	for _, shown := range []string{"postgres://app:", "@db:5432/orders", "value.customer", `key_converter = "string"`, "/etc/kdeck/key.pem", "insert_header"} {
		if !strings.Contains(out, shown) {
			t.Errorf("%q should show:\n%s", shown, out)
		}
	}
	for k, want := range map[string]bool{"key": false, "routing_key": false, "key_prefix": false, "ssl_key": true, "sasl.jaas.config": true, "Private_Key": true, "access_key_env": false} {
		if got := IsSecretKey(k); got != want {
			t.Errorf("IsSecretKey(%q) = %v, want %v", k, got, want)
		}
	}
}
