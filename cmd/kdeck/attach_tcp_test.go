package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir and returns their paths.
func testPKI(t *testing.T, dir string) (ca, srvCert, srvKey, cliCert, cliKey string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kdeck test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, name string) (string, string) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", kb)
	}
	ca = write("ca.crt", "CERTIFICATE", caDER)
	srvCert, srvKey = leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, "server")
	cliCert, cliKey = leaf(3, "ops", x509.ExtKeyUsageClientAuth, "client")
	return
}

// TestAttachTCP runs 'kdeck run' on TCP with TLS, client certificates and
// tokens, and attaches a CLI with [client]: an operate token controls the
// connector, a read token is refused (exit 3, its name said), a wrong token
// is refused, and a client without a certificate fails with exit 1. A
// non-loopback address without TLS and tokens is refused at start.
func TestAttachTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	bin := buildKdeck(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "lines", 1)
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "a.log"), "a", 0, 10)
	data := filepath.Join(dir, "data")
	jobs := fmt.Sprintf(`
[[connectors]]
name = "tail"
class = "file-source"
path = %q
topic = "lines"
`, filepath.Join(dir, "a.log"))
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Refused: all interfaces without TLS and tokens.
	open := write("open.toml", c.TOML()+fmt.Sprintf("[ops]\ndata_dir = %q\n", data)+jobs)
	_, errOut, code := kdeckProc(t, bin, "--config", open, "run", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errOut, "tls_cert and tls_key and tokens_file") || strings.Contains(errOut, "goroutine") {
		t.Fatalf("run --listen 0.0.0.0:0 without TLS: exit %d: %s", code, errOut)
	}

	ca, sc, sk, cc, ck := testPKI(t, dir)
	tokens := write("tokens", "# role token name\noperate op-secret ci\nread read-secret grafana\n")
	srvCfg := write("server.toml", c.TOML()+fmt.Sprintf(`
[ops]
data_dir = %q

[server]
listen = "0.0.0.0:0"
tokens_file = %q
tls_cert = %q
tls_key = %q
client_ca = %q
`, data, tokens, sc, sk, ca)+jobs)
	w := startAPIWorker(t, bin, srvCfg, filepath.Join(data, api.SocketName), "--log-format", "json")
	re := regexp.MustCompile(`"addr":"[^"]*:(\d+)"`)
	var port string
	deadline := time.Now().Add(10 * time.Second)
	for port == "" && time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(w.stderr.String()); m != nil {
			port = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if port == "" {
		t.Fatalf("the worker did not log its TCP address:\n%s", w.stderr)
	}
	client := func(name, token string, withCert bool) string {
		tf := write(name+".token", token+"\n")
		body := fmt.Sprintf("[ops]\ndata_dir = %q\n\n[client]\nserver = \"https://127.0.0.1:%s\"\ntoken_file = %q\nca_cert = %q\n", filepath.Join(dir, "clientdata"), port, tf, ca)
		if withCert {
			body += fmt.Sprintf("tls_cert = %q\ntls_key = %q\n", cc, ck)
		}
		return write(name+".toml", body)
	}
	op, reader, wrong, nocert := client("op", "op-secret", true), client("reader", "read-secret", true), client("wrong", "nope", true), client("nocert", "op-secret", false)

	out, errOut, code := kdeckProc(t, bin, "--config", op, "connect", "list")
	if code != 0 || !strings.Contains(out, "tail") || strings.Contains(out, "UNASSIGNED") {
		t.Fatalf("connect list over TLS: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := kdeckProc(t, bin, "--config", reader, "connect", "pause", "tail"); code != 3 || !strings.Contains(errOut, "token:grafana") {
		t.Fatalf("pause with a read token: exit %d: %s", code, errOut)
	}
	if out, errOut, code := kdeckProc(t, bin, "--config", reader, "connect", "status", "tail"); code != 0 || !strings.Contains(out, "tail") {
		t.Fatalf("status with a read token: exit %d: %s", code, errOut)
	}
	if _, errOut, code := kdeckProc(t, bin, "--config", wrong, "connect", "list"); code != 3 || !strings.Contains(errOut, "bearer token") {
		t.Fatalf("a wrong token: exit %d: %s", code, errOut)
	}
	if _, errOut, code := kdeckProc(t, bin, "--config", nocert, "connect", "list"); code != 1 || !strings.Contains(errOut, "did not answer") {
		t.Fatalf("no client certificate: exit %d: %s", code, errOut)
	}
	if _, errOut, code := kdeckProc(t, bin, "--config", op, "connect", "pause", "tail"); code != 0 {
		t.Fatalf("pause with an operate token: exit %d: %s", code, errOut)
	}
	out, _, _ = kdeckProc(t, bin, "--config", srvCfg, "--server", "none", "audit", "list", "-o", "json")
	if !strings.Contains(out, `"user": "token:ci"`) && !strings.Contains(out, `"user":"token:ci"`) {
		t.Fatalf("the audit log does not name the token:\n%s", out)
	}
}
