package ops

import (
	"context"
	"encoding/json"
	"iter"
)

// SchemaService is implemented by services that reach a Schema Registry
// (Local). It is separate from Service so that existing implementations
// (test fakes, a remote client) keep compiling; callers reach it with a type
// assertion on their Service and say so when it is missing. Every method
// takes plain request and response structs with JSON tags.
type SchemaService interface {
	// ListSubjects lists the registry's subjects with their latest version.
	ListSubjects(ctx context.Context, cluster string) ([]SubjectSummary, error)
	// Subject describes one subject: versions, compatibility level, the
	// latest schema and the topics it names (TopicNameStrategy).
	Subject(ctx context.Context, cluster, subject string) (SubjectDetail, error)
	// SchemaVersion returns one version of a subject (0 or -1: latest).
	SchemaVersion(ctx context.Context, cluster, subject string, version int) (SchemaInfo, error)
	// CheckSchema tests a schema against a subject's configured
	// compatibility level, changing nothing.
	CheckSchema(ctx context.Context, cluster string, req SchemaRequest) (SchemaCheck, error)
	// RegisterSchema registers a schema under a subject (deduplicated by
	// the registry). Audited; refused in read-only mode.
	RegisterSchema(ctx context.Context, cluster string, req SchemaRequest) (SchemaInfo, error)
	// Compatibility returns a subject's compatibility level (the global
	// level when the subject has none of its own, or for subject "").
	Compatibility(ctx context.Context, cluster, subject string) (string, error)
	// SetCompatibility sets a subject's compatibility level ("" subject:
	// the global level). Audited; refused in read-only mode.
	SetCompatibility(ctx context.Context, cluster, subject, level string) (AuditEntry, error)
	// PlanSchemaDelete says what deleting a subject (Version 0) or one
	// version would remove, changing nothing.
	PlanSchemaDelete(ctx context.Context, cluster string, req SchemaDeleteRequest) (SchemaDeletePlan, error)
	// ExecuteSchemaDelete performs a plan made by PlanSchemaDelete.
	// Audited; refused in read-only mode.
	ExecuteSchemaDelete(ctx context.Context, plan SchemaDeletePlan) (AuditEntry, error)
	// ProduceEncoded encodes each record's Value (one JSON document) with a
	// subject's schema and produces it as Produce does. An encoding failure
	// stops the produce with a *RecordEncodeError (nothing after it is
	// sent) unless req.SkipBad, which skips and reports it in the result.
	ProduceEncoded(ctx context.Context, cluster, topic string, req EncodeRequest, records iter.Seq2[ProduceRecord, error]) (ProduceResult, error)
}

// SubjectSummary is one row of a subject list.
type SubjectSummary struct {
	Subject       string `json:"subject"`
	LatestVersion int    `json:"latest_version"`
	SchemaID      int    `json:"schema_id"`
	Format        string `json:"format"`
	Versions      int    `json:"versions"`
	Error         string `json:"error,omitempty"`
}

// SubjectDetail is a described subject.
type SubjectDetail struct {
	Subject       string     `json:"subject"`
	Versions      []int      `json:"versions"`
	Compatibility string     `json:"compatibility"`
	Latest        SchemaInfo `json:"latest"`
	// Topics are existing topics whose name the subject follows from
	// (TopicNameStrategy: TOPIC-key, TOPIC-value).
	Topics []string `json:"topics"`
}

// SchemaInfo is one registered schema version.
type SchemaInfo struct {
	Subject    string            `json:"subject"`
	Version    int               `json:"version"`
	ID         int               `json:"id"`
	Format     string            `json:"format"` // avro, protobuf, json-schema
	Schema     string            `json:"schema"`
	References []SchemaReference `json:"references,omitempty"`
}

// SchemaReference names a schema that another references.
type SchemaReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// SchemaRequest is a schema to check or register.
type SchemaRequest struct {
	Subject string `json:"subject"`
	// Format is avro (default), protobuf or json-schema.
	Format     string            `json:"format"`
	Schema     string            `json:"schema"`
	References []SchemaReference `json:"references,omitempty"`
}

// SchemaCheck is the outcome of CheckSchema.
type SchemaCheck struct {
	Subject       string   `json:"subject"`
	Compatibility string   `json:"compatibility"`
	Compatible    bool     `json:"compatible"`
	Messages      []string `json:"messages,omitempty"`
	// NewSubject is true when the subject has no versions yet (anything
	// that compiles is compatible).
	NewSubject bool `json:"new_subject,omitempty"`
}

// SchemaDeleteRequest asks to delete a subject or one of its versions.
type SchemaDeleteRequest struct {
	Subject string `json:"subject"`
	// Version 0 deletes the whole subject.
	Version int `json:"version,omitempty"`
	// Permanent hard-deletes versions that are already soft-deleted.
	Permanent bool `json:"permanent,omitempty"`
}

// SchemaDeletePlan is what a delete would remove.
type SchemaDeletePlan struct {
	Cluster string `json:"cluster"`
	SchemaDeleteRequest
	// Versions are the versions the delete removes, with their ids.
	Versions []SchemaInfo `json:"versions"`
	// Topics are existing topics whose records use the subject (by name).
	Topics []string `json:"topics,omitempty"`
}

// EncodeRequest says how ProduceEncoded encodes values.
type EncodeRequest struct {
	// Subject names the value schema; Version 0 or -1 means the latest.
	Subject string `json:"subject"`
	Version int    `json:"version,omitempty"`
	// Register, when set, registers this schema under Subject first
	// (audited) and encodes with it.
	Register *SchemaRequest `json:"register,omitempty"`
	// Message picks a Protobuf message by name (default: the first).
	Message string `json:"message,omitempty"`
	// SkipBad skips records that do not encode instead of stopping.
	SkipBad bool `json:"skip_bad,omitempty"`
}

// RecordEncodeError reports the record (1-based position in the input)
// that did not encode.
type RecordEncodeError struct {
	Record int    `json:"record"`
	Reason string `json:"reason"`
}

func (e *RecordEncodeError) Error() string {
	return e.Reason
}

// Decoded is a key or value decoded through a Schema Registry.
type Decoded struct {
	Format   string `json:"format,omitempty"`
	SchemaID int    `json:"schema_id,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Version  int    `json:"version,omitempty"`
	// JSON is the decoded payload; empty when Error is set.
	JSON json.RawMessage `json:"json,omitempty"`
	// Error says why the payload did not decode; the record's bytes are
	// then shown as they are.
	Error string `json:"error,omitempty"`
}
