package ops

import "errors"

// Error kinds: the names under which errors cross a wire (the worker's API)
// so that a remote client returns errors that match the same sentinels.
const (
	KindReadOnly       = "read_only"
	KindGroupActive    = "group_active"
	KindGroupMoved     = "group_moved"
	KindNoWorker       = "no_worker"
	KindGroupNotFound  = "group_not_found"
	KindTopicNotFound  = "topic_not_found"
	KindNotFound       = "not_found"
	KindUnreachable    = "unreachable"
	KindInvalid        = "invalid"
	KindNotImplemented = "not_implemented"
	KindRefused        = "refused"
)

// errorKinds lists the kinds from the most specific sentinel to the most
// general, with the sentinels an error of that kind matches.
var errorKinds = []struct {
	kind string
	is   []error
}{
	{KindReadOnly, []error{ErrReadOnly}},
	{KindGroupActive, []error{ErrGroupActive, ErrRefused}},
	{KindGroupMoved, []error{ErrGroupMoved}},
	{KindNoWorker, []error{ErrNoWorker, ErrRefused}},
	{KindGroupNotFound, []error{ErrGroupNotFound, ErrNotFound}},
	{KindTopicNotFound, []error{ErrTopicNotFound, ErrNotFound}},
	{KindNotFound, []error{ErrNotFound}},
	{KindUnreachable, []error{ErrUnreachable}},
	{KindInvalid, []error{ErrInvalid}},
	{KindNotImplemented, []error{ErrNotImplemented}},
	{KindRefused, []error{ErrRefused}},
}

// ErrorKind returns the kind of err (one of the Kind constants), or "" for
// an error that matches none of ops' sentinels.
func ErrorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.is[0]) {
			return k.kind
		}
	}
	return ""
}

// KindError returns an error with message msg that matches the sentinels of
// kind (as ErrorKind named them); an unknown or empty kind gives a plain
// error.
func KindError(kind, msg string) error {
	for _, k := range errorKinds {
		if k.kind == kind {
			return &kindError{msg: msg, is: k.is}
		}
	}
	return errors.New(msg)
}

type kindError struct {
	msg string
	is  []error
}

func (e *kindError) Error() string { return e.msg }

// Is matches the sentinels of the error's kind.
func (e *kindError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}
