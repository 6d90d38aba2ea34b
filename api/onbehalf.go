package api

import (
	"net/http"
	"net/url"

	"github.com/kdeck/kdeck/ops"
)

// Headers by which a trusted front end (kdeck serve --ssh attached to a
// worker) names the person it calls for. The worker audits the call under
// that person and refuses it when the person may only read. Only a caller
// that may write itself (the socket's uid, an operate token, or anyone
// when no tokens are configured) may delegate: a read token cannot lend
// its view to another name. Values are percent-encoded (url.PathEscape).
const (
	// HeaderOnBehalfOf names the person: "alice (SHA256:...)".
	HeaderOnBehalfOf = "Kdeck-On-Behalf-Of"
	// HeaderOnBehalfHost is where the person connects from: "10.0.0.7:51234".
	HeaderOnBehalfHost = "Kdeck-On-Behalf-Host"
	// HeaderOnBehalfVia is the face the person came through: "ssh".
	HeaderOnBehalfVia = "Kdeck-On-Behalf-Via"
	// HeaderOnBehalfReadOnly is "true" for a person who may only read.
	HeaderOnBehalfReadOnly = "Kdeck-On-Behalf-Read-Only"
)

// SetOnBehalf sets the delegation headers of req for actor; nothing for an
// actor without a user.
func SetOnBehalf(h http.Header, actor ops.Actor) {
	if actor.User == "" {
		return
	}
	h.Set(HeaderOnBehalfOf, url.PathEscape(actor.User))
	if actor.Host != "" {
		h.Set(HeaderOnBehalfHost, url.PathEscape(actor.Host))
	}
	if actor.Via != "" {
		h.Set(HeaderOnBehalfVia, url.PathEscape(actor.Via))
	}
	if actor.ReadOnly {
		h.Set(HeaderOnBehalfReadOnly, "true")
	}
}

// onBehalf returns the actor a request's delegation headers name in place
// of caller, ok false without them. A read-only caller may not delegate
// (refused with the reason); a delegated actor is read-only when either
// side is.
func onBehalf(r *http.Request, caller ops.Actor) (ops.Actor, bool, string) {
	raw := r.Header.Get(HeaderOnBehalfOf)
	if raw == "" {
		return caller, false, ""
	}
	if caller.ReadOnly {
		return caller, false, "a read-only caller (" + caller.User + ") cannot act on behalf of another user: send the request without " + HeaderOnBehalfOf + " or with an operate token"
	}
	dec := func(s string) string {
		if v, err := url.PathUnescape(s); err == nil {
			return v
		}
		return s
	}
	a := ops.Actor{
		User:     dec(raw),
		Host:     dec(r.Header.Get(HeaderOnBehalfHost)),
		Via:      dec(r.Header.Get(HeaderOnBehalfVia)),
		ReadOnly: r.Header.Get(HeaderOnBehalfReadOnly) == "true",
	}
	if a.Via == "" {
		a.Via = caller.Via
	}
	if a.Host == "" {
		a.Host = caller.Host
	}
	return a, true, ""
}
