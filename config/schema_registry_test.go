package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaRegistry(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
[clusters.prod]
brokers = ["k1:9092"]
[clusters.prod.schema_registry]
url = ["https://sr1:8081", "https://sr2:8081"]
token_file = "` + tokenFile + `"
timeout = "3s"

[clusters.dev]
brokers = ["127.0.0.1:9092"]
[clusters.dev.schema_registry]
url = "http://127.0.0.1:8081"
username = "ann"
password = "literal"
`
	cfg, err := Parse("k.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	prod := cfg.Clusters["prod"].SchemaRegistry
	if len(prod.URL) != 2 || prod.Timeout.Duration.Seconds() != 3 {
		t.Fatalf("prod registry: %+v", prod)
	}
	if tok, err := prod.ResolveToken(); err != nil || tok != "s3cret" {
		t.Fatalf("token from file: %q, %v", tok, err)
	}
	if cfg.Clusters["dev"].SchemaRegistry.URL[0] != "http://127.0.0.1:8081" {
		t.Fatalf("a single url string: %+v", cfg.Clusters["dev"].SchemaRegistry)
	}
	red, err := cfg.Redacted()
	if err != nil || strings.Contains(red, "literal") || !strings.Contains(red, "<redacted>") {
		t.Fatalf("redacted config shows the registry password: %v\n%s", err, red)
	}

	bad := `
[clusters.prod]
brokers = ["k1:9092"]
[clusters.prod.schema_registry]
url = "sr1:8081"
password = "x"
token = "y"
tiemout = "3s"
`
	_, err = Parse("k.toml", []byte(bad))
	if err == nil {
		t.Fatal("a bad schema_registry table parsed")
	}
	for _, want := range []string{
		`k.toml:5: clusters.prod.schema_registry.url: schema registry URL "sr1:8081" is not an http:// or https:// URL`,
		`clusters.prod.schema_registry.token: use basic auth (username and password) or a bearer token, not both`,
		`clusters.prod.schema_registry.tiemout: unknown key; did you mean "timeout"?`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
