package spec

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem with one field.
type FieldError struct {
	// Path names the field from the table's root: "topic",
	// "producer.linger", "transforms[0].type"; "" for the table as a whole.
	Path string `json:"field"`
	// Msg says what is wrong and what to do, without the path: "unknown
	// key; did you mean \"topic\"?".
	Msg string `json:"message"`
}

// Error returns "PATH: MSG" (MSG alone without a path).
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Error is every problem of one configuration (a connector, a mirror flow,
// a stream job), by field. Runtimes return it from parsing and validation;
// callers take it apart with errors.As to place each field (the TOML
// validator adds file, line and the table's own path, the API lists
// fields).
type Error struct {
	// Subject names what was configured, for example `connector
	// "app-log"`; "" reads "configuration".
	Subject string
	// Fields lists the problems in the order they were found.
	Fields []FieldError
	// Err is the sentinel the error wraps (Unwrap), such as
	// streams.ErrInvalid; nil for none.
	Err error
}

// Error returns "SUBJECT: PATH: MSG" for one problem and "SUBJECT has N
// problems: PATH: MSG; PATH: MSG" for several.
func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	subj := e.Subject
	if subj == "" {
		subj = "configuration"
	}
	if len(parts) == 1 {
		return subj + ": " + parts[0]
	}
	return fmt.Sprintf("%s has %d problems: %s", subj, len(parts), strings.Join(parts, "; "))
}

// Unwrap returns the sentinel the error wraps, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Problems collects field errors; the zero value is an empty collection
// ready to use. It is not safe for concurrent use.
type Problems struct {
	list []FieldError
}

// Add records a problem of the field at path.
func (p *Problems) Add(path, msg string) {
	p.list = append(p.list, FieldError{Path: path, Msg: msg})
}

// Addf records a problem of the field at path; the message is
// fmt.Sprintf(format, args...).
func (p *Problems) Addf(path, format string, args ...any) {
	p.Add(path, fmt.Sprintf(format, args...))
}

// Merge records err's problems under prefix (joined with "." unless the
// path starts with "["): every field of an *Error, or err itself as a
// problem of prefix. It reports whether err was not nil.
func (p *Problems) Merge(prefix string, err error) bool {
	if err == nil {
		return false
	}
	var se *Error
	if !errors.As(err, &se) {
		p.Add(prefix, err.Error())
		return true
	}
	for _, f := range se.Fields {
		p.list = append(p.list, FieldError{Path: Join(prefix, f.Path), Msg: f.Msg})
	}
	return true
}

// Len returns the number of problems.
func (p *Problems) Len() int { return len(p.list) }

// List returns the problems collected so far.
func (p *Problems) List() []FieldError { return p.list }

// Err returns nil when there are no problems, else an *Error with the
// subject, every problem and the wrapped sentinel (nil for none).
func (p *Problems) Err(subject string, sentinel error) error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Subject: subject, Fields: append([]FieldError(nil), p.list...), Err: sentinel}
}

// Join joins a parent path and a field path: Join("producer", "linger") is
// "producer.linger", Join("transforms", "[0].type") is
// "transforms[0].type"; an empty side is left out.
func Join(parent, path string) string {
	switch {
	case parent == "":
		return path
	case path == "":
		return parent
	case strings.HasPrefix(path, "["):
		return parent + path
	}
	return parent + "." + path
}
