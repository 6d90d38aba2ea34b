package api

import (
	"encoding/json"
	"iter"
	"net/http"
	"strconv"

	"github.com/kdeck/kdeck/ops"
)

// Bodies of the Schema Registry and replication-slot endpoints.
type (
	// CompatibilityBody is the body (and answer) of GET/PUT
	// /kdeck/v1/schemas/compatibility.
	CompatibilityBody struct {
		Subject string `json:"subject"`
		Level   string `json:"level"`
	}
	// DropSlotBody is the body of POST /kdeck/v1/jobs/{name}/slot/drop.
	DropSlotBody struct {
		Plan    ops.SlotDropPlan `json:"plan"`
		Command string           `json:"command"`
	}
)

// schemaService is the worker's Schema Registry operations (an optional
// interface of ops.Service); without them every schema endpoint answers
// 501 with a sentence.
func (s *Server) schemaService() (ops.SchemaService, error) {
	ss, ok := s.svc.(ops.SchemaService)
	if !ok {
		return nil, ops.KindError(ops.KindNotImplemented, "this kdeck worker does not reach a schema registry")
	}
	return ss, nil
}

// slotDropper is the worker's replication-slot operations (optional).
func (s *Server) slotDropper() (ops.SlotDropper, error) {
	sd, ok := s.svc.(ops.SlotDropper)
	if !ok {
		return nil, ops.KindError(ops.KindNotImplemented, "this kdeck worker does not drop replication slots")
	}
	return sd, nil
}

// version parses the version query of a schema endpoint (absent: 0).
func version(r *http.Request) (int, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, ops.KindError(ops.KindInvalid, "version "+strconv.Quote(v)+" is not a number: give a version number, or -1 for the latest")
	}
	return n, nil
}

// schemaGet registers a GET endpoint of the SchemaService.
func (s *Server) schemaGet(pattern string, f func(r *http.Request, ss ops.SchemaService) (any, error)) {
	s.handle("GET "+pattern, func(r *http.Request) (any, error) {
		ss, err := s.schemaService()
		if err != nil {
			return nil, err
		}
		return f(r, ss)
	})
}

// schemaBody registers an endpoint of the SchemaService whose JSON body is
// a T.
func schemaBody[T any](s *Server, pattern string, f func(r *http.Request, ss ops.SchemaService, body T) (any, error)) {
	s.handle(pattern, func(r *http.Request) (any, error) {
		ss, err := s.schemaService()
		if err != nil {
			return nil, err
		}
		var body T
		if err := decode(r, &body); err != nil {
			return nil, err
		}
		return f(r, ss, body)
	})
}

// schemaRoutes registers ops.SchemaService and ops.SlotDropper under
// /kdeck/v1/schemas and /kdeck/v1/jobs/{name}/slot. Subjects travel in the
// query (they may hold any character), not the path.
func (s *Server) schemaRoutes() {
	p := PathPrefix + "/schemas"
	cluster := func(r *http.Request) string { return r.URL.Query().Get("cluster") }
	subject := func(r *http.Request) string { return r.URL.Query().Get("subject") }
	s.schemaGet(p+"/subjects", func(r *http.Request, ss ops.SchemaService) (any, error) {
		return ss.ListSubjects(r.Context(), cluster(r))
	})
	s.schemaGet(p+"/subject", func(r *http.Request, ss ops.SchemaService) (any, error) {
		return ss.Subject(r.Context(), cluster(r), subject(r))
	})
	s.schemaGet(p+"/version", func(r *http.Request, ss ops.SchemaService) (any, error) {
		v, err := version(r)
		if err != nil {
			return nil, err
		}
		return ss.SchemaVersion(r.Context(), cluster(r), subject(r), v)
	})
	s.schemaGet(p+"/compatibility", func(r *http.Request, ss ops.SchemaService) (any, error) {
		level, err := ss.Compatibility(r.Context(), cluster(r), subject(r))
		return CompatibilityBody{Subject: subject(r), Level: level}, err
	})
	schemaBody(s, "POST "+p+"/check", func(r *http.Request, ss ops.SchemaService, req ops.SchemaRequest) (any, error) {
		return ss.CheckSchema(r.Context(), cluster(r), req)
	})
	schemaBody(s, "POST "+p+"/register", func(r *http.Request, ss ops.SchemaService, req ops.SchemaRequest) (any, error) {
		return ss.RegisterSchema(r.Context(), cluster(r), req)
	})
	schemaBody(s, "PUT "+p+"/compatibility", func(r *http.Request, ss ops.SchemaService, b CompatibilityBody) (any, error) {
		return ss.SetCompatibility(r.Context(), cluster(r), b.Subject, b.Level)
	})
	schemaBody(s, "POST "+p+"/delete-plan", func(r *http.Request, ss ops.SchemaService, req ops.SchemaDeleteRequest) (any, error) {
		return ss.PlanSchemaDelete(r.Context(), cluster(r), req)
	})
	schemaBody(s, "POST "+p+"/delete-execute", func(r *http.Request, ss ops.SchemaService, plan ops.SchemaDeletePlan) (any, error) {
		return ss.ExecuteSchemaDelete(r.Context(), plan)
	})
	s.mux.HandleFunc("POST "+PathPrefix+"/topics/{topic}/records/encoded", s.produceEncoded)
	s.handle("GET "+PathPrefix+"/jobs/{name}/slot", func(r *http.Request) (any, error) {
		sd, err := s.slotDropper()
		if err != nil {
			return nil, err
		}
		return sd.PlanDropSlot(r.Context(), r.PathValue("name"))
	})
	s.handle("POST "+PathPrefix+"/jobs/{name}/slot/drop", func(r *http.Request) (any, error) {
		sd, err := s.slotDropper()
		if err != nil {
			return nil, err
		}
		var b DropSlotBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		if b.Plan.Job != r.PathValue("name") {
			return nil, ops.KindError(ops.KindInvalid, "the plan is for job "+strconv.Quote(b.Plan.Job)+", not "+strconv.Quote(r.PathValue("name")))
		}
		return sd.DropSlot(r.Context(), b.Plan, b.Command)
	})
}

// EncodeHeader carries the JSON ops.EncodeRequest of POST
// /kdeck/v1/topics/{topic}/records/encoded (the body is the records).
const EncodeHeader = "Kdeck-Encode"

// produceEncoded is produce through ProduceEncoded: the NDJSON body is the
// records, the encode request is in the EncodeHeader header.
func (s *Server) produceEncoded(w http.ResponseWriter, r *http.Request) {
	ss, err := s.schemaService()
	if err != nil {
		writeOpsError(w, err)
		return
	}
	var enc ops.EncodeRequest
	if err := json.Unmarshal([]byte(r.Header.Get(EncodeHeader)), &enc); err != nil {
		writeOpsError(w, ops.KindError(ops.KindInvalid, "header "+EncodeHeader+" is not a JSON encode request: "+err.Error()))
		return
	}
	s.produceWith(w, r, func(recs iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
		return ss.ProduceEncoded(r.Context(), r.URL.Query().Get("cluster"), r.PathValue("topic"), enc, recs)
	})
}
