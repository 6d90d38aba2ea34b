package spec_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/spec"
)

var errSentinel = errors.New("invalid thing")

func testSpec() *spec.Spec {
	producer := spec.New("producer",
		spec.NewField("linger", spec.TypeDuration).Default("5ms"),
		spec.NewField("compression", spec.TypeString).Optional().Enum("none", "gzip", "zstd"),
	)
	return spec.New("a test job",
		spec.NewField("topic", spec.TypeString).Description("The topic to write. Any name."),
		spec.NewField("rate", spec.TypeFloat).Default(10).AtLeast(0),
		spec.NewField("tasks", spec.TypeInt).Default(1).AtLeast(1),
		spec.NewField("flush", spec.TypeDuration).Default("1s"),
		spec.NewField("topics", spec.TypeStrings).Optional(),
		spec.NewField("patterns", spec.TypeStrings).Optional().KeepCommas(),
		spec.NewField("strict", spec.TypeBool).Optional(),
		spec.NewField("producer", spec.TypeTable).Optional().Fields(producer),
		spec.NewField("shape", spec.TypeTable).Optional(),
		spec.NewField("even", spec.TypeInt).Optional().Check(func(v any) error {
			if v.(int64)%2 != 0 {
				return fmt.Errorf("%d is odd: use an even number", v)
			}
			return nil
		}),
	)
}

func TestParseDefaultsAndForms(t *testing.T) {
	p, err := testSpec().Parse(map[string]any{
		"topic": "orders", "rate": int64(5), "flush": "PT2S", "topics": "a, b,,c",
		"patterns": "x{1,3}", "producer": map[string]any{"compression": "zstd"}, "even": 4.0,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.String("topic") != "orders" || p.Float("rate") != 5 || p.Int("tasks") != 1 || p.Duration("flush") != 2*time.Second {
		t.Errorf("values %v", p.Values())
	}
	if !reflect.DeepEqual(p.Strings("topics"), []string{"a", "b", "c"}) || !reflect.DeepEqual(p.Strings("patterns"), []string{"x{1,3}"}) {
		t.Errorf("lists %q %q", p.Strings("topics"), p.Strings("patterns"))
	}
	if p.Int("even") != 4 || p.Bool("strict") || p.Has("strict") || !p.Has("topic") || p.Has("tasks") {
		t.Errorf("even %d, strict %v, has(strict) %v has(topic) %v has(tasks) %v", p.Int("even"), p.Bool("strict"), p.Has("strict"), p.Has("topic"), p.Has("tasks"))
	}
	prod := p.Sub("producer")
	if prod.String("compression") != "zstd" || prod.Duration("linger") != 5*time.Millisecond {
		t.Errorf("producer %v", prod.Values())
	}
	// An absent table with declared fields is a nil Sub whose getters read zero values.
	p, err = testSpec().Parse(map[string]any{"topic": "t"})
	if err != nil || p.Sub("producer") != nil || p.Sub("producer").Duration("linger") != 0 || p.Table("shape") != nil {
		t.Errorf("absent producer: %v %v", err, p.Sub("producer"))
	}
}

func TestParseReportsEveryFieldByPath(t *testing.T) {
	_, err := testSpec().Parse(map[string]any{
		"topik": "x", "rate": -1, "tasks": 1.5, "flush": "soon", "strict": "yes", "even": 3,
		"producer": map[string]any{"lingr": "1s", "compression": "zstdd"}, "shape": 5,
	})
	var se *spec.Error
	if !errors.As(err, &se) {
		t.Fatalf("Parse = %v, want *spec.Error", err)
	}
	got := make([]string, len(se.Fields))
	for i, f := range se.Fields {
		got[i] = f.Error()
	}
	want := []string{
		`topik: unknown key; did you mean "topic"?`,
		`topic: missing: the topic to write`,
		`rate: must be at least 0, not -1`,
		`tasks: must be an integer, not number 1.5`,
		`flush: "soon" is not a duration (use forms like 500ms, 10s, 5m or PT30S)`,
		`strict: must be true or false, not string "yes"`,
		`producer.lingr: unknown key; did you mean "linger"?`,
		`producer.compression: "zstdd" is not one of none, gzip, zstd; did you mean "zstd"?`,
		`shape: must be a table, not integer 5`,
		`even: 3 is odd: use an even number`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if se.Subject != "" || !strings.HasPrefix(err.Error(), "configuration has 10 problems: topik: unknown key") {
		t.Errorf("error text %q", err)
	}
}

func TestErrorFormsAndWrapping(t *testing.T) {
	var p spec.Problems
	if p.Err("job", errSentinel) != nil || p.Merge("x", nil) {
		t.Fatal("no problems must give no error")
	}
	p.Add("output", "is missing: name the output topic")
	err := p.Err(`stream job "a"`, errSentinel)
	if err.Error() != `stream job "a": output: is missing: name the output topic` || !errors.Is(err, errSentinel) {
		t.Errorf("one problem: %q (is sentinel %v)", err, errors.Is(err, errSentinel))
	}
	// Merge nests another *Error's paths, and takes a plain error as one
	// problem of its prefix.
	_, inner := spec.New("", spec.NewField("type", spec.TypeString)).Parse(map[string]any{})
	p.Merge("transforms[0]", inner)
	p.Merge("transforms", fmt.Errorf("wrapped: %w", &spec.Error{Fields: []spec.FieldError{{Path: "[1].type", Msg: "bad"}}}))
	p.Merge("class", errors.New("unknown class"))
	var se *spec.Error
	if !errors.As(p.Err("", nil), &se) {
		t.Fatal("Err is not a *spec.Error")
	}
	var paths []string
	for _, f := range se.Fields {
		paths = append(paths, f.Path)
	}
	if want := []string{"output", "transforms[0].type", "transforms[1].type", "class"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %q, want %q", paths, want)
	}
	if (spec.FieldError{Msg: "whole table"}).Error() != "whole table" {
		t.Error("a problem without a path must read as its message")
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"topik", []string{"topic", "path"}, `; did you mean "topic"?`},
		{"Dial_Timout", []string{"dial_timeout"}, `; did you mean "dial_timeout"?`},
		{"insert", []string{"insert_field", "mask_field"}, `; did you mean "insert_field"?`},
		{"zzz", []string{"topic", "path"}, ""},
		{"x", nil, ""},
	} {
		if got := spec.Suggest(tc.word, tc.candidates); got != tc.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", tc.word, tc.candidates, got, tc.want)
		}
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range [][3]string{{"producer", "linger", "producer.linger"}, {"transforms", "[0].type", "transforms[0].type"}, {"", "a", "a"}, {"a", "", "a"}} {
		if got := spec.Join(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Join(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("topic", "orders", "flush", "1s")
	f.Add("producer", "x", "tasks", "PT1M")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p, err := testSpec().Parse(map[string]any{k1: v1, k2: v2})
		var se *spec.Error
		if err != nil && (!errors.As(err, &se) || len(se.Fields) == 0) {
			t.Fatalf("error %v is not a *spec.Error with fields", err)
		}
		if err == nil && p.String("topic") == "" && k1 != "topic" && k2 != "topic" {
			t.Fatalf("parsed without the required topic: %v", p.Values())
		}
	})
}
