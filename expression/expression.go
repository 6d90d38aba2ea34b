// Package expression compiles and evaluates the expressions kdeck takes in
// its configuration (connector filters, stream steps), with
// github.com/expr-lang/expr, so that every part of kdeck speaks the same
// expression language.
//
//	p, err := expression.Compile(`value.amount > 100 && topic == "orders"`, "topic", "value")
//	if err != nil {
//		return err // names the position of the problem
//	}
//	keep, err := p.Bool(map[string]any{"topic": "orders", "value": map[string]any{"amount": 120.0}})
//
// The language: https://expr-lang.org/docs/language-definition. Variables
// are the names given to Compile; using any other name is a compile error,
// with a suggestion.
package expression

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/kdeck/kdeck/spec"
)

// ErrCompile reports an expression that does not compile.
var ErrCompile = errors.New("expression does not compile")

// Program is a compiled expression. It is safe for concurrent use.
type Program struct {
	src  string
	prog *vm.Program
}

// Compile compiles src. vars names the variables the expression may use;
// their values are given at Eval time (a nil value is allowed). Field access
// on a map variable (value.amount) is checked only at run time.
func Compile(src string, vars ...string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("%w: the expression is empty", ErrCompile)
	}
	sorted := append([]string(nil), vars...)
	sort.Strings(sorted)
	// Variables are untyped (their values are decoded data), so compile
	// without types and check the names ourselves.
	p, err := expr.Compile(src, expr.AllowUndefinedVariables())
	if err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		return nil, fmt.Errorf("%w: %q: %s (variables: %s)", ErrCompile, src, msg, strings.Join(sorted, ", "))
	}
	known := map[string]bool{}
	for _, v := range vars {
		known[v] = true
	}
	c := &identChecker{known: known}
	node := p.Node()
	ast.Walk(&node, c)
	if c.unknown != "" {
		return nil, fmt.Errorf("%w: %q: unknown name %q%s (variables: %s)", ErrCompile, src, c.unknown, spec.Suggest(c.unknown, sorted), strings.Join(sorted, ", "))
	}
	return &Program{src: src, prog: p}, nil
}

// identChecker finds the first identifier that is not a known variable
// (builtins such as len are function calls, not identifiers).
type identChecker struct {
	known   map[string]bool
	unknown string
}

func (c *identChecker) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && !c.known[id.Value] && c.unknown == "" {
		c.unknown = id.Value
	}
}

// String returns the source of p.
func (p *Program) String() string { return p.src }

// Eval runs p with the given variable values.
func (p *Program) Eval(vars map[string]any) (any, error) {
	out, err := expr.Run(p.prog, vars)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", p.src, err)
	}
	return out, nil
}

// Bool runs p and requires a boolean result; nil counts as false.
func (p *Program) Bool(vars map[string]any) (bool, error) {
	out, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	switch v := out.(type) {
	case bool:
		return v, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("expression %q returned %T (%v), not a boolean", p.src, out, out)
}
