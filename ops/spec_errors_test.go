package ops_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/spec"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestSpecErrorsPlacedAlike: a bad field deep in a connector, a mirror flow
// and a stream job is reported the same way by 'kdeck config validate':
// KIND[i].PATH on the line that sets it, with the runtime's message.
func TestSpecErrorsPlacedAlike(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kdeck.toml")
	text := `[clusters.local]
brokers = ["127.0.0.1:9092"]

[[connectors]]
name = "gen"
class = "datagen"
topic = "t"
transforms = [{ type = "insert_feld" }]

[[mirrors]]
name = "ab"
source = "local"
target = "other"

[[mirrors]]
name = "cd"
source = "local"
target = "other"
[mirrors.producer]
linger = "5ms"
lingr = "5ms"

[[streams]]
name = "totals"
inputs = ["orders"]
output = "out"
aggregate = { op = "count" }
window = { type = "tumbling", size = "soon" }
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		validate func(*config.Config) error
		want     string
	}{
		{"connector", func(c *config.Config) error { return ops.ValidateConnectors(c, nil) },
			`:8: connectors[0].transforms[0].type: unknown transform type "insert_feld"; did you mean "insert_field"?`},
		{"mirror", ops.ValidateMirrors, `:21: mirrors[1].producer.lingr: unknown key; did you mean "linger"?`},
		{"stream", ops.ValidateStreams, `:28: streams[0].window.size: "soon" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.validate(cfg)
			var ce *config.Errors
			if !errors.As(err, &ce) {
				t.Fatalf("validate = %v, want *config.Errors", err)
			}
			found := false
			for _, e := range ce.List {
				found = found || strings.HasPrefix(e.Error(), path+tc.want)
			}
			if !found {
				t.Errorf("no problem starts with %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestPutJobInvalidCarriesFieldPaths: a job refused through the API (and
// so the CLI and the console) matches ErrInvalid whatever its kind, and
// still carries the runtime's *spec.Error with the field's path.
func TestPutJobInvalidCarriesFieldPaths(t *testing.T) {
	c := kafkatest.New(t)
	l := newLocal(t, c)
	for _, tc := range []struct {
		kind  ops.JobKind
		table map[string]any
		path  string
		text  string
	}{
		{ops.KindConnector, map[string]any{"name": "g", "class": "datagen", "cluster": c.Name(), "topic": "t", "tasks_max": "two"},
			"tasks_max", `job "g" is not valid: connector "g": tasks_max: must be an integer`},
		{ops.KindMirror, map[string]any{"name": "m", "source": c.Name(), "target": "dr", "consumer": map[string]any{"isolation": "dirty"}},
			"consumer.isolation", `job "m" is not valid: mirror "m": consumer.isolation: is "dirty"`},
		{ops.KindStream, map[string]any{"name": "s", "inputs": []any{"a"}, "output": "b", "time": map[string]any{"type": "wall"}},
			"time.type", `job "s" is not valid: stream job "s": time.type: "wall" is unknown`},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			_, _, err := l.PutJob(ctx(t), ops.PutJobRequest{Kind: tc.kind, Table: tc.table})
			var se *spec.Error
			if !errors.Is(err, ops.ErrInvalid) || !errors.As(err, &se) {
				t.Fatalf("PutJob = %v; want ErrInvalid carrying a *spec.Error", err)
			}
			if len(se.Fields) != 1 || se.Fields[0].Path != tc.path || !strings.HasPrefix(err.Error(), tc.text) {
				t.Errorf("PutJob = %q (fields %+v); want field %q and text %q", err, se.Fields, tc.path, tc.text)
			}
		})
	}
}
