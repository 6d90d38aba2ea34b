package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/spec"
)

var osHostname = os.Hostname

// errorBody is Kafka Connect's error body, with kdeck's error kind added
// (ops.ErrorKind) so that a remote client returns errors matching the same
// sentinels. Connect clients ignore the extra key.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
	Kind      string `json:"kind,omitempty"`
	// Fields lists the problems of a bad job configuration by field path
	// (a *spec.Error's), as the validate endpoints and 'kdeck config
	// validate' name them.
	Fields []ops.FieldProblem `json:"fields,omitempty"`
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
	body := errorBody{ErrorCode: statusOf(kind), Message: err.Error(), Kind: kind}
	var se *spec.Error
	if errors.As(err, &se) {
		for _, f := range se.Fields {
			body.Fields = append(body.Fields, ops.FieldProblem{Field: f.Path, Message: f.Msg})
		}
	}
	writeJSON(w, body.ErrorCode, body)
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

// connectWriter rewrites the mux's plain-text 404 and 405 into Connect's
// JSON error bodies; everything else passes through (Flush too, for NDJSON streams).
type connectWriter struct {
	http.ResponseWriter
	swallow bool
}

func (w *connectWriter) WriteHeader(code int) {
	if (code == http.StatusMethodNotAllowed || code == http.StatusNotFound) && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.swallow = true
		w.Header().Del("X-Content-Type-Options")
		kind := ""
		if code == http.StatusNotFound {
			kind = ops.KindNotFound
		}
		writeError(w.ResponseWriter, code, kind, fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *connectWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *connectWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer (for http.ResponseController).
func (w *connectWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
