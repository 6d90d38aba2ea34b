package tuitest

import (
	"context"
	"fmt"
	"iter"

	"github.com/kdeck/kdeck/ops"
)

var _ ops.SchemaService = (*Fake)(nil)

// PaymentsSchema is the fake registry's demo.payments-value schema.
const PaymentsSchema = `{"type":"record","name":"Payment","namespace":"kdeck.demo","fields":[{"name":"id","type":"long"},{"name":"amount","type":"double"}]}`

// ListSubjects implements ops.SchemaService: one Avro subject with two
// versions.
func (f *Fake) ListSubjects(ctx context.Context, cluster string) ([]ops.SubjectSummary, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return []ops.SubjectSummary{{Subject: "demo.payments-value", LatestVersion: 2, SchemaID: 3, Format: "avro", Versions: 2}}, nil
}

// Subject implements ops.SchemaService.
func (f *Fake) Subject(ctx context.Context, cluster, subject string) (ops.SubjectDetail, error) {
	if subject != "demo.payments-value" {
		return ops.SubjectDetail{}, fmt.Errorf("subject %q: %w", subject, ops.ErrNotFound)
	}
	return ops.SubjectDetail{Subject: subject, Versions: []int{1, 2}, Compatibility: "BACKWARD", Topics: []string{"demo.payments"},
		Latest: ops.SchemaInfo{Subject: subject, Version: 2, ID: 3, Format: "avro", Schema: PaymentsSchema}}, nil
}

// SchemaVersion implements ops.SchemaService.
func (f *Fake) SchemaVersion(ctx context.Context, cluster, subject string, version int) (ops.SchemaInfo, error) {
	d, err := f.Subject(ctx, cluster, subject)
	return d.Latest, err
}

// CheckSchema implements ops.SchemaService: everything is compatible.
func (f *Fake) CheckSchema(ctx context.Context, cluster string, req ops.SchemaRequest) (ops.SchemaCheck, error) {
	return ops.SchemaCheck{Subject: req.Subject, Compatibility: "BACKWARD", Compatible: true}, nil
}

// RegisterSchema implements ops.SchemaService (recorded in Calls).
func (f *Fake) RegisterSchema(ctx context.Context, cluster string, req ops.SchemaRequest) (ops.SchemaInfo, error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, "RegisterSchema "+req.Subject)
	f.mu.Unlock()
	return ops.SchemaInfo{Subject: req.Subject, Version: 1, ID: 4, Format: "avro", Schema: req.Schema}, nil
}

// Compatibility implements ops.SchemaService.
func (f *Fake) Compatibility(ctx context.Context, cluster, subject string) (string, error) {
	return "BACKWARD", nil
}

// SetCompatibility implements ops.SchemaService: not available.
func (f *Fake) SetCompatibility(ctx context.Context, cluster, subject, level string) (ops.AuditEntry, error) {
	return ops.AuditEntry{}, ops.ErrNotImplemented
}

// PlanSchemaDelete implements ops.SchemaService: not available.
func (f *Fake) PlanSchemaDelete(ctx context.Context, cluster string, req ops.SchemaDeleteRequest) (ops.SchemaDeletePlan, error) {
	return ops.SchemaDeletePlan{}, ops.ErrNotImplemented
}

// ExecuteSchemaDelete implements ops.SchemaService: not available.
func (f *Fake) ExecuteSchemaDelete(ctx context.Context, plan ops.SchemaDeletePlan) (ops.AuditEntry, error) {
	return ops.AuditEntry{}, ops.ErrNotImplemented
}

// ProduceEncoded implements ops.SchemaService: not available.
func (f *Fake) ProduceEncoded(ctx context.Context, cluster, topic string, req ops.EncodeRequest, records iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
	return ops.ProduceResult{}, ops.ErrNotImplemented
}
