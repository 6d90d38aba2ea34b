package ops

import "context"

// Actor is who performs a call through a Service: the user and host written
// to the audit log, and whether this caller may change anything. Faces that
// serve several people from one Service (the worker API, the SSH console)
// put an Actor in each call's context with WithActor; without one, the
// process's own user and host are recorded and the service's read-only
// setting alone decides.
type Actor struct {
	// User names the caller in audit entries, for example "alice
	// (SHA256:abc...)" for an SSH key or "token:ci" for an API token.
	User string
	// Host is where the caller connects from (the client's address).
	Host string
	// ReadOnly refuses every mutation of this caller with ErrReadOnly,
	// even when the service itself is writable.
	ReadOnly bool
	// Via names the face the call came through ("ssh", "api"); "" for a
	// local process.
	Via string
}

type actorKey struct{}

// WithActor returns a context whose calls are performed, audited and
// permitted as actor.
func WithActor(ctx context.Context, actor Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the Actor that WithActor put in ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}
