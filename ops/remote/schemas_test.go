package remote_test

import (
	"errors"
	"iter"
	"reflect"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/ops/remote"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/kdeck/kdeck/testing/registrytest"
)

const (
	orderV1 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"}]}`
	orderV2 = `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"note","type":"string","default":""}]}`
	// orderBad drops a field without a default: BACKWARD-incompatible.
	orderBad = `{"type":"record","name":"Order","fields":[{"name":"other","type":"long"}]}`
)

// registryLocal is a Local on a test cluster with kdeck's registry.
func registryLocal(t *testing.T, opts ...ops.Opt) (*kafkatest.Cluster, *ops.Local) {
	t.Helper()
	c := kafkatest.New(t)
	url, _ := registrytest.Start(t, c.Addrs())
	cfg := &config.Config{Clusters: map[string]*config.Cluster{c.Name(): c.Config()}, Ops: config.Ops{DataDir: t.TempDir()}}
	l, err := ops.NewLocal(cfg, append([]ops.Opt{ops.WithRegistry(url)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return c, l
}

// same fails unless the remote and local errors have the same kind and,
// without errors, the answers are equal.
func same[T any](t *testing.T, what string, remote, local func() (T, error)) T {
	t.Helper()
	rv, rerr := remote()
	lv, lerr := local()
	if (rerr == nil) != (lerr == nil) || ops.ErrorKind(rerr) != ops.ErrorKind(lerr) {
		t.Fatalf("%s: remote error %v (kind %q), local %v (kind %q)", what, rerr, ops.ErrorKind(rerr), lerr, ops.ErrorKind(lerr))
	}
	if rerr == nil && !reflect.DeepEqual(rv, lv) {
		t.Fatalf("%s: remote %+v, local %+v", what, rv, lv)
	}
	return rv
}

// TestRemoteSchemaService: every ops.SchemaService method through the
// worker's API answers as the Local it serves (a registry on the test
// cluster), errors keep their kind, mutations are audited with the
// caller, and an encode failure keeps its record number.
func TestRemoteSchemaService(t *testing.T) {
	c, l := registryLocal(t)
	r := serve(t, l)
	x := ctx(t)
	si, err := r.RegisterSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderV1})
	if err != nil || si.Version != 1 || si.ID == 0 {
		t.Fatalf("register: %v %+v", err, si)
	}
	if si2, err := r.RegisterSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderV2}); err != nil || si2.Version != 2 {
		t.Fatalf("register v2: %v %+v", err, si2)
	}
	c.CreateTopic(t, "orders", 1)
	subs := same(t, "subjects", func() ([]ops.SubjectSummary, error) { return r.ListSubjects(x, "") }, func() ([]ops.SubjectSummary, error) { return l.ListSubjects(x, "") })
	if len(subs) != 1 || subs[0].LatestVersion != 2 {
		t.Fatalf("subjects: %+v", subs)
	}
	d := same(t, "subject", func() (ops.SubjectDetail, error) { return r.Subject(x, "", "orders-value") }, func() (ops.SubjectDetail, error) { return l.Subject(x, "", "orders-value") })
	if len(d.Versions) != 2 || len(d.Topics) != 1 || d.Topics[0] != "orders" {
		t.Fatalf("subject: %+v", d)
	}
	same(t, "unknown subject", func() (ops.SubjectDetail, error) { return r.Subject(x, "", "nope") }, func() (ops.SubjectDetail, error) { return l.Subject(x, "", "nope") })
	if _, err := r.Subject(x, "", "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("unknown subject: %v", err)
	}
	for _, v := range []int{1, -1, 0, 9} {
		same(t, "version", func() (ops.SchemaInfo, error) { return r.SchemaVersion(x, "", "orders-value", v) }, func() (ops.SchemaInfo, error) { return l.SchemaVersion(x, "", "orders-value", v) })
	}
	ok := same(t, "check", func() (ops.SchemaCheck, error) {
		return r.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderV2})
	}, func() (ops.SchemaCheck, error) {
		return l.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderV2})
	})
	bad := same(t, "check an incompatible schema", func() (ops.SchemaCheck, error) {
		return r.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderBad})
	}, func() (ops.SchemaCheck, error) {
		return l.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: orderBad})
	})
	if !ok.Compatible || bad.Compatible {
		t.Fatalf("checks: %+v %+v", ok, bad)
	}
	same(t, "check a schema that does not compile", func() (ops.SchemaCheck, error) {
		return r.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: `{"type":`})
	}, func() (ops.SchemaCheck, error) {
		return l.CheckSchema(x, "", ops.SchemaRequest{Subject: "orders-value", Schema: `{"type":`})
	})
	e, err := r.SetCompatibility(x, "", "orders-value", "FULL")
	if err != nil || e.ID == "" || e.User != "uid:"+itoa(uidOf()) {
		t.Fatalf("set compatibility: %v %+v", err, e)
	}
	if lvl := same(t, "compatibility", func() (string, error) { return r.Compatibility(x, "", "orders-value") }, func() (string, error) { return l.Compatibility(x, "", "orders-value") }); lvl != "FULL" {
		t.Fatalf("compatibility %q after setting FULL", lvl)
	}
	same(t, "a bad level", func() (ops.AuditEntry, error) { return r.SetCompatibility(x, "", "orders-value", "SOMETIMES") }, func() (ops.AuditEntry, error) {
		return l.SetCompatibility(x, "", "orders-value", "SOMETIMES")
	})
	// Encoded produce: two records encode, the third does not and stops
	// the produce with its record number.
	recs := func(vals ...string) iter.Seq2[ops.ProduceRecord, error] {
		return func(yield func(ops.ProduceRecord, error) bool) {
			for _, v := range vals {
				if !yield(ops.ProduceRecord{Value: []byte(v), Partition: -1}, nil) {
					return
				}
			}
		}
	}
	res, err := r.ProduceEncoded(x, "", "orders", ops.EncodeRequest{Subject: "orders-value"}, recs(`{"id":1,"note":"a"}`, `{"id":2,"note":"b"}`))
	if err != nil || res.Records != 2 {
		t.Fatalf("encoded produce: %v %+v", err, res)
	}
	_, err = r.ProduceEncoded(x, "", "orders", ops.EncodeRequest{Subject: "orders-value"}, recs(`{"id":3,"note":"c"}`, `{"id":"four"}`))
	var re *ops.RecordEncodeError
	if !errors.As(err, &re) || re.Record != 2 {
		t.Fatalf("a record that does not encode: %v", err)
	}
	var decoded []string
	if err := r.ReadRecords(x, "", ops.ReadRequest{Topic: "orders", From: ops.FromEarliest, Decode: "auto"}, func(rec ops.Record) error {
		if rec.ValueDecoded != nil {
			decoded = append(decoded, string(rec.ValueDecoded.JSON))
		}
		return nil
	}); err != nil || len(decoded) < 2 {
		t.Fatalf("decoded records: %v %v", err, decoded)
	}
	// Delete: plan and execute through the wire.
	p := same(t, "delete plan", func() (ops.SchemaDeletePlan, error) {
		return r.PlanSchemaDelete(x, "", ops.SchemaDeleteRequest{Subject: "orders-value", Version: 1})
	}, func() (ops.SchemaDeletePlan, error) {
		return l.PlanSchemaDelete(x, "", ops.SchemaDeleteRequest{Subject: "orders-value", Version: 1})
	})
	if len(p.Versions) != 1 || p.Versions[0].Version != 1 {
		t.Fatalf("delete plan: %+v", p)
	}
	if e, err := r.ExecuteSchemaDelete(x, p); err != nil || e.ID == "" {
		t.Fatalf("delete: %v %+v", err, e)
	}
	if _, err := l.SchemaVersion(x, "", "orders-value", 1); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("version 1 after a remote delete: %v", err)
	}
	same(t, "plan for an unknown subject", func() (ops.SchemaDeletePlan, error) {
		return r.PlanSchemaDelete(x, "", ops.SchemaDeleteRequest{Subject: "nope"})
	}, func() (ops.SchemaDeletePlan, error) {
		return l.PlanSchemaDelete(x, "", ops.SchemaDeleteRequest{Subject: "nope"})
	})
}

// TestRemoteSchemaRefusals: a read-only client refuses before sending,
// a read-only worker refuses with ErrReadOnly through the wire, and a
// worker whose service has no Schema Registry operations answers
// ErrNotImplemented.
func TestRemoteSchemaRefusals(t *testing.T) {
	_, l := registryLocal(t, ops.WithReadOnly(true))
	r := serve(t, l)
	if _, err := r.RegisterSchema(ctx(t), "", ops.SchemaRequest{Subject: "x", Schema: `"string"`}); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("register on a read-only worker: %v", err)
	}
	_, l2 := registryLocal(t)
	ro := serve(t, l2, remote.WithReadOnly(true))
	if _, err := ro.SetCompatibility(ctx(t), "", "", "NONE"); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("set compatibility through a read-only client: %v", err)
	}
	if lvl, err := l2.Compatibility(ctx(t), "", ""); err != nil || lvl == "NONE" {
		t.Fatalf("the global level changed: %q %v", lvl, err)
	}
	// ops.ForActor's view serves ops.Service only.
	bare := serve(t, ops.ForActor(l2, ops.Actor{User: "t"}))
	if _, err := bare.ListSubjects(ctx(t), ""); !errors.Is(err, ops.ErrNotImplemented) {
		t.Fatalf("subjects from a worker without schema operations: %v", err)
	}
	if _, err := bare.PlanDropSlot(ctx(t), "x"); !errors.Is(err, ops.ErrNotImplemented) {
		t.Fatalf("slot plan from a worker without slot operations: %v", err)
	}
}

// TestRemoteSlotDropper: PlanDropSlot and DropSlot reach the worker's
// Local: an unknown job is ErrNotFound, a job that is not postgres-cdc is
// ErrInvalid, as in-process; a read-only client refuses DropSlot.
func TestRemoteSlotDropper(t *testing.T) {
	_, l := seed(t)
	r := serve(t, l)
	x := ctx(t)
	if _, _, err := l.PutJob(x, ops.PutJobRequest{Table: map[string]any{"name": "g", "class": "datagen", "topic": "orders", "rate": 1}}); err != nil {
		t.Fatal(err)
	}
	for _, job := range []string{"nope", "g"} {
		same(t, "slot plan of "+job, func() (ops.SlotDropPlan, error) { return r.PlanDropSlot(x, job) }, func() (ops.SlotDropPlan, error) { return l.PlanDropSlot(x, job) })
	}
	if _, err := r.PlanDropSlot(x, "nope"); !errors.Is(err, ops.ErrNotFound) {
		t.Fatalf("slot of an unknown job: %v", err)
	}
	if _, err := r.PlanDropSlot(x, "g"); !errors.Is(err, ops.ErrInvalid) {
		t.Fatalf("slot of a datagen job: %v", err)
	}
	same(t, "drop for a job that is not postgres-cdc", func() (ops.AuditEntry, error) {
		return r.DropSlot(x, ops.SlotDropPlan{Job: "g"}, "test")
	}, func() (ops.AuditEntry, error) { return l.DropSlot(x, ops.SlotDropPlan{Job: "g"}, "test") })
	ro := serve(t, l, remote.WithReadOnly(true))
	if _, err := ro.DropSlot(x, ops.SlotDropPlan{Job: "g"}, "test"); !errors.Is(err, ops.ErrReadOnly) {
		t.Fatalf("drop through a read-only client: %v", err)
	}
}
