package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"

	"github.com/kdeck/kdeck/ops"
)

var osHostname = os.Hostname

// errorBody is Kafka Connect's error body, with kdeck's error kind added
// (ops.ErrorKind) so that a remote client returns errors matching the same
// sentinels. Connect clients ignore the extra key.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
	Kind      string `json:"kind,omitempty"`
}

// statusOf maps an ops error kind to an HTTP status.
func statusOf(kind string) int {
	switch kind {
	case ops.KindNotFound, ops.KindGroupNotFound, ops.KindTopicNotFound:
		return http.StatusNotFound
	case ops.KindInvalid:
		return http.StatusBadRequest
	case ops.KindReadOnly:
		return http.StatusForbidden
	case ops.KindGroupActive, ops.KindGroupMoved, ops.KindRefused, ops.KindNoWorker:
		return http.StatusConflict
	case ops.KindUnreachable:
		return http.StatusServiceUnavailable
	case ops.KindNotImplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// writeOpsError writes err with the status of its kind.
func writeOpsError(w http.ResponseWriter, err error) {
	kind := ops.ErrorKind(err)
	if errors.Is(err, context.DeadlineExceeded) && kind == "" {
		writeError(w, http.StatusGatewayTimeout, "", err.Error())
		return
	}
	writeError(w, statusOf(kind), kind, err.Error())
}

// writeError writes Connect's error body.
func writeError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, errorBody{ErrorCode: status, Message: msg, Kind: kind})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes the request body into v; on failure it writes a 400 and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<20)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, "the request body is not valid JSON for this endpoint: "+err.Error())
		return false
	}
	return true
}
