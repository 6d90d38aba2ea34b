package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"

	"github.com/kdeck/kdeck/api"
	"github.com/kdeck/kdeck/ops"
)

var (
	_ ops.SchemaService = (*Client)(nil)
	_ ops.SlotDropper   = (*Client)(nil)
)

// ListSubjects implements ops.SchemaService: the worker reads its
// Schema Registry.
func (c *Client) ListSubjects(ctx context.Context, cluster string) ([]ops.SubjectSummary, error) {
	var out []ops.SubjectSummary
	return out, c.do(ctx, "GET", c.q("/schemas/subjects", cluster), nil, &out)
}

// Subject implements ops.SchemaService.
func (c *Client) Subject(ctx context.Context, cluster, subject string) (ops.SubjectDetail, error) {
	var out ops.SubjectDetail
	return out, c.do(ctx, "GET", c.q("/schemas/subject", cluster, "subject", subject), nil, &out)
}

// SchemaVersion implements ops.SchemaService.
func (c *Client) SchemaVersion(ctx context.Context, cluster, subject string, version int) (ops.SchemaInfo, error) {
	var out ops.SchemaInfo
	return out, c.do(ctx, "GET", c.q("/schemas/version", cluster, "subject", subject, "version", strconv.Itoa(version)), nil, &out)
}

// CheckSchema implements ops.SchemaService.
func (c *Client) CheckSchema(ctx context.Context, cluster string, req ops.SchemaRequest) (ops.SchemaCheck, error) {
	var out ops.SchemaCheck
	return out, c.do(ctx, "POST", c.q("/schemas/check", cluster), req, &out)
}

// RegisterSchema implements ops.SchemaService.
func (c *Client) RegisterSchema(ctx context.Context, cluster string, req ops.SchemaRequest) (ops.SchemaInfo, error) {
	if err := c.writable(fmt.Sprintf("register a schema under %q", req.Subject)); err != nil {
		return ops.SchemaInfo{}, err
	}
	var out ops.SchemaInfo
	return out, c.do(ctx, "POST", c.q("/schemas/register", cluster), req, &out)
}

// Compatibility implements ops.SchemaService.
func (c *Client) Compatibility(ctx context.Context, cluster, subject string) (string, error) {
	var out api.CompatibilityBody
	err := c.do(ctx, "GET", c.q("/schemas/compatibility", cluster, "subject", subject), nil, &out)
	return out.Level, err
}

// SetCompatibility implements ops.SchemaService.
func (c *Client) SetCompatibility(ctx context.Context, cluster, subject, level string) (ops.AuditEntry, error) {
	if err := c.writable("set a compatibility level"); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "PUT", c.q("/schemas/compatibility", cluster), api.CompatibilityBody{Subject: subject, Level: level}, &out)
}

// PlanSchemaDelete implements ops.SchemaService.
func (c *Client) PlanSchemaDelete(ctx context.Context, cluster string, req ops.SchemaDeleteRequest) (ops.SchemaDeletePlan, error) {
	var out ops.SchemaDeletePlan
	return out, c.do(ctx, "POST", c.q("/schemas/delete-plan", cluster), req, &out)
}

// ExecuteSchemaDelete implements ops.SchemaService.
func (c *Client) ExecuteSchemaDelete(ctx context.Context, plan ops.SchemaDeletePlan) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("delete subject %q", plan.Subject)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/schemas/delete-execute", plan, &out)
}

// ProduceEncoded implements ops.SchemaService: records stream to the
// worker as NDJSON and are encoded there; a record that does not encode
// comes back as the worker's *ops.RecordEncodeError.
func (c *Client) ProduceEncoded(ctx context.Context, cluster, topic string, req ops.EncodeRequest, records iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
	if err := c.writable("produce to " + topic); err != nil {
		return ops.ProduceResult{}, err
	}
	enc, err := json.Marshal(req)
	if err != nil {
		return ops.ProduceResult{}, err
	}
	return c.produceTo(ctx, c.q("/topics/"+seg(topic)+"/records/encoded", cluster), records, api.EncodeHeader, string(enc))
}

// PlanDropSlot implements ops.SlotDropper: the worker reads the slot.
func (c *Client) PlanDropSlot(ctx context.Context, job string) (ops.SlotDropPlan, error) {
	var out ops.SlotDropPlan
	return out, c.do(ctx, "GET", api.PathPrefix+"/jobs/"+seg(job)+"/slot", nil, &out)
}

// DropSlot implements ops.SlotDropper.
func (c *Client) DropSlot(ctx context.Context, plan ops.SlotDropPlan, command string) (ops.AuditEntry, error) {
	if err := c.writable(fmt.Sprintf("drop the replication slot of %q", plan.Job)); err != nil {
		return ops.AuditEntry{}, err
	}
	var out ops.AuditEntry
	return out, c.do(ctx, "POST", api.PathPrefix+"/jobs/"+seg(plan.Job)+"/slot/drop", api.DropSlotBody{Plan: plan, Command: command}, &out)
}
