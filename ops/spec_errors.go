package ops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/spec"
)

// specInvalid is a runtime's *spec.Error (a connector's, a mirror flow's
// or a stream job's configuration) as ops returns it: it matches
// ErrInvalid, so that the CLI, the API and the console treat every job
// kind's bad configuration alike, and errors.As still finds the
// *spec.Error with its field paths.
type specInvalid struct{ se *spec.Error }

func (e *specInvalid) Error() string   { return e.se.Error() }
func (e *specInvalid) Unwrap() []error { return []error{e.se, ErrInvalid} }

// invalidSpec returns err as a specInvalid when it carries a *spec.Error,
// else err unchanged.
func invalidSpec(err error) error {
	var se *spec.Error
	if errors.As(err, &se) {
		return &specInvalid{se: se}
	}
	return err
}

// fieldProblems lists the fields of err's *spec.Error for the API and the
// console; ok is false when err carries none.
func fieldProblems(err error) (out []FieldProblem, ok bool) {
	var se *spec.Error
	if !errors.As(err, &se) {
		return nil, false
	}
	out = make([]FieldProblem, len(se.Fields))
	for i, f := range se.Fields {
		out[i] = FieldProblem{Field: f.Path, Message: f.Msg}
	}
	return out, true
}

// tableErrors places the problems of the i-th [[kind]] table of cfg (set
// on line tableLine) for 'kdeck config validate': each field of err's
// *spec.Error becomes a *config.Error keyed KIND[i].PATH on the line that
// sets the field (else its top key, else the table's); any other error is
// one problem of the table as a whole.
func tableErrors(cfg *config.Config, kind string, i, tableLine int, err error) []*config.Error {
	if err == nil {
		return nil
	}
	var se *spec.Error
	if !errors.As(err, &se) {
		return []*config.Error{tableError(cfg, kind, i, tableLine, "", err.Error())}
	}
	out := make([]*config.Error, len(se.Fields))
	for n, f := range se.Fields {
		out[n] = tableError(cfg, kind, i, tableLine, f.Path, f.Msg)
	}
	return out
}

// tableError is one problem of the field at path ("" for the whole
// table) of the i-th [[kind]] table of cfg.
func tableError(cfg *config.Config, kind string, i, tableLine int, path, msg string) *config.Error {
	key := fmt.Sprintf("%s[%d]", kind, i)
	line := 0
	if path != "" {
		key = spec.Join(key, path)
		header := cfg.KeyLine(kind, i, "")
		line = cfg.KeyLine(kind, i, path)
		if top := path[:topKeyEnd(path)]; line == header && top != path {
			line = cfg.KeyLine(kind, i, top)
		}
	}
	if line == 0 {
		line = tableLine
	}
	return &config.Error{Path: cfg.Path, Line: line, Key: key, Msg: msg}
}

// topKeyEnd returns the length of the top-level key of a field path:
// "transforms" of "transforms[0].type", "producer" of "producer.linger".
func topKeyEnd(path string) int {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return i
	}
	return len(path)
}
