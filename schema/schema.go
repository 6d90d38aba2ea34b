// Package schema reads and writes records in the Schema Registry wire format
// (magic byte 0, a 4-byte big-endian schema id, Protobuf's message indexes,
// then the payload) for Avro, Protobuf and JSON Schema, with a Confluent
// Schema Registry as the source of schemas, through franz-go's pkg/sr.
//
//	c, err := schema.NewClient(schema.Config{URLs: []string{"http://127.0.0.1:8081"}})
//	if err != nil {
//		return err
//	}
//	dec := schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{PrettyTime: true})
//	res := dec.Decode(ctx, record.Value) // res.JSON, res.SchemaID, res.Subject, res.Err
//
//	enc, err := c.NewEncoder(ctx, "payments-value", schema.Latest)
//	wire, err := enc.Encode([]byte(`{"id": 1, "amount": "12.50"}`))
//
// Compiled schemas are cached by id (ids are immutable in a registry), so a
// read fetches each schema once. Every request has a timeout (Config.Timeout),
// so an unreachable registry is an error, never a hang.
package schema

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// Formats, as the registry names schema types in kdeck's output.
const (
	FormatAvro       = "avro"
	FormatProtobuf   = "protobuf"
	FormatJSONSchema = "json-schema"
)

// Latest asks for a subject's latest version.
const Latest = -1

// Config says how to reach a registry.
type Config struct {
	// URLs are tried in order until one answers.
	URLs []string
	// Username and Password set HTTP basic auth; Token a bearer token.
	Username, Password string
	Token              string
	// TLS is used for https URLs; nil uses the system roots.
	TLS *tls.Config
	// Timeout bounds each request; default 10s. Connecting is bounded by
	// the smaller of Timeout and 5s.
	Timeout time.Duration
}

// Client is a cached Schema Registry client. It is safe for concurrent use.
type Client struct {
	sr      *sr.Client
	urls    []string
	timeout time.Duration

	mu     sync.Mutex
	byID   map[int]*Schema
	where  map[int]sr.SubjectVersion
	byText map[string]*Schema
}

// Schema is a compiled schema.
type Schema struct {
	ID     int
	Format string
	Text   string
	// References are the schema's registry references.
	References []sr.SchemaReference

	avro  *avroCodec
	proto *protoCodec
	json  *jsonSchemaCodec
}

// NewClient validates cfg and returns a client; it does not connect.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no schema registry URL: set url in [clusters.NAME.schema_registry] or pass --registry")
	}
	for _, u := range cfg.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("schema registry URL %q is not an http:// or https:// URL", u)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	dial := min(cfg.Timeout, 5*time.Second)
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: dial}).DialContext,
		TLSClientConfig:     cfg.TLS,
		TLSHandshakeTimeout: dial,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	opts := []sr.ClientOpt{
		sr.URLs(cfg.URLs...),
		sr.HTTPClient(&http.Client{Timeout: cfg.Timeout, Transport: tr}),
		sr.UserAgent("kdeck"),
	}
	if cfg.Username != "" || cfg.Password != "" {
		opts = append(opts, sr.BasicAuth(cfg.Username, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, sr.BearerToken(cfg.Token))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Client{sr: cl, urls: cfg.URLs, timeout: cfg.Timeout, byID: map[int]*Schema{}, where: map[int]sr.SubjectVersion{}, byText: map[string]*Schema{}}, nil
}

// SR returns the underlying franz-go client, for the registry calls this
// package does not wrap.
func (c *Client) SR() *sr.Client { return c.sr }

// URL returns the first configured URL.
func (c *Client) URL() string { return c.urls[0] }

// ErrNotFound reports a subject, version or schema id the registry does not
// have.
var ErrNotFound = errors.New("not found in the schema registry")

// ErrUnreachable reports a registry that did not answer.
var ErrUnreachable = errors.New("schema registry unreachable")

// ErrIncompatible reports a schema that the subject's compatibility level
// refuses.
var ErrIncompatible = errors.New("incompatible schema")

// Explain turns a registry error into one sentence that says what is wrong
// and what to do; what names the thing asked for ("subject \"x\"").
func (c *Client) Explain(err error, what string) error {
	if err == nil {
		return nil
	}
	var re *sr.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusUnauthorized:
			return fmt.Errorf("the schema registry at %s refused the credentials (401): check username/password or token in [clusters.NAME.schema_registry]", c.URL())
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("the schema registry at %s denied access to %s (403)", c.URL(), what)
		case re.StatusCode == http.StatusNotFound:
			return &sentinel{fmt.Sprintf("%s is not in the schema registry at %s (%s)", what, c.URL(), re.Message), ErrNotFound}
		case re.StatusCode == http.StatusConflict:
			return &sentinel{fmt.Sprintf("the schema registry refused %s: %s", what, re.Message), ErrIncompatible}
		case re.StatusCode == http.StatusUnprocessableEntity:
			return fmt.Errorf("the schema registry refused %s: %s", what, re.Message)
		case re.StatusCode >= 500:
			return fmt.Errorf("the schema registry at %s failed (%d) on %s: %s; try again, or check the registry's logs", c.URL(), re.StatusCode, what, re.Message)
		}
		return fmt.Errorf("the schema registry answered %d for %s: %s", re.StatusCode, what, re.Message)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return &sentinel{fmt.Sprintf("the schema registry at %s does not answer (%v): start it, or check url in [clusters.NAME.schema_registry] or --registry", strings.Join(c.urls, ", "), rootCause(err)), ErrUnreachable}
	}
	return err
}

// sentinel is a message that matches one of the package's sentinels.
type sentinel struct {
	msg string
	err error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.err }

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// SchemaByID returns the compiled schema with this id, from the cache or
// the registry.
func (c *Client) SchemaByID(ctx context.Context, id int) (*Schema, error) {
	c.mu.Lock()
	s, ok := c.byID[id]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := c.sr.SchemaByID(ctx, id)
	if err != nil {
		return nil, c.Explain(err, fmt.Sprintf("schema id %d", id))
	}
	s, err = c.Compile(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	s.ID = id
	c.mu.Lock()
	c.byID[id] = s
	c.mu.Unlock()
	return s, nil
}

// Where returns a subject and version that hold schema id, cached; the
// zero value when the registry does not say.
func (c *Client) Where(ctx context.Context, id int) sr.SubjectVersion {
	c.mu.Lock()
	w, ok := c.where[id]
	c.mu.Unlock()
	if ok {
		return w
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	vs, err := c.sr.SchemaVersionsByID(ctx, id)
	if err == nil && len(vs) > 0 {
		w = vs[0]
	}
	c.mu.Lock()
	c.where[id] = w
	c.mu.Unlock()
	return w
}

// SubjectSchema returns a subject's version (Latest for the newest),
// compiled.
func (c *Client) SubjectSchema(ctx context.Context, subject string, version int) (sr.SubjectSchema, *Schema, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ss, err := c.sr.SchemaByVersion(ctx, subject, version)
	if err != nil {
		what := fmt.Sprintf("subject %q", subject)
		if version != Latest {
			what = fmt.Sprintf("subject %q version %d", subject, version)
		}
		return ss, nil, c.Explain(err, what)
	}
	s, err := c.SchemaByID(ctx, ss.ID)
	return ss, s, err
}

// Compile compiles a schema (Avro, Protobuf or JSON Schema), fetching its
// references from the registry. It caches by type and text.
func (c *Client) Compile(ctx context.Context, raw sr.Schema) (*Schema, error) {
	key := string(raw.Type.String()) + "\x00" + raw.Schema
	if len(raw.References) == 0 {
		c.mu.Lock()
		s, ok := c.byText[key]
		c.mu.Unlock()
		if ok {
			return s, nil
		}
	}
	refs := map[string]string{}
	if err := c.references(ctx, raw.References, refs, 0); err != nil {
		return nil, err
	}
	s, err := compile(ctx, raw, refs)
	if err != nil {
		return nil, err
	}
	if len(raw.References) == 0 {
		c.mu.Lock()
		c.byText[key] = s
		c.mu.Unlock()
	}
	return s, nil
}

func (c *Client) references(ctx context.Context, refs []sr.SchemaReference, into map[string]string, depth int) error {
	if depth > 16 {
		return errors.New("schema references nest more than 16 deep (a cycle?)")
	}
	for _, r := range refs {
		if _, ok := into[r.Name]; ok {
			continue
		}
		ss, err := c.sr.SchemaByVersion(ctx, r.Subject, r.Version)
		if err != nil {
			return c.Explain(err, fmt.Sprintf("reference %q (subject %q version %d)", r.Name, r.Subject, r.Version))
		}
		if err := c.references(ctx, ss.References, into, depth+1); err != nil {
			return err
		}
		into[r.Name] = ss.Schema.Schema
	}
	return nil
}

// Compile compiles a schema without a registry (no references); the
// registry server uses it to validate what it stores.
func Compile(ctx context.Context, raw sr.Schema, refs map[string]string) (*Schema, error) {
	return compile(ctx, raw, refs)
}

func compile(ctx context.Context, raw sr.Schema, refs map[string]string) (*Schema, error) {
	s := &Schema{Text: raw.Schema, References: raw.References}
	var err error
	switch raw.Type {
	case sr.TypeAvro:
		s.Format = FormatAvro
		var texts []string
		for _, r := range raw.References {
			texts = append(texts, refs[r.Name])
		}
		s.avro, err = newAvroCodec(raw.Schema, texts)
	case sr.TypeProtobuf:
		s.Format = FormatProtobuf
		s.proto, err = newProtoCodec(ctx, raw.Schema, refs)
	case sr.TypeJSON:
		s.Format = FormatJSONSchema
		s.json, err = newJSONSchemaCodec(raw.Schema, refs)
	default:
		return nil, fmt.Errorf("schema type %q is not supported: use AVRO, PROTOBUF or JSON", raw.Type)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// CheckCompatible reports why candidate is not compatible with the
// existing schemas (oldest first) under level (BACKWARD, FORWARD, FULL and
// their _TRANSITIVE forms, or NONE): nil means compatible. Avro follows
// Avro's schema resolution rules (hamba/avro); Protobuf and JSON Schema are
// only required to compile (see docs/schemas.md).
func CheckCompatible(level string, candidate *Schema, existing []*Schema) []string {
	level = strings.ToUpper(level)
	if level == "" {
		level = "BACKWARD"
	}
	if level == "NONE" || len(existing) == 0 {
		return nil
	}
	against := existing[len(existing)-1:]
	if strings.HasSuffix(level, "_TRANSITIVE") {
		against = existing
	}
	var msgs []string
	for _, old := range against {
		if old.Format != candidate.Format {
			msgs = append(msgs, fmt.Sprintf("schema type changed from %s to %s", old.Format, candidate.Format))
			continue
		}
		if candidate.avro == nil {
			continue
		}
		back := strings.HasPrefix(level, "BACKWARD") || strings.HasPrefix(level, "FULL")
		fwd := strings.HasPrefix(level, "FORWARD") || strings.HasPrefix(level, "FULL")
		if back {
			if err := avroCompatible(candidate.avro.s, old.avro.s); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: the new schema cannot read data written with schema id %d: %v", level, old.ID, err))
			}
		}
		if fwd {
			if err := avroCompatible(old.avro.s, candidate.avro.s); err != nil {
				msgs = append(msgs, fmt.Sprintf("%s: readers of schema id %d cannot read data written with the new schema: %v", level, old.ID, err))
			}
		}
	}
	return msgs
}

// Serialized returns a Protobuf schema as a base64 FileDescriptorProto
// (the registry's format=serialized); other formats return their text.
func (s *Schema) Serialized() (string, error) {
	if s.proto != nil {
		return s.proto.serialized()
	}
	return s.Text, nil
}

// FirstMessage returns a Protobuf schema's first message's full name ("" for
// other formats).
func (s *Schema) FirstMessage() string {
	if s.proto == nil || s.proto.file.Messages().Len() == 0 {
		return ""
	}
	return string(s.proto.file.Messages().Get(0).FullName())
}

// Canonical returns an Avro schema's parsing canonical form, or the text
// for other formats.
func (s *Schema) Canonical() string {
	if s.avro != nil {
		return s.avro.s.String()
	}
	return strings.TrimSpace(s.Text)
}
