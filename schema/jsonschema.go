package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonSchemaCodec validates JSON documents against a JSON Schema
// (santhosh-tekuri/jsonschema: drafts 4 to 2020-12, maintained) and passes
// the JSON text through: the payload of a JSON Schema record is JSON.
type jsonSchemaCodec struct {
	s *jsonschema.Schema
}

const jsonSchemaMainURL = "kdeck:///schema.json"

func newJSONSchemaCodec(text string, refs map[string]string) (*jsonSchemaCodec, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	add := func(url, t string) error {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(t))
		if err != nil {
			return fmt.Errorf("the JSON Schema is not JSON: %w", err)
		}
		return c.AddResource(url, doc)
	}
	for name, t := range refs {
		if err := add(name, t); err != nil {
			return nil, err
		}
	}
	if err := add(jsonSchemaMainURL, text); err != nil {
		return nil, err
	}
	s, err := c.Compile(jsonSchemaMainURL)
	if err != nil {
		return nil, fmt.Errorf("the JSON Schema does not compile: %w", err)
	}
	return &jsonSchemaCodec{s: s}, nil
}

// noLoader refuses to fetch anything: a schema's references come from the
// registry, never from the network at decode time.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("reference %s is not among the schema's registry references", url)
}

func (c *jsonSchemaCodec) decode(dst, b []byte, o DecodeOptions) ([]byte, error) {
	if !json.Valid(b) {
		return dst, errors.New("the JSON Schema payload is not valid JSON")
	}
	if o.Validate {
		if err := c.validate(b); err != nil {
			return dst, err
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}

func (c *jsonSchemaCodec) validate(b []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := c.s.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("does not match the JSON Schema: %s", oneLine(ve.Error()))
		}
		return err
	}
	return nil
}

func (c *jsonSchemaCodec) encode(dst, text []byte) ([]byte, error) {
	if err := c.validate(text); err != nil {
		return dst, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, text); err != nil {
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
