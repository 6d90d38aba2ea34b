package ops

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors callers act on. The CLI maps ErrReadOnly, ErrGroupActive
// and ErrGroupMoved to exit code 3 (refused).
var (
	// ErrReadOnly refuses a mutation in read-only mode.
	ErrReadOnly = errors.New("kdeck is in read-only mode")
	// ErrGroupActive refuses an offset change while a group has members.
	ErrGroupActive = errors.New("group has active members")
	// ErrGroupMoved refuses a plan whose group committed since it was made.
	ErrGroupMoved = errors.New("group moved since the plan was made")
	// ErrNotFound reports an unknown topic, group, job or audit entry.
	ErrNotFound = errors.New("not found")
	// ErrGroupNotFound reports an unknown group (it also matches ErrNotFound).
	ErrGroupNotFound = fmt.Errorf("group %w", ErrNotFound)
	// ErrTopicNotFound reports an unknown topic (it also matches ErrNotFound).
	ErrTopicNotFound = fmt.Errorf("topic %w", ErrNotFound)
	// ErrUnreachable reports a cluster that did not answer.
	ErrUnreachable = errors.New("cluster unreachable")
	// ErrInvalid reports bad input (a usage error at the CLI).
	ErrInvalid = errors.New("invalid input")
	// ErrRefused reports an operation refused for safety (exit 3).
	ErrRefused = errors.New("refused")
	// ErrNotImplemented reports a verb not available in this service.
	ErrNotImplemented = errors.New("not available")
	// ErrAuditWrite reports a mutation not made because its intent could
	// not be written to the audit log.
	ErrAuditWrite = errors.New("audit log not writable")
)

// ActiveGroupError is ErrGroupActive with the members that keep the group
// active, so the message can name them.
type ActiveGroupError struct {
	Cluster, Group string
	Members        []GroupMember
}

func (e *ActiveGroupError) Error() string {
	if isHold(e.Members) {
		return fmt.Sprintf("another kdeck is executing a plan on group %q on cluster %q at this moment (member %s, host %s); nothing was changed: wait a moment, then make a new plan, since that execute may have moved the group",
			e.Group, e.Cluster, e.Members[0].MemberID, e.Members[0].Host)
	}
	var ms []string
	for _, m := range e.Members {
		ms = append(ms, fmt.Sprintf("%s (client %s, host %s)", m.MemberID, m.ClientID, m.Host))
	}
	return fmt.Sprintf("group %q on cluster %q has %d active member(s): %s; stop its consumers first, or replay into a new group with --as",
		e.Group, e.Cluster, len(e.Members), strings.Join(ms, ", "))
}

// Is makes ActiveGroupError match ErrGroupActive and ErrRefused.
func (e *ActiveGroupError) Is(target error) bool {
	return target == ErrGroupActive || target == ErrRefused
}

// invalidf returns an ErrInvalid with a message.
func invalidf(format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: ErrInvalid}
}

// refusedf returns an ErrRefused with a message.
func refusedf(format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: ErrRefused}
}

// notFoundf returns err (a not-found sentinel) with a message.
func notFoundf(err error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), err: err}
}

// wrapped is an error whose message is given in full but that matches a
// sentinel with errors.Is.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
