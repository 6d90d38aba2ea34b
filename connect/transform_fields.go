package connect

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Field names of the field transforms.
const (
	fieldStaticField    = "static_field"
	fieldStaticValue    = "static_value"
	fieldTopicField     = "topic_field"
	fieldPartitionField = "partition_field"
	fieldOffsetField    = "offset_field"
	fieldTimestampField = "timestamp_field"
	fieldInclude        = "include"
	fieldExclude        = "exclude"
	fieldRenames        = "renames"
	fieldFields         = "fields"
	fieldReplacement    = "replacement"
	fieldField          = "field"
)

func insertFieldTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "insert_field",
		Aliases: append(kafkaAliases("InsertField", true), "org.apache.kafka.connect.transforms.InsertField$Key", "InsertField$Key"),
		Spec: NewSpec("Insert fields into the value (or key): a static value, or the record's topic, partition, offset or timestamp (Kafka Connect's InsertField).",
			onField(),
			NewField(fieldStaticField, TypeString).Optional().Description("Field to set to static_value."),
			NewField(fieldStaticValue, TypeString).Optional().Description("The static value."),
			NewField(fieldTopicField, TypeString).Optional().Description("Field to set to the record's topic."),
			NewField(fieldPartitionField, TypeString).Optional().Description("Field to set to the record's partition (sink records; null for source records)."),
			NewField(fieldOffsetField, TypeString).Optional().Description("Field to set to the record's Kafka offset (sink records; null for source records)."),
			NewField(fieldTimestampField, TypeString).Optional().Description("Field to set to the record's timestamp in milliseconds since the epoch."),
		),
		New: func(p *Parsed) (Transform, error) {
			on := p.String(fieldOn)
			static, sv := p.String(fieldStaticField), p.String(fieldStaticValue)
			topicF, partF, offF, tsF := p.String(fieldTopicField), p.String(fieldPartitionField), p.String(fieldOffsetField), p.String(fieldTimestampField)
			if static == "" && topicF == "" && partF == "" && offF == "" && tsF == "" {
				return nil, fmt.Errorf("set at least one of static_field, topic_field, partition_field, offset_field, timestamp_field")
			}
			return TransformFunc(func(r *Record) (*Record, error) {
				m, err := operandMap(r, on, "insert_field")
				if err != nil {
					return nil, err
				}
				m = copyMap(m)
				if static != "" {
					m[static] = sv
				}
				if topicF != "" {
					m[topicF] = r.Topic
				}
				if partF != "" {
					if r.Partition >= 0 {
						m[partF] = int64(r.Partition)
					} else {
						m[partF] = nil
					}
				}
				if offF != "" {
					if r.Offset >= 0 {
						m[offF] = r.Offset
					} else {
						m[offF] = nil
					}
				}
				if tsF != "" {
					m[tsF] = r.Timestamp.UnixMilli()
				}
				setOperand(r, on, m)
				return r, nil
			}), nil
		},
	}
}

func replaceFieldTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "replace_field",
		Aliases: append(kafkaAliases("ReplaceField", true), "ReplaceField$Key", "org.apache.kafka.connect.transforms.ReplaceField$Key"),
		Spec: NewSpec("Keep only some fields, drop some, or rename them (Kafka Connect's ReplaceField).",
			onField(),
			NewField(fieldInclude, TypeStrings).Optional().Description("Fields to keep; all others are dropped. Empty keeps all."),
			NewField(fieldExclude, TypeStrings).Optional().Description("Fields to drop."),
			NewField(fieldRenames, TypeStrings).Optional().Description(`Renames as "old:new" pairs.`),
		),
		New: func(p *Parsed) (Transform, error) {
			on := p.String(fieldOn)
			include := set(p.Strings(fieldInclude))
			exclude := set(p.Strings(fieldExclude))
			renames := map[string]string{}
			for _, rn := range p.Strings(fieldRenames) {
				old, nu, ok := strings.Cut(rn, ":")
				if !ok || old == "" || nu == "" {
					return nil, fmt.Errorf(`renames: %q is not "old:new"`, rn)
				}
				renames[old] = nu
			}
			return TransformFunc(func(r *Record) (*Record, error) {
				m, err := operandMap(r, on, "replace_field")
				if err != nil {
					return nil, err
				}
				out := make(map[string]any, len(m))
				for k, v := range m {
					if exclude[k] || (len(include) > 0 && !include[k]) {
						continue
					}
					if nu, ok := renames[k]; ok {
						k = nu
					}
					out[k] = v
				}
				setOperand(r, on, out)
				return r, nil
			}), nil
		},
	}
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func maskFieldTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "mask_field",
		Aliases: append(kafkaAliases("MaskField", true), "MaskField$Key", "org.apache.kafka.connect.transforms.MaskField$Key"),
		Spec: NewSpec("Replace fields with a null value of their type (\"\", 0, false, empty list or table) or with replacement (Kafka Connect's MaskField).",
			onField(),
			NewField(fieldFields, TypeStrings).Description("Fields to mask."),
			NewField(fieldReplacement, TypeString).Optional().Description("Replacement for masked string and number fields."),
		),
		New: func(p *Parsed) (Transform, error) {
			on, fields, repl := p.String(fieldOn), p.Strings(fieldFields), p.String(fieldReplacement)
			if len(fields) == 0 {
				return nil, fmt.Errorf("fields: name at least one field to mask")
			}
			return TransformFunc(func(r *Record) (*Record, error) {
				m, err := operandMap(r, on, "mask_field")
				if err != nil {
					return nil, err
				}
				m = copyMap(m)
				for _, f := range fields {
					v, ok := m[f]
					if !ok {
						continue
					}
					m[f] = masked(v, repl)
				}
				setOperand(r, on, m)
				return r, nil
			}), nil
		},
	}
}

func masked(v any, repl string) any {
	switch v.(type) {
	case string:
		return repl
	case json.Number, float64, int64:
		if repl != "" {
			return json.Number(repl)
		}
		return int64(0)
	case bool:
		return false
	case []any:
		return []any{}
	case map[string]any:
		return map[string]any{}
	}
	return nil
}

func valueToKeyTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "value_to_key",
		Aliases: kafkaAliases("ValueToKey", false),
		Spec: NewSpec("Replace the key with a table of fields from the value (Kafka Connect's ValueToKey).",
			NewField(fieldFields, TypeStrings).Description("Value fields that make the key.")),
		New: func(p *Parsed) (Transform, error) {
			fields := p.Strings(fieldFields)
			if len(fields) == 0 {
				return nil, fmt.Errorf("fields: name at least one field")
			}
			return TransformFunc(func(r *Record) (*Record, error) {
				m, err := operandMap(r, "value", "value_to_key")
				if err != nil {
					return nil, err
				}
				r.Value = m
				k := make(map[string]any, len(fields))
				for _, f := range fields {
					v, ok := m[f]
					if !ok {
						return nil, fmt.Errorf("value_to_key: the value has no field %q", f)
					}
					k[f] = v
				}
				r.Key = k
				return r, nil
			}), nil
		},
	}
}

func extractFieldTransform() *TransformPlugin {
	return &TransformPlugin{
		Name:    "extract_field",
		Aliases: append(kafkaAliases("ExtractField", true), "ExtractField$Key", "org.apache.kafka.connect.transforms.ExtractField$Key"),
		Spec: NewSpec("Replace the value (or key) with one of its fields; a missing field gives null (Kafka Connect's ExtractField).",
			onField(),
			NewField(fieldField, TypeString).Description("The field to extract; dots reach into nested tables (a.b).")),
		New: func(p *Parsed) (Transform, error) {
			on, field := p.String(fieldOn), p.String(fieldField)
			path := strings.Split(field, ".")
			return TransformFunc(func(r *Record) (*Record, error) {
				m, err := operandMap(r, on, "extract_field")
				if err != nil {
					return nil, err
				}
				var v any = m
				for _, part := range path {
					mm, ok := v.(map[string]any)
					if !ok {
						v = nil
						break
					}
					v = mm[part]
				}
				setOperand(r, on, v)
				return r, nil
			}), nil
		},
	}
}
