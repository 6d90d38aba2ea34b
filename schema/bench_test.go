package schema_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
)

// BenchmarkAvroDecode measures decoding one Avro record in the wire format
// to JSON (schema cached), the per-record cost of tail --decode.
func BenchmarkAvroDecode(b *testing.B) {
	c := registry(b)
	if _, err := c.SR().CreateSchema(context.Background(), "p-value", sr.Schema{Schema: payment}); err != nil {
		b.Fatal(err)
	}
	enc, err := c.NewEncoder(context.Background(), "p-value", schema.Latest)
	if err != nil {
		b.Fatal(err)
	}
	wire, err := enc.Encode([]byte(`{"id": 7, "amount": "-12.05", "currency": "USD", "at": 1795687200123, "day": 20000,
		"tags": ["a","b"], "attrs": {"k": 3}, "note": "hi", "either": 1, "ratio": 0.5}`))
	if err != nil {
		b.Fatal(err)
	}
	d := schema.NewDecoder(c, schema.ModeAuto, schema.DecodeOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if res := d.Decode(ctx, wire); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}
