package kafkatest

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/config"
)

// The real tier's environment, written by testing/realkafka/kafka.sh env.
// Cluster i > 1 has the suffix _i (KDECK_TEST_KAFKA_BROKERS_2, ...). A
// variable not set is read from the env file kafka.sh start leaves in
// $KDECK_REALKAFKA_DIR (default /tmp/kdeck-realkafka).
const (
	EnvBackend       = "KDECK_TEST_KAFKA"                // "real" selects Apache Kafka
	EnvBrokers       = "KDECK_TEST_KAFKA_BROKERS"        // PLAINTEXT bootstrap addresses, comma separated
	EnvSASLAddr      = "KDECK_TEST_KAFKA_SASL_ADDR"      // SASL_PLAINTEXT listener (SCRAM-SHA-512)
	EnvTLSAddr       = "KDECK_TEST_KAFKA_TLS_ADDR"       // SSL listener
	EnvMTLSAddr      = "KDECK_TEST_KAFKA_MTLS_ADDR"      // SSL listener requiring a client certificate
	EnvSASLUser      = "KDECK_TEST_KAFKA_SASL_USER"      // SCRAM user created at format time
	EnvSASLPassword  = "KDECK_TEST_KAFKA_SASL_PASSWORD"  // its password
	EnvSASLMechanism = "KDECK_TEST_KAFKA_SASL_MECHANISM" // SCRAM-SHA-512
	EnvTLSCA         = "KDECK_TEST_KAFKA_TLS_CA"         // PEM file of the CA that signed the brokers' certificate
	EnvTLSCert       = "KDECK_TEST_KAFKA_TLS_CERT"       // PEM client certificate signed by that CA
	EnvTLSKey        = "KDECK_TEST_KAFKA_TLS_KEY"        // its PEM private key
	EnvLib           = "KDECK_TEST_KAFKA_LIB"            // directory of the resolved Kafka jars (java -cp DIR/*)
	EnvVersion       = "KDECK_TEST_KAFKA_VERSION"        // Apache Kafka version of the clusters (4.4.0, 3.9.2)
)

// SkipNeedsFake is the reason a test that needs kfake's fault injection
// gives when it runs on the real tier.
const SkipNeedsFake = "needs kfake fault injection; runs on the embedded tier"

// realInfo holds a real cluster's extra listeners.
type realInfo struct {
	index    int
	saslAddr string
	tlsAddr  string
	mtlsAddr string
}

// inUse marks real clusters held by a running test, so that a test (or its
// parent) holding cluster 1 gets cluster 2 for its second New.
var (
	realMu    sync.Mutex
	realInUse = map[int]bool{}
)

func envN(key string, i int) string {
	if i > 1 {
		key += "_" + strconv.Itoa(i)
	}
	return getenv(key)
}

// stateEnv is the env file kafka.sh start writes, read once, so that
// KDECK_TEST_KAFKA=real alone reuses running clusters without an eval.
var stateEnv = sync.OnceValue(func() map[string]string {
	dir := os.Getenv("KDECK_REALKAFKA_DIR")
	if dir == "" {
		dir = "/tmp/kdeck-realkafka"
	}
	b, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if ok {
			m[k] = strings.Trim(v, "'")
		}
	}
	return m
})

// getenv reads key from the environment, then from kafka.sh's env file.
func getenv(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return stateEnv()[key]
}

// RealClusters returns how many real clusters the environment describes
// (0 on the embedded backend or when none was started).
func RealClusters() int {
	if Backend() != "real" {
		return 0
	}
	n := 0
	for envN(EnvBrokers, n+1) != "" {
		n++
	}
	return n
}

// newReal hands the test the lowest-numbered real cluster no running test
// holds, after deleting every user topic and group on it.
func newReal(t testing.TB, op opts) *Cluster {
	t.Helper()
	n := RealClusters()
	if n == 0 {
		t.Fatalf("kafkatest: %s=real but %s is not set; start the clusters with testing/realkafka/kafka.sh start and eval \"$(testing/realkafka/kafka.sh env)\"", EnvBackend, EnvBrokers)
	}
	realMu.Lock()
	idx := 0
	for i := 1; i <= n; i++ {
		if !realInUse[i] {
			idx = i
			realInUse[i] = true
			break
		}
	}
	realMu.Unlock()
	if idx == 0 {
		t.Fatalf("kafkatest: all %d real clusters are held by running tests; start more with testing/realkafka/kafka.sh start N", n)
	}
	t.Cleanup(func() {
		realMu.Lock()
		delete(realInUse, idx)
		realMu.Unlock()
	})
	c := &Cluster{
		addrs: strings.Split(envN(EnvBrokers, idx), ","),
		name:  op.name,
		t:     t,
		real:  &realInfo{index: idx, saslAddr: envN(EnvSASLAddr, idx), tlsAddr: envN(EnvTLSAddr, idx), mtlsAddr: envN(EnvMTLSAddr, idx)},
	}
	c.wipe(t)
	return c
}

// wipe deletes every consumer group and non-internal topic, so that a test
// starts on an empty cluster as it does on kfake. Groups with members left
// by an earlier test are retried until the session timeout evicts them.
func (c *Cluster) wipe(t testing.TB) {
	t.Helper()
	// A short metadata age: kgo answers repeated metadata requests from a
	// cache for MetadataMinAge (5s by default), hiding the deletions.
	adm := kadm.NewClient(c.Client(t, kgo.MetadataMinAge(10*time.Millisecond)))
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for {
		cx := ctx(t)
		groups, gerr := adm.ListGroups(cx)
		topics, terr := adm.ListTopics(cx)
		if err := errors.Join(gerr, terr); err != nil {
			last = err
		} else if len(groups) == 0 && len(topics) == 0 {
			return
		} else {
			last = nil
			if len(groups) > 0 {
				resp, err := adm.DeleteGroups(cx, groups.Groups()...)
				if err != nil {
					last = err
				}
				for _, r := range resp {
					if r.Err != nil && !errors.Is(r.Err, kerr.GroupIDNotFound) {
						last = errors.Join(last, errors.New(r.Group+": "+r.Err.Error()))
					}
				}
			}
			if len(topics) > 0 {
				if _, err := adm.DeleteTopics(cx, topics.Names()...); err != nil {
					last = errors.Join(last, err)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafkatest: cannot empty real cluster %d (%s) for the test: %v", c.real.index, c.Addr(), last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// IsReal reports whether c is an Apache Kafka cluster of the real tier.
func (c *Cluster) IsReal() bool { return c.real != nil }

// NeedsFake skips the test on the real tier: for tests that need a kfake
// capability Apache Kafka does not offer (fault injection, restarts from a
// data dir). It is the one allowed skip of a backend.
func (c *Cluster) NeedsFake(t testing.TB) {
	t.Helper()
	if c.Fake == nil {
		t.Skip(SkipNeedsFake)
	}
}

// NeedsReal skips the test on the embedded tier: for tests that need a
// capability only the real tier's clusters offer (their SASL and TLS
// listeners, Apache tools).
func NeedsReal(t testing.TB, what string) {
	t.Helper()
	if Backend() != "real" {
		t.Skipf("needs %s of Apache Kafka; runs on the real tier (%s=real)", what, EnvBackend)
	}
}

// Version returns the Apache Kafka version of the real tier's clusters
// (kafka.sh env), or "" on the embedded backend or when it is not known.
func Version() string {
	if Backend() != "real" {
		return ""
	}
	return getenv(EnvVersion)
}

// KIP848 reports whether the backend serves KIP-848 consumer groups
// (group.protocol=consumer): kfake and Apache Kafka 4.x do; Apache Kafka 3.x
// brokers serve only classic groups (KIP-848 is preview-only in 3.7-3.9 and
// off by default).
func KIP848() bool { return !strings.HasPrefix(Version(), "3.") }

// SkipNoKIP848 is the reason a test that needs a KIP-848 group gives on a
// 3.x broker.
const SkipNoKIP848 = "needs KIP-848 consumer groups; Apache Kafka 3.x brokers serve only classic groups (the real tier runs this on 4.x)"

// RequireKIP848 skips the test on a real tier whose brokers are Apache
// Kafka 3.x, which has no KIP-848 groups; everywhere else it does nothing.
// ActiveMember and JavaMember call it for a KIP-848 member.
func RequireKIP848(t testing.TB) {
	t.Helper()
	if !KIP848() {
		t.Skipf("%s (brokers: Apache Kafka %s)", SkipNoKIP848, Version())
	}
}

// SASLConfig returns a config.Cluster reaching c through its SASL_PLAINTEXT
// listener with SCRAM-SHA-512 and the harness's user, or false when c has
// no such listener (the embedded backend).
func (c *Cluster) SASLConfig() (*config.Cluster, bool) {
	if c.real == nil || c.real.saslAddr == "" {
		return nil, false
	}
	mech := getenv(EnvSASLMechanism)
	if mech == "" {
		mech = "SCRAM-SHA-512"
	}
	return &config.Cluster{Name: c.name, Brokers: []string{c.real.saslAddr}, SASL: &config.SASL{
		Mechanism: mech,
		Username:  getenv(EnvSASLUser),
		Password:  getenv(EnvSASLPassword),
	}}, true
}

// TLSConfig returns a config.Cluster reaching c through its SSL listener,
// trusting the harness's CA, or false when c has no such listener.
func (c *Cluster) TLSConfig() (*config.Cluster, bool) {
	if c.real == nil || c.real.tlsAddr == "" {
		return nil, false
	}
	return &config.Cluster{Name: c.name, Brokers: []string{c.real.tlsAddr}, TLS: &config.TLS{
		Enabled: true,
		CAFile:  getenv(EnvTLSCA),
	}}, true
}

// MTLSConfig returns a config.Cluster reaching c through its SSL listener
// that requires a client certificate, with the harness's CA and client
// certificate and key, or false when c has no such listener.
func (c *Cluster) MTLSConfig() (*config.Cluster, bool) {
	if c.real == nil || c.real.mtlsAddr == "" {
		return nil, false
	}
	return &config.Cluster{Name: c.name, Brokers: []string{c.real.mtlsAddr}, TLS: &config.TLS{
		Enabled:  true,
		CAFile:   getenv(EnvTLSCA),
		CertFile: getenv(EnvTLSCert),
		KeyFile:  getenv(EnvTLSKey),
	}}, true
}

// KafkaLib returns the directory of the resolved Apache Kafka jars, for
// tests that run Apache tools (java -cp DIR/*), or "" when unknown.
func KafkaLib() string { return getenv(EnvLib) }

// JavaMember joins group as a member of Apache Kafka's own consumer
// (kafka-console-consumer, run with java on the resolved jars) reading
// topic, and returns once the group is stable with it; with kip848 it uses
// group.protocol=consumer. The member's client id is "kafkatest-java". It
// stops when stop is called or the test ends. Real tier only: on the
// embedded tier the test is skipped.
func (c *Cluster) JavaMember(t testing.TB, group string, kip848 bool, topic string) (stop func()) {
	t.Helper()
	NeedsReal(t, "Apache Kafka's Java consumer")
	lib := KafkaLib()
	if lib == "" {
		t.Fatalf("kafkatest: %s is not set; start the clusters with testing/realkafka/kafka.sh", EnvLib)
	}
	proto := "classic"
	if kip848 {
		RequireKIP848(t)
		proto = "consumer"
	}
	// 4.x names the consumer's properties --command-property; 3.x has only
	// --consumer-property (deprecated in 4.x).
	prop := "--command-property"
	if !KIP848() {
		prop = "--consumer-property"
	}
	cmd := exec.Command("java", "-Xmx128m", "-cp", filepath.Join(lib, "*"),
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"org.apache.kafka.tools.consumer.ConsoleConsumer",
		"--bootstrap-server", c.Addr(), "--group", group, "--topic", topic,
		prop, "group.protocol="+proto,
		prop, "client.id=kafkatest-java")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("kafkatest: start the Java consumer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	adm := c.Admin(t)
	deadline := time.Now().Add(60 * time.Second) // a JVM start and a join
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("kafkatest: the Java consumer exited: %s", out.String())
		default:
		}
		if kip848 {
			d, err := adm.DescribeConsumerGroups(ctx(t), group)
			if err == nil && len(d[group].Members) > 0 && len(d[group].Members[0].Assignment) > 0 {
				return stop
			}
		} else {
			d, err := adm.DescribeGroups(ctx(t), group)
			if err == nil && d[group].State == "Stable" && len(d[group].Members) > 0 {
				return stop
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop() // out is written until the process exits
	t.Fatalf("kafkatest: group %s of the Java consumer did not become stable: %s", group, out.String())
	return stop
}
