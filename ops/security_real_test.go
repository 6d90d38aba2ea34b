package ops_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// localFor returns a Local over one cluster configuration.
func localFor(t *testing.T, cl *config.Cluster) *ops.Local {
	t.Helper()
	cl.RequestTimeout = config.Duration{Duration: 5 * time.Second}
	cfg := &config.Config{Clusters: map[string]*config.Cluster{cl.Name: cl}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func topicNames(ts []ops.TopicSummary) []string {
	var out []string
	for _, s := range ts {
		out = append(out, s.Name)
	}
	return out
}

// TestSASLSCRAMSHA512 proves kdeck's [clusters.NAME.sasl] settings against
// Apache Kafka's SASL_PLAINTEXT listener with SCRAM-SHA-512: every way of
// giving the password works, and a wrong password or mechanism fails with
// a sentence naming the SASL credentials.
func TestSASLSCRAMSHA512(t *testing.T) {
	kafkatest.NeedsReal(t, "the SASL_PLAINTEXT SCRAM-SHA-512 listener")
	c := kafkatest.New(t)
	c.CreateTopic(t, "secured", 2)
	base, ok := c.SASLConfig()
	if !ok {
		t.Fatal("real cluster without a SASL listener; start it with testing/realkafka/kafka.sh")
	}
	pw := base.SASL.Password
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KDECK_TEST_SCRAM_PW", pw)

	ok1 := []struct {
		name string
		sasl config.SASL
	}{
		{"password", config.SASL{Password: pw}},
		{"password_env", config.SASL{PasswordEnv: "KDECK_TEST_SCRAM_PW"}},
		{"password_file", config.SASL{PasswordFile: pwFile}},
	}
	for _, tc := range ok1 {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.sasl
			s.Mechanism, s.Username = base.SASL.Mechanism, base.SASL.Username
			cl := *base
			cl.SASL = &s
			l := localFor(t, &cl)
			ts, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
			if err != nil {
				t.Fatalf("ListTopics over SCRAM-SHA-512: %v", err)
			}
			if !slices.Contains(topicNames(ts), "secured") {
				t.Fatalf("topics over SASL = %v, want secured", topicNames(ts))
			}
		})
	}

	t.Run("produce_and_read", func(t *testing.T) {
		l := localFor(t, base)
		res, err := l.Produce(ctx(t), "", "secured", func(yield func(ops.ProduceRecord, error) bool) {
			for i := range 5 {
				if !yield(ops.ProduceRecord{Value: []byte{byte('a' + i)}, Partition: 0}, nil) {
					return
				}
			}
		})
		if err != nil || res.Records != 5 {
			t.Fatalf("produce over SASL = %+v, %v", res, err)
		}
		n := 0
		if err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "secured", Partitions: []int32{0}}, func(ops.Record) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 5 {
			t.Errorf("read %d records over SASL, want 5", n)
		}
	})

	bad := []struct {
		name string
		sasl config.SASL
	}{
		{"wrong_password", config.SASL{Mechanism: "SCRAM-SHA-512", Username: base.SASL.Username, Password: "not-" + pw}},
		{"unknown_user", config.SASL{Mechanism: "SCRAM-SHA-512", Username: "nobody", Password: pw}},
		{"mechanism_not_enabled", config.SASL{Mechanism: "SCRAM-SHA-256", Username: base.SASL.Username, Password: pw}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			cl := *base
			s := tc.sasl
			cl.SASL = &s
			l := localFor(t, &cl)
			start := time.Now()
			_, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
			if err == nil {
				t.Fatal("ListTopics with bad SASL settings succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), "rejected the SASL credentials") || !strings.Contains(err.Error(), "check the username, password and mechanism") {
				t.Errorf("error = %q, want one naming the SASL credentials", err)
			}
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("bad credentials took %v to fail", took)
			}
		})
	}
}

// TestTLS proves kdeck's [clusters.NAME.tls] settings against Apache Kafka's
// SSL listener with a certificate signed by a CA generated at test time.
func TestTLS(t *testing.T) {
	kafkatest.NeedsReal(t, "the SSL listener")
	c := kafkatest.New(t)
	c.CreateTopic(t, "encrypted", 1)
	base, ok := c.TLSConfig()
	if !ok {
		t.Fatal("real cluster without an SSL listener; start it with testing/realkafka/kafka.sh")
	}
	tests := []struct {
		name    string
		tls     config.TLS
		wantErr string // "" means ListTopics works
	}{
		{"ca_file", config.TLS{Enabled: true, CAFile: base.TLS.CAFile}, ""},
		{"ca_file_server_name", config.TLS{Enabled: true, CAFile: base.TLS.CAFile, ServerName: "localhost"}, ""},
		{"insecure_skip_verify", config.TLS{Enabled: true, InsecureSkipVerify: true}, ""},
		{"unknown_ca", config.TLS{Enabled: true}, "TLS certificate kdeck does not trust"},
		{"wrong_server_name", config.TLS{Enabled: true, CAFile: base.TLS.CAFile, ServerName: "kafka.example"}, "check tls.ca_file and tls.server_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := *base
			tl := tc.tls
			cl.TLS = &tl
			l := localFor(t, &cl)
			ts, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ListTopics over TLS: %v", err)
				}
				if !slices.Contains(topicNames(ts), "encrypted") {
					t.Fatalf("topics over TLS = %v, want encrypted", topicNames(ts))
				}
				return
			}
			if err == nil {
				t.Fatal("ListTopics with an untrusted certificate succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to mention %q", err, tc.wantErr)
			}
		})
	}
	t.Run("plaintext_client_on_tls_listener", func(t *testing.T) {
		cl := *base
		cl.TLS = nil
		l := localFor(t, &cl)
		_, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
		if err == nil {
			t.Fatal("a plaintext client listed topics on the SSL listener")
		}
		if !strings.Contains(err.Error(), "set tls.enabled = true") {
			t.Errorf("error = %q, want it to say to enable TLS", err)
		}
		t.Logf("error: %v", err)
	})
}

// TestMutualTLS proves tls.cert_file and tls.key_file against an Apache
// Kafka listener with ssl.client.auth=required: with the client certificate
// kdeck lists topics; without it the broker refuses the handshake.
func TestMutualTLS(t *testing.T) {
	kafkatest.NeedsReal(t, "the SSL listener requiring client certificates")
	c := kafkatest.New(t)
	c.CreateTopic(t, "mutual", 1)
	base, ok := c.MTLSConfig()
	if !ok {
		t.Fatal("real cluster without a mutual-TLS listener; start it with testing/realkafka/kafka.sh")
	}
	t.Run("client_certificate", func(t *testing.T) {
		l := localFor(t, base)
		ts, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
		if err != nil {
			t.Fatalf("ListTopics with a client certificate: %v", err)
		}
		if !slices.Contains(topicNames(ts), "mutual") {
			t.Fatalf("topics over mTLS = %v, want mutual", topicNames(ts))
		}
	})
	t.Run("no_client_certificate", func(t *testing.T) {
		cl := *base
		tl := *base.TLS
		tl.CertFile, tl.KeyFile = "", ""
		cl.TLS = &tl
		l := localFor(t, &cl)
		_, err := l.ListTopics(ctx(t), "", ops.ListTopicsOptions{})
		if err == nil {
			t.Fatal("ListTopics without a client certificate succeeded on a listener that requires one")
		}
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), "tls.cert_file") {
			t.Errorf("error = %q, want it to point at tls.cert_file and tls.key_file", err)
		}
	})
}
