package expression

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileAndBool(t *testing.T) {
	vars := map[string]any{"value": map[string]any{"amount": int64(120), "tags": []any{"a"}}, "topic": "orders", "key": nil}
	for _, tc := range []struct {
		src     string
		want    bool
		compile string // error substring at compile time
		run     string // error substring at run time
	}{
		{`value.amount > 100 && topic == "orders"`, true, "", ""},
		{`value.amount < 100`, false, "", ""},
		{`key == nil`, true, "", ""},
		{`len(value.tags) == 1`, true, "", ""},
		{`value.missing == nil`, true, "", ""},
		{`vaule.amount > 1`, false, `unknown name "vaule"; did you mean "value"?`, ""},
		{`value.amount >`, false, "does not compile", ""},
		{``, false, "empty", ""},
		{`topic`, false, "", "not a boolean"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, "value", "topic", "key")
			if tc.compile != "" {
				if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), tc.compile) {
					t.Fatalf("Compile = %v, want %q", err, tc.compile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Bool(vars)
			if tc.run != "" {
				if err == nil || !strings.Contains(err.Error(), tc.run) {
					t.Fatalf("Bool = %v, want error %q", err, tc.run)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Bool = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{`value.amount > 1`, `topic == "x"`, `len(headers) > 0 || key == nil`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, "value", "topic", "key", "headers")
		if err != nil {
			return
		}
		_, _ = p.Eval(map[string]any{"value": map[string]any{"amount": 1.0}, "topic": "x", "key": nil, "headers": map[string]string{}})
	})
}
