package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
)

// Schema converter names: records in the Schema Registry wire format, as
// Confluent's AvroConverter, ProtobufConverter and JsonSchemaConverter
// write them.
const (
	ConverterAvro       = "avro"
	ConverterProtobuf   = "protobuf"
	ConverterJSONSchema = "json_schema"
)

// Keys of the schema converters (common to every connector).
const (
	FieldSchemaRegistryURL   = "schema_registry_url"
	FieldSubjectNameStrategy = "subject_name_strategy"
	FieldAutoRegisterSchemas = "auto_register_schemas"
	FieldUseLatestVersion    = "use_latest_version"
	FieldKeySchema           = "key_schema"
	FieldValueSchema         = "value_schema"
)

// Subject name strategies, as Kafka Connect's serializers name them.
const (
	StrategyTopicName       = "topic_name"        // TOPIC-key, TOPIC-value
	StrategyRecordName      = "record_name"       // the record's full name
	StrategyTopicRecordName = "topic_record_name" // TOPIC-fullname
)

// schemaFields are the common keys the schema converters read.
func schemaFields() []*Field {
	return []*Field{
		NewField(FieldSchemaRegistryURL, TypeString).Optional().Description("Schema Registry of the avro, protobuf and json_schema converters; default the cluster's [clusters.NAME.schema_registry]."),
		NewField(FieldSubjectNameStrategy, TypeString).Default(StrategyTopicName).Enum(StrategyTopicName, StrategyRecordName, StrategyTopicRecordName).Description("How schema converters name subjects: topic_name (TOPIC-value), record_name (the record's full name) or topic_record_name (TOPIC-fullname)."),
		NewField(FieldAutoRegisterSchemas, TypeBool).Default(false).Description("Sources: register key_schema/value_schema under the subject on first use (deduplicated by the registry)."),
		NewField(FieldUseLatestVersion, TypeBool).Default(true).Description("Sources: encode with the subject's latest version when the schema is not registered here."),
		NewField(FieldKeySchema, TypeString).Optional().Description("Schema text of keys for a schema key converter (Avro JSON, .proto text or JSON Schema)."),
		NewField(FieldValueSchema, TypeString).Optional().Description("Schema text of values for a schema value converter (Avro JSON, .proto text or JSON Schema)."),
	}
}

func isSchemaConverter(name string) bool {
	return name == ConverterAvro || name == ConverterProtobuf || name == ConverterJSONSchema
}

// TopicConverter is a Converter whose encoding depends on the record's
// topic (subject names); the workers call it instead of Converter's methods
// when a converter implements it.
type TopicConverter interface {
	FromBytesTopic(topic string, b []byte) (any, error)
	ToBytesTopic(topic string, v any) ([]byte, error)
}

func convertTo(c Converter, topic string, v any) ([]byte, error) {
	if tc, ok := c.(TopicConverter); ok {
		return tc.ToBytesTopic(topic, v)
	}
	return c.ToBytes(v)
}

func convertFrom(c Converter, topic string, b []byte) (any, error) {
	if tc, ok := c.(TopicConverter); ok {
		return tc.FromBytesTopic(topic, b)
	}
	return c.FromBytes(b)
}

// schemaConverter encodes and decodes through a Schema Registry. Its client
// is set by NewJob (schema_registry_url, or WithSchemaRegistry). Safe for
// concurrent use.
type schemaConverter struct {
	format     string // schema.Format*
	isKey      bool
	strategy   string
	autoReg    bool
	useLatest  bool
	schemaText string
	recordName string

	client *schema.Client

	mu       sync.Mutex
	encoders map[string]*schema.Encoder
	dec      *schema.Decoder
}

func newSchemaConverter(name string, isKey bool, p *Parsed) (*schemaConverter, error) {
	c := &schemaConverter{isKey: isKey, strategy: p.String(FieldSubjectNameStrategy), autoReg: p.Bool(FieldAutoRegisterSchemas),
		useLatest: p.Bool(FieldUseLatestVersion), encoders: map[string]*schema.Encoder{}}
	field := FieldValueSchema
	if isKey {
		field = FieldKeySchema
	}
	c.schemaText = p.String(field)
	switch name {
	case ConverterAvro:
		c.format = schema.FormatAvro
	case ConverterProtobuf:
		c.format = schema.FormatProtobuf
	default:
		c.format = schema.FormatJSONSchema
	}
	if c.schemaText != "" {
		rn, err := recordName(c.format, c.schemaText)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", field, err)
		}
		c.recordName = rn
	}
	switch {
	case c.autoReg && c.schemaText == "":
		return nil, fmt.Errorf("auto_register_schemas needs %s: the schema to register", field)
	case c.strategy != StrategyTopicName && c.recordName == "":
		return nil, fmt.Errorf("subject_name_strategy %q needs %s (its record name names the subject)", c.strategy, field)
	}
	return c, nil
}

// recordName is the name record_name strategies use: an Avro record's full
// name, a Protobuf schema's first message's full name, a JSON Schema's
// title.
func recordName(format, text string) (string, error) {
	switch format {
	case schema.FormatAvro:
		s, err := avro.Parse(text)
		if err != nil {
			return "", fmt.Errorf("the Avro schema does not parse: %v", err)
		}
		if n, ok := s.(avro.NamedSchema); ok {
			return n.FullName(), nil
		}
		return "", nil
	case schema.FormatProtobuf:
		s, err := schema.Compile(context.Background(), sr.Schema{Schema: text, Type: sr.TypeProtobuf}, nil)
		if err != nil {
			return "", err
		}
		return s.FirstMessage(), nil
	}
	var doc struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return "", fmt.Errorf("the JSON Schema is not JSON: %v", err)
	}
	return doc.Title, nil
}

func (c *schemaConverter) subject(topic string) string {
	switch c.strategy {
	case StrategyRecordName:
		return c.recordName
	case StrategyTopicRecordName:
		return topic + "-" + c.recordName
	}
	if c.isKey {
		return topic + "-key"
	}
	return topic + "-value"
}

func (c *schemaConverter) FromBytes(b []byte) (any, error) { return c.FromBytesTopic("", b) }
func (c *schemaConverter) ToBytes(v any) ([]byte, error)   { return c.ToBytesTopic("", v) }

// FromBytesTopic decodes a wire-format payload to data (maps, numbers as
// json numbers turned into int64 or float64, as the json converter does).
func (c *schemaConverter) FromBytesTopic(topic string, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	c.mu.Lock()
	if c.dec == nil {
		c.dec = schema.NewDecoder(c.client, schema.Mode(strings.ReplaceAll(c.format, "_", "-")), schema.DecodeOptions{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	res := c.dec.Decode(ctx, b)
	cancel()
	c.mu.Unlock()
	if res.Err != nil {
		return nil, res.Err
	}
	return jsonConverter{}.FromBytes(res.JSON)
}

// ToBytesTopic encodes data with the subject's schema.
func (c *schemaConverter) ToBytesTopic(topic string, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	text, err := jsonConverter{}.ToBytes(v)
	if err != nil {
		return nil, err
	}
	enc, err := c.encoder(topic)
	if err != nil {
		return nil, err
	}
	return enc.Encode(text)
}

func (c *schemaConverter) encoder(topic string) (*schema.Encoder, error) {
	subject := c.subject(topic)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.encoders[subject]; ok {
		return e, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	version := schema.Latest
	switch {
	case c.autoReg:
		t := sr.TypeAvro
		switch c.format {
		case schema.FormatProtobuf:
			t = sr.TypeProtobuf
		case schema.FormatJSONSchema:
			t = sr.TypeJSON
		}
		ss, err := c.client.SR().CreateSchema(ctx, subject, sr.Schema{Schema: c.schemaText, Type: t})
		if err != nil {
			return nil, c.client.Explain(err, fmt.Sprintf("registering the schema under subject %q", subject))
		}
		version = ss.Version
	case !c.useLatest:
		return nil, fmt.Errorf("subject %q: set use_latest_version, or auto_register_schemas with %s", subject, map[bool]string{true: FieldKeySchema, false: FieldValueSchema}[c.isKey])
	}
	e, err := c.client.NewEncoder(ctx, subject, version)
	if err != nil {
		return nil, err
	}
	if c.format == schema.FormatProtobuf && c.recordName != "" {
		if err := e.UseMessage(c.recordName); err != nil {
			return nil, err
		}
	}
	c.encoders[subject] = e
	return e, nil
}

// WithSchemaRegistry sets the Schema Registry the avro, protobuf and
// json_schema converters use when the connector has no schema_registry_url
// (ops passes the cluster's).
func WithSchemaRegistry(c *schema.Client) Opt {
	return jobOpt(func(cfg *jobCfg) { cfg.registry = c })
}

// bindSchemaConverters gives the job's schema converters their registry
// client.
func (j *Job) bindSchemaConverters() error {
	var convs []*schemaConverter
	for _, c := range []Converter{j.keyC, j.valC} {
		if sc, ok := c.(*schemaConverter); ok {
			convs = append(convs, sc)
		}
	}
	if len(convs) == 0 {
		return nil
	}
	client := j.cfg.registry
	if u := j.p.String(FieldSchemaRegistryURL); u != "" {
		var err error
		if client, err = schema.NewClient(schema.Config{URLs: []string{u}}); err != nil {
			return &ConfigError{Subject: fmt.Sprintf("connector %q", j.name), Fields: []FieldError{{Path: FieldSchemaRegistryURL, Msg: err.Error()}}}
		}
	}
	if client == nil {
		return &ConfigError{Subject: fmt.Sprintf("connector %q", j.name), Fields: []FieldError{{Path: FieldValueConverter, Msg: "a schema converter needs a Schema Registry: set schema_registry_url, or [clusters.NAME.schema_registry] for the connector's cluster"}}}
	}
	for _, c := range convs {
		c.client = client
	}
	return nil
}
