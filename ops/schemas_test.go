package ops_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestEmbeddedRegistryDemoPayments: the embedded default serves a registry
// whose demo.payments records decode through ops (auto), with subject,
// version and schema id.
func TestEmbeddedRegistryDemoPayments(t *testing.T) {
	if kafkatest.Backend() == "real" {
		t.Skip("the embedded default is kfake by definition")
	}
	e, err := ops.StartEmbedded(ctx(t), ops.EmbeddedOptions{Port: 0, Demo: true, DemoRate: 100, Registry: true, RegistryPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: t.TempDir()}}, ops.WithEmbedded(e))
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(e.RegistryURL(), "http://127.0.0.1:") || l.Info().SchemaRegistry != e.RegistryURL() {
		t.Fatalf("registry URL %q, Info %q", e.RegistryURL(), l.Info().SchemaRegistry)
	}
	var got ops.Record
	kafkatest.WaitFor(t, 20*time.Second, "a decoded demo.payments record", func() bool {
		err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: ops.DemoPaymentsTopic, From: ops.FromEarliest, Count: 1, Decode: "auto", PrettyTime: true}, func(r ops.Record) error {
			got = r
			return nil
		})
		return err == nil && got.ValueDecoded != nil
	})
	d := got.ValueDecoded
	if d.Error != "" || d.Format != "avro" || d.Subject != "demo.payments-value" || d.Version != 1 || d.SchemaID == 0 ||
		!strings.Contains(string(d.JSON), `"currency":`) || !strings.Contains(string(d.JSON), `"at":"20`) {
		t.Fatalf("decoded demo record: %+v (%s)", d, d.JSON)
	}
	subs, err := l.ListSubjects(ctx(t), "")
	if err != nil || len(subs) != 1 || subs[0].Subject != "demo.payments-value" {
		t.Fatalf("subjects: %+v, %v", subs, err)
	}
}

// TestEmbeddedRegistrySurvivesRestart: subjects live in the persisted
// cluster's _schemas topic, so a restarted embedded default has them.
func TestEmbeddedRegistrySurvivesRestart(t *testing.T) {
	if kafkatest.Backend() == "real" {
		t.Skip("the embedded default is kfake by definition")
	}
	dir := t.TempDir()
	start := func() *ops.Local {
		e, err := ops.StartEmbedded(ctx(t), ops.EmbeddedOptions{Port: 0, DataDir: dir, Registry: true})
		if err != nil {
			t.Fatal(err)
		}
		l, err := ops.NewLocal(&config.Config{Clusters: map[string]*config.Cluster{}, Ops: config.Ops{DataDir: t.TempDir()}}, ops.WithEmbedded(e))
		if err != nil {
			e.Close()
			t.Fatal(err)
		}
		return l
	}
	l := start()
	si, err := l.RegisterSchema(ctx(t), "", ops.SchemaRequest{Subject: "keep-value", Schema: `{"type":"record","name":"K","fields":[{"name":"a","type":"int"}]}`})
	if err != nil || si.Version != 1 {
		t.Fatalf("register: %+v, %v", si, err)
	}
	if _, err := l.SetCompatibility(ctx(t), "", "keep-value", "FULL"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = start()
	defer l.Close()
	d, err := l.Subject(ctx(t), "", "keep-value")
	if err != nil || d.Latest.ID != si.ID || d.Compatibility != "FULL" {
		t.Fatalf("after restart: %+v, %v", d, err)
	}
}

// TestSchemaServiceErrors: no registry, read-only, unknown subject.
func TestSchemaServiceErrors(t *testing.T) {
	c := kafkatest.New(t)
	l := newLocal(t, c)
	if _, err := l.ListSubjects(ctx(t), ""); err == nil || !strings.Contains(err.Error(), "has no schema registry") {
		t.Fatalf("no registry: %v", err)
	}
	// auto decodes nothing without a registry; an explicit mode is an error.
	c.CreateTopic(t, "plain", 1)
	c.ProduceN(t, "plain", 1)
	if err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "plain", Decode: "auto"}, func(ops.Record) error { return nil }); err != nil {
		t.Fatalf("auto without a registry: %v", err)
	}
	if err := l.ReadRecords(ctx(t), "", ops.ReadRequest{Topic: "plain", Decode: "avro"}, func(ops.Record) error { return nil }); err == nil {
		t.Fatal("avro without a registry read on")
	}
	ro := newLocal(t, c, ops.WithReadOnly(true), ops.WithRegistry("http://127.0.0.1:1"))
	if _, err := ro.RegisterSchema(ctx(t), "", ops.SchemaRequest{Subject: "x", Schema: `"string"`}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("register in read-only mode: %v", err)
	}
}
