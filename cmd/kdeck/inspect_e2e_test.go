package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// kdeckRun runs the CLI in-process and returns its exit code and output.
func kdeckRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	t.Setenv("KDECK_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code = run(cx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// kdeckJSON runs the CLI with -o json and decodes its output into v.
func kdeckJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := kdeckRun(t, append(args, "-o", "json")...)
	if code != exitOK {
		t.Fatalf("kdeck %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("kdeck %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestInspectEndToEnd runs the inspection commands against a cluster of the
// current backend (kfake, or Apache Kafka with KDECK_TEST_KAFKA=real):
// clusters, topics list and describe, groups list and describe (an empty
// group with commits, a live classic group and a live KIP-848 group), and
// tail.
func TestInspectEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	c := kafkatest.New(t)
	c.CreateTopic(t, "orders", 3)
	c.ProduceN(t, "orders", 30) // 10 per partition
	c.Commit(t, "billing", map[string]map[int32]int64{"orders": {0: 4, 1: 10, 2: 0}})
	stopClassic := c.ActiveMember(t, "classic-live", false, "orders")
	defer stopClassic()
	// Apache Kafka 3.x has no KIP-848 groups: the rest still runs.
	live := []string{"classic-live"}
	if kafkatest.KIP848() {
		stop848 := c.ActiveMember(t, "kip848-live", true, "orders")
		defer stop848()
		live = append(live, "kip848-live")
	} else {
		t.Log(kafkatest.SkipNoKIP848 + ": the KIP-848 group is left out")
	}
	b := []string{"-b", c.Addr()}

	t.Run("clusters", func(t *testing.T) {
		var cis []ops.ClusterInfo
		kdeckJSON(t, &cis, append([]string{"clusters"}, b...)...)
		if len(cis) != 1 || !cis[0].Reachable || len(cis[0].Brokers) != 1 || cis[0].ClusterID == "" {
			t.Fatalf("clusters = %+v", cis)
		}
		if cis[0].Topics < 1 || cis[0].Groups < 1+len(live) {
			t.Errorf("clusters counts topics=%d groups=%d, want >=1 and >=%d", cis[0].Topics, cis[0].Groups, 1+len(live))
		}
	})

	t.Run("topics", func(t *testing.T) {
		var ts []ops.TopicSummary
		kdeckJSON(t, &ts, append([]string{"topics", "list"}, b...)...)
		i := slices.IndexFunc(ts, func(s ops.TopicSummary) bool { return s.Name == "orders" })
		if i < 0 || ts[i].Partitions != 3 || ts[i].Records != 30 || ts[i].ReplicationFactor != 1 || ts[i].Internal {
			t.Fatalf("topics = %+v", ts)
		}
		for _, s := range ts {
			if strings.HasPrefix(s.Name, "__") {
				t.Errorf("internal topic %s listed without --internal", s.Name)
			}
		}
		var td ops.TopicDetail
		kdeckJSON(t, &td, append([]string{"topics", "describe", "orders"}, b...)...)
		if len(td.Partitions) != 3 || td.ID == "" || td.Records != 30 {
			t.Fatalf("describe = %+v", td)
		}
		for _, p := range td.Partitions {
			if p.LogEndOffset != 10 || p.LogStartOffset != 0 || len(p.ISR) != 1 || p.Leader != td.Partitions[0].Leader {
				t.Errorf("partition = %+v", p)
			}
		}
		if !slices.ContainsFunc(td.Configs, func(e ops.ConfigEntry) bool { return e.Name == "cleanup.policy" && e.Value == "delete" }) {
			t.Errorf("configs lack cleanup.policy=delete: %+v", td.Configs)
		}
		code, _, errOut := kdeckRun(t, append([]string{"topics", "describe", "missing"}, b...)...)
		if code == exitOK || !strings.Contains(errOut, "missing") {
			t.Errorf("describe missing topic: exit %d, %q", code, errOut)
		}
	})

	t.Run("groups_list", func(t *testing.T) {
		var gs []ops.GroupSummary
		kdeckJSON(t, &gs, append([]string{"groups", "list"}, b...)...)
		by := map[string]ops.GroupSummary{}
		for _, g := range gs {
			by[g.Group] = g
		}
		want := map[string]struct {
			state, protocol string
			members         int
			lag             int64
		}{
			"billing":      {"Empty", "classic", 0, 6 + 0 + 10},
			"classic-live": {"Stable", "classic", 1, 0},
			"kip848-live":  {"Stable", "consumer", 1, 0},
		}
		if !slices.Contains(live, "kip848-live") {
			delete(want, "kip848-live")
		}
		for name, w := range want {
			g, ok := by[name]
			if !ok {
				t.Errorf("group %s missing from %+v", name, gs)
				continue
			}
			if g.State != w.state || g.Protocol != w.protocol || g.Members != w.members || g.Lag != w.lag {
				t.Errorf("group %s = %+v, want state %s protocol %s members %d lag %d", name, g, w.state, w.protocol, w.members, w.lag)
			}
		}
	})

	t.Run("groups_describe", func(t *testing.T) {
		for _, name := range live {
			var d ops.GroupDetail
			kdeckJSON(t, &d, append([]string{"groups", "describe", name}, b...)...)
			if d.State != "Stable" || len(d.MemberList) != 1 || d.MemberList[0].ClientID != "kafkatest-member" {
				t.Errorf("%s = %+v", name, d)
				continue
			}
			as := d.MemberList[0].Assigned
			if len(as) != 1 || as[0].Topic != "orders" || len(as[0].Partitions) != 3 {
				t.Errorf("%s assignment = %+v, want orders 0-2", name, as)
			}
			if len(d.Offsets) != 3 {
				t.Errorf("%s offsets = %+v, want 3 rows", name, d.Offsets)
			}
		}
		var d ops.GroupDetail
		kdeckJSON(t, &d, append([]string{"groups", "describe", "billing"}, b...)...)
		if d.State != "Empty" || len(d.Offsets) != 3 || d.Lag != 16 {
			t.Fatalf("billing = %+v", d)
		}
		for _, r := range d.Offsets {
			if r.LogEndOffset != 10 || r.Lag != 10-r.Committed {
				t.Errorf("billing row = %+v", r)
			}
		}
		code, _, errOut := kdeckRun(t, append([]string{"groups", "describe", "nobody"}, b...)...)
		if code == exitOK || !strings.Contains(errOut, "nobody") {
			t.Errorf("describe missing group: exit %d, %q", code, errOut)
		}
	})

	t.Run("tail", func(t *testing.T) {
		code, out, errOut := kdeckRun(t, append([]string{"tail", "orders", "-p", "1", "--from", "-3", "--format", "value"}, b...)...)
		if code != exitOK {
			t.Fatalf("tail: exit %d: %s", code, errOut)
		}
		// ProduceN puts record i on partition i%3: partition 1 holds 1, 4, ..., 28.
		if got, want := strings.Fields(out), []string{"value-22", "value-25", "value-28"}; !slices.Equal(got, want) {
			t.Errorf("tail -3 of partition 1 = %v, want %v", got, want)
		}
	})
}

// TestSecureConfigEndToEnd proves the [clusters.NAME.sasl] and
// [clusters.NAME.tls] tables of a configuration file against Apache Kafka's
// SCRAM-SHA-512, SSL and client-certificate listeners, through the CLI (the
// mtls cluster also shows that ca_file alone turns TLS on).
func TestSecureConfigEndToEnd(t *testing.T) {
	kafkatest.NeedsReal(t, "the SASL_PLAINTEXT and SSL listeners")
	c := kafkatest.New(t)
	c.CreateTopic(t, "secured", 1)
	sasl, _ := c.SASLConfig()
	tl, _ := c.TLSConfig()
	mt, _ := c.MTLSConfig()
	t.Setenv("KDECK_TEST_SCRAM_PW", sasl.SASL.Password)
	cfg := fmt.Sprintf(`
default_cluster = "scram"

[clusters.scram]
brokers = [%q]
[clusters.scram.sasl]
mechanism = "SCRAM-SHA-512"
username = %q
password_env = "KDECK_TEST_SCRAM_PW"

[clusters.tls]
brokers = [%q]
[clusters.tls.tls]
enabled = true
ca_file = %q

[clusters.mtls]
brokers = [%q]
[clusters.mtls.tls]
ca_file = %q
cert_file = %q
key_file = %q

[clusters.badpw]
brokers = [%q]
request_timeout = "5s"
[clusters.badpw.sasl]
mechanism = "SCRAM-SHA-512"
username = %q
password = "wrong"
`, sasl.Brokers[0], sasl.SASL.Username, tl.Brokers[0], tl.TLS.CAFile,
		mt.Brokers[0], mt.TLS.CAFile, mt.TLS.CertFile, mt.TLS.KeyFile, sasl.Brokers[0], sasl.SASL.Username)
	path := filepath.Join(t.TempDir(), "kdeck.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cluster := range []string{"scram", "tls", "mtls"} {
		t.Run(cluster, func(t *testing.T) {
			var ts []ops.TopicSummary
			kdeckJSON(t, &ts, "--config", path, "-c", cluster, "topics", "list")
			if !slices.ContainsFunc(ts, func(s ops.TopicSummary) bool { return s.Name == "secured" }) {
				t.Fatalf("topics over %s = %+v", cluster, ts)
			}
		})
	}
	t.Run("wrong_password", func(t *testing.T) {
		code, _, errOut := kdeckRun(t, "--config", path, "-c", "badpw", "topics", "list")
		if code != exitError || !strings.Contains(errOut, "rejected the SASL credentials") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("wrong password: exit %d, stderr %q; want exit 1 and one line naming the SASL credentials", code, errOut)
		}
		if strings.Contains(errOut, "wrong") && !strings.Contains(errOut, "wrong password") {
			t.Errorf("stderr may print the password: %q", errOut)
		}
	})
}

// TestJavaConsumerGroups: groups whose members are Apache Kafka's own Java
// consumer (classic and KIP-848), described by kdeck: state, protocol,
// member client id and the assignment the Java client encoded.
func TestJavaConsumerGroups(t *testing.T) {
	kafkatest.NeedsReal(t, "Apache Kafka's Java consumer")
	c := kafkatest.New(t)
	c.CreateTopic(t, "payments", 3)
	c.ProduceN(t, "payments", 9)
	c.JavaMember(t, "java-classic", false, "payments")
	javas := map[string]string{"java-classic": "classic"}
	// Apache Kafka 3.x has no KIP-848 groups: the classic member still runs.
	if kafkatest.KIP848() {
		c.JavaMember(t, "java-848", true, "payments")
		javas["java-848"] = "consumer"
	} else {
		t.Log(kafkatest.SkipNoKIP848 + ": the KIP-848 member is left out")
	}
	b := []string{"-b", c.Addr()}
	var gs []ops.GroupSummary
	kdeckJSON(t, &gs, append([]string{"groups", "list"}, b...)...)
	for name, proto := range javas {
		i := slices.IndexFunc(gs, func(g ops.GroupSummary) bool { return g.Group == name })
		if i < 0 || gs[i].State != "Stable" || gs[i].Protocol != proto || gs[i].Members != 1 {
			t.Errorf("groups list: %s = %+v, want Stable %s with 1 member", name, gs, proto)
		}
		var d ops.GroupDetail
		kdeckJSON(t, &d, append([]string{"groups", "describe", name}, b...)...)
		if len(d.MemberList) != 1 || d.MemberList[0].ClientID != "kafkatest-java" {
			t.Errorf("describe %s members = %+v", name, d.MemberList)
			continue
		}
		if as := d.MemberList[0].Assigned; len(as) != 1 || as[0].Topic != "payments" || len(as[0].Partitions) != 3 {
			t.Errorf("describe %s assignment = %+v, want payments 0-2", name, as)
		}
	}
}
