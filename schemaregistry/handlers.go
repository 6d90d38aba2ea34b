package schemaregistry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
)

// Confluent's error codes.
const (
	codeSubjectNotFound        = 40401
	codeVersionNotFound        = 40402
	codeSchemaNotFound         = 40403
	codeSubjectSoftDeleted     = 40404
	codeSubjectNotSoftDeleted  = 40405
	codeVersionSoftDeleted     = 40406
	codeVersionNotSoftDeleted  = 40407
	codeSubjectConfigNotFound  = 40408
	codeIncompatible           = 409
	codeInvalidSchema          = 42201
	codeInvalidVersion         = 42202
	codeInvalidCompatibility   = 42203
	codeStoreError             = 50001
	contentType                = "application/vnd.schemaregistry.v1+json"
	defaultCompatibilityGlobal = "BACKWARD"
)

// Handler returns the HTTP handler (also usable under httptest).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]any{}) })
	mux.HandleFunc("GET /schemas/types", func(w http.ResponseWriter, r *http.Request) { reply(w, []string{"JSON", "PROTOBUF", "AVRO"}) })
	mux.HandleFunc("GET /schemas/ids/{id}", s.getSchemaByID)
	mux.HandleFunc("GET /schemas/ids/{id}/schema", s.getSchemaByID)
	mux.HandleFunc("GET /schemas/ids/{id}/versions", s.getIDVersions)
	mux.HandleFunc("GET /schemas/ids/{id}/subjects", s.getIDVersions)
	mux.HandleFunc("GET /subjects", s.getSubjects)
	mux.HandleFunc("GET /subjects/{subject}/versions", s.getVersions)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", s.getVersion)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/schema", s.getVersion)
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/referencedby", s.getReferencedBy)
	mux.HandleFunc("POST /subjects/{subject}/versions", s.register)
	mux.HandleFunc("POST /subjects/{subject}", s.lookup)
	mux.HandleFunc("DELETE /subjects/{subject}", s.deleteSubject)
	mux.HandleFunc("DELETE /subjects/{subject}/versions/{version}", s.deleteVersion)
	mux.HandleFunc("GET /config", s.getConfig)
	mux.HandleFunc("PUT /config", s.putConfig)
	mux.HandleFunc("GET /config/{subject}", s.getConfig)
	mux.HandleFunc("PUT /config/{subject}", s.putConfig)
	mux.HandleFunc("DELETE /config/{subject}", s.deleteConfig)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions/{version}", s.checkCompatibility)
	mux.HandleFunc("POST /compatibility/subjects/{subject}/versions", s.checkCompatibility)
	mux.HandleFunc("GET /mode", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]string{"mode": "READWRITE"}) })
	mux.HandleFunc("GET /mode/{subject}", func(w http.ResponseWriter, r *http.Request) { reply(w, map[string]string{"mode": "READWRITE"}) })
	return mux
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", contentType)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status, code int, format string, args ...any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": fmt.Sprintf(format, args...)})
}

func flag(r *http.Request, name string) bool {
	v := strings.ToLower(r.URL.Query().Get(name))
	return v == "true" || v == "1"
}

// schemaJSON is a schema as the API returns it (schemaType omitted for
// Avro, as Confluent does).
type schemaJSON struct {
	Subject    string               `json:"subject,omitempty"`
	Version    int                  `json:"version,omitempty"`
	ID         int                  `json:"id,omitempty"`
	SchemaType string               `json:"schemaType,omitempty"`
	References []sr.SchemaReference `json:"references,omitempty"`
	Schema     string               `json:"schema"`
}

func typeName(t sr.SchemaType) string {
	if t == sr.TypeAvro {
		return ""
	}
	return t.String()
}

func (s *Server) getSchemaByID(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	st, ok := s.ids[id]
	s.mu.Unlock()
	if err != nil || !ok {
		fail(w, http.StatusNotFound, codeSchemaNotFound, "Schema %s not found", r.PathValue("id"))
		return
	}
	if strings.HasSuffix(r.URL.Path, "/schema") {
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, st.raw.Schema)
		return
	}
	reply(w, schemaJSON{SchemaType: typeName(st.raw.Type), References: st.raw.References, Schema: st.text(r)})
}

// text returns the schema in the format a request asks for: format=serialized
// gives a Protobuf schema as a base64 FileDescriptorProto (what Confluent's
// Python deserializer asks for), otherwise the text as registered.
func (st *stored) text(r *http.Request) string {
	if r.URL.Query().Get("format") == "serialized" && st.raw.Type == sr.TypeProtobuf && st.c != nil {
		if t, err := st.c.Serialized(); err == nil {
			return t
		}
	}
	return st.raw.Schema
}

func (s *Server) getIDVersions(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; err != nil || !ok {
		fail(w, http.StatusNotFound, codeSchemaNotFound, "Schema %s not found", r.PathValue("id"))
		return
	}
	type sv struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	vs := []sv{}
	subjects := []string{}
	for _, name := range s.sortedSubjects() {
		seen := false
		for _, v := range s.subjects[name] {
			if v.ID == id && (!v.Deleted || flag(r, "deleted")) {
				vs = append(vs, sv{name, v.Version})
				if !seen {
					subjects = append(subjects, name)
					seen = true
				}
			}
		}
	}
	if strings.HasSuffix(r.URL.Path, "/subjects") {
		reply(w, subjects)
		return
	}
	reply(w, vs)
}

func (s *Server) sortedSubjects() []string {
	names := make([]string, 0, len(s.subjects))
	for n := range s.subjects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// live reports whether a subject has a version that is not soft-deleted.
func live(vs []*version) bool {
	for _, v := range vs {
		if !v.Deleted {
			return true
		}
	}
	return false
}

func (s *Server) getSubjects(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{}
	prefix := r.URL.Query().Get("subjectPrefix")
	for _, n := range s.sortedSubjects() {
		if strings.HasPrefix(n, prefix) && (live(s.subjects[n]) || flag(r, "deleted")) {
			out = append(out, n)
		}
	}
	reply(w, out)
}

func (s *Server) getVersions(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, ok := s.subjects[subject]
	if !ok || (!live(vs) && !flag(r, "deleted")) {
		fail(w, http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", subject)
		return
	}
	out := []int{}
	for _, v := range vs {
		if !v.Deleted || flag(r, "deleted") {
			out = append(out, v.Version)
		}
	}
	reply(w, out)
}

// resolve finds a subject's version ("latest", -1 or a number); it writes
// the error and returns nil when there is none. The caller holds s.mu.
func (s *Server) resolve(w http.ResponseWriter, subject, vstr string, deleted bool) *version {
	vs, ok := s.subjects[subject]
	if !ok || (!live(vs) && !deleted) {
		fail(w, http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", subject)
		return nil
	}
	if vstr == "latest" || vstr == "-1" {
		for i := len(vs) - 1; i >= 0; i-- {
			if !vs[i].Deleted || deleted {
				return vs[i]
			}
		}
		fail(w, http.StatusNotFound, codeVersionNotFound, "Version latest not found.")
		return nil
	}
	n, err := strconv.Atoi(vstr)
	if err != nil || n <= 0 {
		fail(w, http.StatusUnprocessableEntity, codeInvalidVersion, "The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", vstr)
		return nil
	}
	for _, v := range vs {
		if v.Version == n && (!v.Deleted || deleted) {
			return v
		}
	}
	fail(w, http.StatusNotFound, codeVersionNotFound, "Version %d not found.", n)
	return nil
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.resolve(w, subject, r.PathValue("version"), flag(r, "deleted"))
	if v == nil {
		return
	}
	st := s.ids[v.ID]
	if strings.HasSuffix(r.URL.Path, "/schema") {
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, st.raw.Schema)
		return
	}
	reply(w, schemaJSON{Subject: subject, Version: v.Version, ID: v.ID, SchemaType: typeName(st.raw.Type), References: st.raw.References, Schema: st.text(r)})
}

func (s *Server) getReferencedBy(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.resolve(w, subject, r.PathValue("version"), false)
	if v == nil {
		return
	}
	reply(w, s.referencedBy(subject, v.Version))
}

// referencedBy lists the ids of live schemas that reference subject
// version. The caller holds s.mu.
func (s *Server) referencedBy(subject string, version int) []int {
	out := []int{}
	for _, name := range s.sortedSubjects() {
		for _, v := range s.subjects[name] {
			if v.Deleted {
				continue
			}
			for _, ref := range s.ids[v.ID].raw.References {
				if ref.Subject == subject && ref.Version == version {
					out = append(out, v.ID)
				}
			}
		}
	}
	return out
}

// readSchema reads and compiles a request's schema; it writes the error
// and returns nil when the body is not a schema. The caller holds s.mu.
func (s *Server) readSchema(w http.ResponseWriter, r *http.Request) (*sr.Schema, *schema.Schema) {
	var body schemaJSON
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&body); err != nil {
		fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid request body: %v", err)
		return nil, nil
	}
	raw := sr.Schema{Schema: body.Schema, References: body.References}
	if err := raw.Type.UnmarshalText([]byte(orDefault(body.SchemaType, "AVRO"))); err != nil {
		fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema type %q: use AVRO, PROTOBUF or JSON", body.SchemaType)
		return nil, nil
	}
	for _, ref := range raw.References {
		found := false
		for _, v := range s.subjects[ref.Subject] {
			found = found || (v.Version == ref.Version && !v.Deleted)
		}
		if !found {
			fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: reference %q to subject %q version %d does not exist", ref.Name, ref.Subject, ref.Version)
			return nil, nil
		}
	}
	c, err := schema.Compile(r.Context(), raw, s.refTexts(raw.References))
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: %v", err)
		return nil, nil
	}
	return &raw, c
}

// level returns a subject's compatibility level. The caller holds s.mu.
func (s *Server) level(subject string) string {
	if l, ok := s.configs[subject]; ok {
		return l
	}
	return s.global
}

// incompatibilities checks c against a subject's live versions (all, or
// only the given one). The caller holds s.mu.
func (s *Server) incompatibilities(subject string, c *schema.Schema, only *version) []string {
	var existing []*schema.Schema
	for _, v := range s.subjects[subject] {
		if v.Deleted || (only != nil && v != only) {
			continue
		}
		if st := s.ids[v.ID]; st.c != nil {
			cp := *st.c
			cp.ID = v.ID
			existing = append(existing, &cp)
		}
	}
	// With only set, existing holds just that version, so every level
	// checks against exactly it.
	return schema.CheckCompatible(s.level(subject), c, existing)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	if strings.TrimSpace(subject) == "" {
		fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Subject must not be empty")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, c := s.readSchema(w, r)
	if raw == nil {
		return
	}
	key := identity(*raw, c)
	// Deduplicate: the same schema in this subject returns its id.
	for _, v := range s.subjects[subject] {
		if !v.Deleted && s.ids[v.ID].key == key {
			reply(w, schemaJSON{ID: v.ID, Subject: subject, Version: v.Version, SchemaType: typeName(raw.Type), References: raw.References, Schema: raw.Schema})
			return
		}
	}
	if msgs := s.incompatibilities(subject, c, nil); len(msgs) > 0 {
		fail(w, http.StatusConflict, codeIncompatible, "Schema being registered is incompatible with an earlier schema for subject \"%s\", details: %s", subject, strings.Join(msgs, "; "))
		return
	}
	id := s.nextID
	for sid, st := range s.ids {
		if st.key == key {
			id = sid // the same schema keeps its id across subjects
			break
		}
	}
	next := 1
	for _, v := range s.subjects[subject] {
		next = max(next, v.Version+1)
	}
	sub := subject
	val := storeSchema{Subject: subject, Version: next, ID: id, Schema: raw.Schema, SchemaType: typeName(raw.Type), References: raw.References}
	if err := s.write(r.Context(), storeKey{KeyType: "SCHEMA", Subject: &sub, Version: next, Magic: 1}, val); err != nil {
		fail(w, http.StatusInternalServerError, codeStoreError, "Error while registering schema: %v", err)
		return
	}
	reply(w, schemaJSON{ID: id, Subject: subject, Version: next, SchemaType: typeName(raw.Type), References: raw.References, Schema: raw.Schema})
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, ok := s.subjects[subject]
	if !ok || (!live(vs) && !flag(r, "deleted")) {
		fail(w, http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", subject)
		return
	}
	raw, c := s.readSchema(w, r)
	if raw == nil {
		return
	}
	key := identity(*raw, c)
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if (!v.Deleted || flag(r, "deleted")) && s.ids[v.ID].key == key {
			reply(w, schemaJSON{Subject: subject, Version: v.Version, ID: v.ID, SchemaType: typeName(raw.Type), References: raw.References, Schema: s.ids[v.ID].raw.Schema})
			return
		}
	}
	fail(w, http.StatusNotFound, codeSchemaNotFound, "Schema not found")
}

func (s *Server) deleteSubject(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	permanent := flag(r, "permanent")
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, ok := s.subjects[subject]
	if !ok {
		fail(w, http.StatusNotFound, codeSubjectNotFound, "Subject '%s' not found.", subject)
		return
	}
	if permanent && live(vs) {
		fail(w, http.StatusNotFound, codeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
		return
	}
	if !permanent && !live(vs) {
		fail(w, http.StatusNotFound, codeSubjectSoftDeleted, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
		return
	}
	for _, v := range vs {
		if refs := s.referencedBy(subject, v.Version); len(refs) > 0 {
			fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "One or more references exist to the schema {subject=%s,version=%d}: schema ids %v", subject, v.Version, refs)
			return
		}
	}
	out := []int{}
	for _, v := range append([]*version(nil), vs...) {
		if !permanent && v.Deleted {
			continue
		}
		if err := s.deleteOne(r, subject, v, permanent); err != nil {
			fail(w, http.StatusInternalServerError, codeStoreError, "Error while deleting subject: %v", err)
			return
		}
		out = append(out, v.Version)
	}
	reply(w, out)
}

// deleteOne soft-deletes (rewrites with deleted=true) or hard-deletes
// (tombstones) one version. The caller holds s.mu.
func (s *Server) deleteOne(r *http.Request, subject string, v *version, permanent bool) error {
	sub := subject
	key := storeKey{KeyType: "SCHEMA", Subject: &sub, Version: v.Version, Magic: 1}
	if permanent {
		return s.write(r.Context(), key, nil)
	}
	st := s.ids[v.ID]
	return s.write(r.Context(), key, storeSchema{Subject: subject, Version: v.Version, ID: v.ID, Schema: st.raw.Schema, SchemaType: typeName(st.raw.Type), References: st.raw.References, Deleted: true})
}

func (s *Server) deleteVersion(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	permanent := flag(r, "permanent")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.resolve(w, subject, r.PathValue("version"), permanent)
	if v == nil {
		return
	}
	switch {
	case permanent && !v.Deleted:
		fail(w, http.StatusNotFound, codeVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.Version)
		return
	case !permanent && v.Deleted:
		fail(w, http.StatusNotFound, codeVersionSoftDeleted, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", subject, v.Version)
		return
	}
	if refs := s.referencedBy(subject, v.Version); len(refs) > 0 {
		fail(w, http.StatusUnprocessableEntity, codeInvalidSchema, "One or more references exist to the schema {subject=%s,version=%d}: schema ids %v", subject, v.Version, refs)
		return
	}
	n := v.Version
	if err := s.deleteOne(r, subject, v, permanent); err != nil {
		fail(w, http.StatusInternalServerError, codeStoreError, "Error while deleting version: %v", err)
		return
	}
	reply(w, n)
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	if subject == "" {
		reply(w, storeConfig{CompatibilityLevel: s.global})
		return
	}
	l, ok := s.configs[subject]
	if !ok {
		if !flag(r, "defaultToGlobal") {
			fail(w, http.StatusNotFound, codeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject)
			return
		}
		l = s.global
	}
	reply(w, storeConfig{CompatibilityLevel: l})
}

var levels = []string{"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}

func validLevel(l string) bool {
	for _, v := range levels {
		if v == l {
			return true
		}
	}
	return false
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	var body struct {
		Compatibility string `json:"compatibility"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || !validLevel(strings.ToUpper(body.Compatibility)) {
		fail(w, http.StatusUnprocessableEntity, codeInvalidCompatibility, "Invalid compatibility level %q: use one of %s", body.Compatibility, strings.Join(levels, ", "))
		return
	}
	level := strings.ToUpper(body.Compatibility)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := storeKey{KeyType: "CONFIG", Magic: 0}
	if subject != "" {
		sub := subject
		key.Subject = &sub
	}
	if err := s.write(r.Context(), key, storeConfig{CompatibilityLevel: level}); err != nil {
		fail(w, http.StatusInternalServerError, codeStoreError, "Error while updating the config: %v", err)
		return
	}
	reply(w, map[string]string{"compatibility": level})
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.configs[subject]
	if !ok {
		fail(w, http.StatusNotFound, codeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject)
		return
	}
	sub := subject
	if err := s.write(r.Context(), storeKey{KeyType: "CONFIG", Subject: &sub}, nil); err != nil {
		fail(w, http.StatusInternalServerError, codeStoreError, "Error while deleting the config: %v", err)
		return
	}
	reply(w, map[string]string{"compatibility": l})
}

func (s *Server) checkCompatibility(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.mu.Lock()
	defer s.mu.Unlock()
	var only *version
	if vstr := r.PathValue("version"); vstr != "" {
		if only = s.resolve(w, subject, vstr, false); only == nil {
			return
		}
	}
	_, c := s.readSchema(w, r)
	if c == nil {
		return
	}
	msgs := s.incompatibilities(subject, c, only)
	out := map[string]any{"is_compatible": len(msgs) == 0}
	if len(msgs) > 0 && flag(r, "verbose") {
		out["messages"] = msgs
	}
	reply(w, out)
}
