package ops

// JobOffset is one partition of a job and its offset, in Kafka Connect's
// offsets API shape: {"partition": {...}, "offset": {...}}. A nil Offset in
// AlterJobOffsets resets that partition.
type JobOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// AlterOffsetsRequest alters or resets a job's offsets.
type AlterOffsetsRequest struct {
	// Offsets to write; ignored with Reset.
	Offsets []JobOffset
	// Reset removes every offset (the job starts over).
	Reset bool
	// Command is recorded in the audit entry.
	Command string
	// UndoOf is the audit id this request undoes (see JobOffsetsUndo).
	UndoOf string
}

// ConnectorPlugin is a connector class or a transform type with its
// configuration fields.
type ConnectorPlugin struct {
	Class   string `json:"class"`
	Type    string `json:"type"` // source, sink or transform
	Version string `json:"version,omitempty"`
	Summary string `json:"summary"`
	// Aliases are other names of a transform (Kafka Connect's classes).
	Aliases []string      `json:"aliases,omitempty"`
	Fields  []PluginField `json:"fields"`
}

// PluginField is one configuration key of a plugin.
type PluginField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Default     any      `json:"default,omitempty"`
	Required    bool     `json:"required"`
	Choices     []string `json:"choices,omitempty"`
}

// FieldProblem is one problem of a job table, by field.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
