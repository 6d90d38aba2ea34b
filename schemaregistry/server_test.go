package schemaregistry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/schemaregistry"
)

const paymentV1 = `{"type":"record","name":"Payment","namespace":"demo","fields":[
 {"name":"id","type":"long"},
 {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD"]}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"note","type":["null","string"],"default":null}]}`

// paymentV2 adds a field with a default: BACKWARD compatible.
const paymentV2 = `{"type":"record","name":"Payment","namespace":"demo","fields":[
 {"name":"id","type":"long"},
 {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
 {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD"]}},
 {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"note","type":["null","string"],"default":null},
 {"name":"channel","type":"string","default":"web"}]}`

// paymentBad adds a field without a default: not BACKWARD compatible.
const paymentBad = `{"type":"record","name":"Payment","namespace":"demo","fields":[
 {"name":"id","type":"long"},
 {"name":"merchant","type":"string"}]}`

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func start(t *testing.T, c *kfake.Cluster) *schemaregistry.Server {
	t.Helper()
	s, err := schemaregistry.New(ctx(t), schemaregistry.Options{Addr: "127.0.0.1:0", Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func cluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func client(t *testing.T, url string) *schema.Client {
	t.Helper()
	c, err := schema.NewClient(schema.Config{URLs: []string{url}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegisterDedupCompatibilityAndRestart(t *testing.T) {
	kc := cluster(t)
	srv := start(t, kc)
	cl := client(t, srv.URL()).SR()
	c := ctx(t)

	s1, err := cl.CreateSchema(c, "payments-value", sr.Schema{Schema: paymentV1})
	if err != nil {
		t.Fatal(err)
	}
	if s1.ID != 1 || s1.Version != 1 {
		t.Fatalf("first registration: id %d version %d, want 1 1", s1.ID, s1.Version)
	}
	// The same schema, formatted differently, is deduplicated.
	again, err := cl.CreateSchema(c, "payments-value", sr.Schema{Schema: strings.ReplaceAll(paymentV1, "\n", "  ")})
	if err != nil || again.ID != 1 || again.Version != 1 {
		t.Fatalf("re-registering the same schema: %+v, %v; want id 1 version 1", again, err)
	}
	// The same schema in another subject keeps its id.
	other, err := cl.CreateSchema(c, "refunds-value", sr.Schema{Schema: paymentV1})
	if err != nil || other.ID != 1 {
		t.Fatalf("same schema in another subject: %+v, %v; want id 1", other, err)
	}
	// An incompatible schema is refused under BACKWARD (the default)...
	res, err := cl.CheckCompatibility(c, "payments-value", -1, sr.Schema{Schema: paymentBad})
	if err != nil || res.Is {
		t.Fatalf("compatibility of an incompatible schema: %+v, %v; want false", res, err)
	}
	_, err = cl.CreateSchema(c, "payments-value", sr.Schema{Schema: paymentBad})
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 409 {
		t.Fatalf("registering an incompatible schema: %v; want a 409", err)
	}
	// ... and a compatible one is accepted as version 2.
	s2, err := cl.CreateSchema(c, "payments-value", sr.Schema{Schema: paymentV2})
	if err != nil || s2.Version != 2 || s2.ID != 2 {
		t.Fatalf("registering a compatible schema: %+v, %v; want id 2 version 2", s2, err)
	}
	// Under NONE the incompatible one goes in.
	if r := cl.SetCompatibility(c, sr.SetCompatibility{Level: sr.CompatNone}, "payments-value"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if _, err := cl.CreateSchema(c, "payments-value", sr.Schema{Schema: paymentBad}); err != nil {
		t.Fatalf("registering under NONE: %v", err)
	}
	// Soft delete, then hard delete of version 3.
	if err := cl.DeleteSchema(c, "payments-value", 3, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteSchema(c, "refunds-value", 1, sr.HardDelete); err == nil {
		t.Fatal("hard delete before soft delete succeeded; want an error")
	}
	if _, err := cl.DeleteSubject(c, "refunds-value", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteSubject(c, "refunds-value", sr.HardDelete); err != nil {
		t.Fatal(err)
	}

	// Restart the registry on the same cluster: everything is still there.
	srv.Close()
	srv2 := start(t, kc)
	cl2 := client(t, srv2.URL()).SR()
	subjects, err := cl2.Subjects(c)
	if err != nil || strings.Join(subjects, ",") != "payments-value" {
		t.Fatalf("subjects after restart: %v, %v; want [payments-value]", subjects, err)
	}
	vs, err := cl2.SubjectVersions(c, "payments-value")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions after restart: %v, %v; want [1 2] (3 soft-deleted)", vs, err)
	}
	got, err := cl2.SchemaByID(c, 2)
	if err != nil || got.Schema != paymentV2 {
		t.Fatalf("schema 2 after restart: %v", err)
	}
	comp := cl2.Compatibility(c, "payments-value")
	if comp[0].Err != nil || comp[0].Level != sr.CompatNone {
		t.Fatalf("subject compatibility after restart: %+v; want NONE", comp[0])
	}
	// A new schema gets a fresh id, not one of the stored ones.
	s4, err := cl2.CreateSchema(c, "orders-value", sr.Schema{Schema: `"string"`})
	if err != nil || s4.ID != 4 {
		t.Fatalf("new schema after restart: %+v, %v; want id 4", s4, err)
	}
}

func TestInvalidSchemaIsRefused(t *testing.T) {
	srv := start(t, cluster(t))
	cl := client(t, srv.URL()).SR()
	for _, tc := range []struct {
		name string
		s    sr.Schema
	}{
		{"avro", sr.Schema{Schema: `{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}`}},
		{"protobuf", sr.Schema{Schema: `syntax = "proto3"; message X { strin a = 1; }`, Type: sr.TypeProtobuf}},
		{"json", sr.Schema{Schema: `{"type": 12}`, Type: sr.TypeJSON}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.CreateSchema(ctx(t), "x-value", tc.s)
			var re *sr.ResponseError
			if !errors.As(err, &re) || re.ErrorCode != 42201 {
				t.Fatalf("registering an invalid %s schema: %v; want error code 42201", tc.name, err)
			}
		})
	}
}
