package spec_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kdeck/kdeck/"

// TestRuntimesDoNotImportConfig: the runtimes take their declarations,
// errors and suggestions from spec, so none of them (nor anything they
// import from this module) depends on config, ops or tui.
func TestRuntimesDoNotImportConfig(t *testing.T) {
	deps := map[string][]string{} // package -> its module-local imports
	var walk func(pkg string)
	walk = func(pkg string) {
		if _, done := deps[pkg]; done {
			return
		}
		deps[pkg] = moduleImports(t, pkg)
		for _, d := range deps[pkg] {
			walk(d)
		}
	}
	for _, runtime := range []string{"connect", "mirror", "streams", "spec"} {
		walk(runtime)
		seen := map[string]string{runtime: ""}
		queue := []string{runtime}
		for len(queue) > 0 {
			pkg := queue[0]
			queue = queue[1:]
			for _, d := range deps[pkg] {
				if _, ok := seen[d]; ok {
					continue
				}
				seen[d] = pkg
				queue = append(queue, d)
			}
		}
		for _, banned := range []string{"config", "ops", "tui"} {
			if via, ok := seen[banned]; ok {
				t.Errorf("%s depends on %s (imported by %s)", runtime, banned, via)
			}
		}
	}
}

// moduleImports returns the module-local packages the non-test files of
// the package in dir ../pkg import, relative to the module root.
func moduleImports(t *testing.T, pkg string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("package %s: no Go files (%v)", pkg, err)
	}
	set := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(p, module) {
				set[strings.TrimPrefix(p, module)] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	return out
}
