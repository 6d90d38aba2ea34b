package api

// Why kdeckRoutes is long (~150 lines): it is the route table of kdeck's
// own endpoints, one short entry per ops.Service method in the Service's
// order; split, the API's shape would no longer read at a glance.

import (
	"bufio"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/kdeck/kdeck/ops"
)

// PathPrefix is the root of kdeck's own endpoints.
const PathPrefix = "/kdeck/v1"

// Root is the body of GET /: Kafka Connect's keys (version, commit,
// kafka_cluster_id) and kdeck's worker identity.
type Root struct {
	Version        string    `json:"version"`
	Commit         string    `json:"commit"`
	KafkaClusterID string    `json:"kafka_cluster_id"`
	WorkerID       string    `json:"worker_id"`
	Started        time.Time `json:"started"`
}

// InfoBody is the body of GET /kdeck/v1/info.
type InfoBody struct {
	Info   ops.Info `json:"info"`
	Worker Root     `json:"worker"`
}

// Bodies of kdeck's POST endpoints whose arguments are not one ops type.
type (
	// DeleteOffsetsBody is the body of POST /kdeck/v1/plans/delete-offsets.
	DeleteOffsetsBody struct {
		Cluster string           `json:"cluster"`
		Group   string           `json:"group"`
		Scope   []ops.TopicScope `json:"scope"`
	}
	// UndoBody is the body of POST /kdeck/v1/plans/undo.
	UndoBody struct {
		AuditID string `json:"audit_id"`
	}
	// JobActionBody is the body of POST /kdeck/v1/jobs/{name}/actions.
	JobActionBody struct {
		Action  ops.JobAction        `json:"action"`
		Options ops.JobActionOptions `json:"options"`
	}
	// FailoverBody is the body of POST /kdeck/v1/mirrors/{flow}/failover-plan.
	FailoverBody struct {
		Group string `json:"group"`
	}
	// PutJobBody is the answer of PUT /kdeck/v1/jobs.
	PutJobBody struct {
		Config  ops.JobConfig `json:"config"`
		Created bool          `json:"created"`
	}
	// ReadLine is one line of the NDJSON answer of POST
	// /kdeck/v1/topics/{topic}/records/read: a record, or the error
	// that ended the read.
	ReadLine struct {
		Record *ops.Record `json:"record,omitempty"`
		Error  *errorBody  `json:"error,omitempty"`
	}
	// ProduceBody is the answer of POST /kdeck/v1/topics/{topic}/records.
	ProduceBody struct {
		Result ops.ProduceResult `json:"result"`
		Error  *errorBody        `json:"error,omitempty"`
		// EncodeError is set when a record did not encode
		// (ProduceEncoded): the client returns it as it is.
		EncodeError *ops.RecordEncodeError `json:"encode_error,omitempty"`
	}
)

// ErrorBody is the error body of every endpoint, exported for clients.
type ErrorBody = errorBody

// handle registers f at pattern: f's value is written as JSON with 200, its
// error with the status of its kind.
func (s *Server) handle(pattern string, f func(r *http.Request) (any, error)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			writeOpsError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// decode decodes the body of r into v; the error is ErrInvalid.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<20)).Decode(v); err != nil {
		return ops.KindError(ops.KindInvalid, "the request body is not valid JSON for "+r.URL.Path+": "+err.Error())
	}
	return nil
}

func (s *Server) root() Root {
	return Root{Version: s.cfg.version, Commit: "", KafkaClusterID: "", WorkerID: s.cfg.workerID, Started: s.cfg.started}
}

// routes registers every endpoint.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.root()) })
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /ready", s.ready)
	if s.cfg.metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.metrics)
	}
	s.kdeckRoutes()
	s.schemaRoutes()
	s.connectRoutes()
}

// ready answers 200 once every job has started or failed (none is starting
// or restarting), 503 before.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.svc.Jobs(r.Context())
	if err != nil {
		writeOpsError(w, err)
		return
	}
	var starting []string
	for _, j := range jobs {
		if j.State == ops.StateRestarting || j.State == ops.StateUnassigned {
			starting = append(starting, j.Name)
		}
	}
	if len(starting) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "starting": starting})
		return
	}
	writeJSON(w, 200, map[string]any{"ready": true, "jobs": len(jobs)})
}

func (s *Server) kdeckRoutes() {
	p := PathPrefix
	svc := s.svc
	s.handle("GET "+p+"/info", func(r *http.Request) (any, error) {
		return InfoBody{Info: svc.Info(), Worker: s.root()}, nil
	})
	s.handle("GET "+p+"/clusters", func(r *http.Request) (any, error) { return svc.Clusters(r.Context()) })
	s.handle("GET "+p+"/workers", func(r *http.Request) (any, error) { return svc.Workers(r.Context()) })
	s.handle("GET "+p+"/cluster", func(r *http.Request) (any, error) {
		return svc.Cluster(r.Context(), r.URL.Query().Get("cluster"))
	})
	s.handle("GET "+p+"/topics", func(r *http.Request) (any, error) {
		q := r.URL.Query()
		return svc.ListTopics(r.Context(), q.Get("cluster"), ops.ListTopicsOptions{Internal: q.Get("internal") == "true"})
	})
	s.handle("GET "+p+"/topics/{topic}", func(r *http.Request) (any, error) {
		return svc.DescribeTopic(r.Context(), r.URL.Query().Get("cluster"), r.PathValue("topic"))
	})
	s.handle("POST "+p+"/topics", func(r *http.Request) (any, error) {
		var req ops.CreateTopicRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return struct{}{}, svc.CreateTopic(r.Context(), r.URL.Query().Get("cluster"), req)
	})
	s.handle("DELETE "+p+"/topics/{topic}", func(r *http.Request) (any, error) {
		return struct{}{}, svc.DeleteTopic(r.Context(), r.URL.Query().Get("cluster"), r.PathValue("topic"))
	})
	s.mux.HandleFunc("POST "+p+"/topics/{topic}/records/read", s.readRecords)
	s.mux.HandleFunc("POST "+p+"/topics/{topic}/records", s.produce)
	s.handle("GET "+p+"/groups", func(r *http.Request) (any, error) {
		return svc.ListGroups(r.Context(), r.URL.Query().Get("cluster"))
	})
	s.handle("GET "+p+"/groups/{group}", func(r *http.Request) (any, error) {
		return svc.DescribeGroup(r.Context(), r.URL.Query().Get("cluster"), r.PathValue("group"))
	})
	s.handle("POST "+p+"/plans/reset", func(r *http.Request) (any, error) {
		var req ops.ResetRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return svc.PlanReset(r.Context(), req)
	})
	s.handle("POST "+p+"/plans/execute", func(r *http.Request) (any, error) {
		var plan ops.Plan
		if err := decode(r, &plan); err != nil {
			return nil, err
		}
		return svc.ExecutePlan(r.Context(), &plan)
	})
	s.handle("POST "+p+"/plans/delete-offsets", func(r *http.Request) (any, error) {
		var b DeleteOffsetsBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return svc.PlanDeleteOffsets(r.Context(), b.Cluster, b.Group, b.Scope)
	})
	s.handle("POST "+p+"/plans/undo", func(r *http.Request) (any, error) {
		var b UndoBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return svc.PlanUndo(r.Context(), b.AuditID)
	})
	s.handle("POST "+p+"/audit/search", func(r *http.Request) (any, error) {
		var f ops.AuditFilter
		if err := decode(r, &f); err != nil {
			return nil, err
		}
		return svc.Audit(r.Context(), f)
	})
	s.handle("GET "+p+"/audit/{id}", func(r *http.Request) (any, error) {
		return svc.AuditEntry(r.Context(), r.PathValue("id"))
	})
	s.handle("GET "+p+"/health", func(r *http.Request) (any, error) { return svc.Health(r.Context()) })
	s.handle("GET "+p+"/jobs", func(r *http.Request) (any, error) { return svc.Jobs(r.Context()) })
	s.handle("GET "+p+"/jobs/{name}", func(r *http.Request) (any, error) {
		return svc.Job(r.Context(), r.PathValue("name"))
	})
	s.handle("POST "+p+"/jobs/{name}/actions", func(r *http.Request) (any, error) {
		var b JobActionBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return svc.JobAction(r.Context(), r.PathValue("name"), b.Action, b.Options)
	})
	s.handle("GET "+p+"/jobs/{name}/config", func(r *http.Request) (any, error) {
		return svc.JobConfig(r.Context(), r.PathValue("name"))
	})
	s.handle("PUT "+p+"/jobs", func(r *http.Request) (any, error) {
		var req ops.PutJobRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		cfg, created, err := svc.PutJob(r.Context(), req)
		return PutJobBody{Config: cfg, Created: created}, err
	})
	s.handle("DELETE "+p+"/jobs/{name}", func(r *http.Request) (any, error) {
		return svc.DeleteJob(r.Context(), r.PathValue("name"), r.URL.Query().Get("command"))
	})
	s.handle("GET "+p+"/jobs/{name}/offsets", func(r *http.Request) (any, error) {
		return svc.JobOffsets(r.Context(), r.PathValue("name"))
	})
	s.handle("POST "+p+"/jobs/{name}/offsets", func(r *http.Request) (any, error) {
		var req ops.AlterOffsetsRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return svc.AlterJobOffsets(r.Context(), r.PathValue("name"), req)
	})
	s.handle("GET "+p+"/plugins", func(r *http.Request) (any, error) { return svc.ConnectorPlugins(r.Context()) })
	s.handle("POST "+p+"/plugins/validate", func(r *http.Request) (any, error) {
		var table map[string]any
		if err := decode(r, &table); err != nil {
			return nil, err
		}
		return svc.ValidateConnector(r.Context(), table)
	})
	s.handle("POST "+p+"/streams/query", func(r *http.Request) (any, error) {
		var q ops.StreamQuery
		if err := decode(r, &q); err != nil {
			return nil, err
		}
		return svc.QueryStream(r.Context(), q)
	})
	s.handle("POST "+p+"/streams/reset-plan", func(r *http.Request) (any, error) {
		var req ops.StreamResetRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return svc.PlanStreamReset(r.Context(), req)
	})
	s.handle("POST "+p+"/streams/reset-execute", func(r *http.Request) (any, error) {
		var plan ops.StreamResetPlan
		if err := decode(r, &plan); err != nil {
			return nil, err
		}
		return svc.ExecuteStreamReset(r.Context(), &plan)
	})
	s.handle("POST "+p+"/mirrors/{flow}/failover-plan", func(r *http.Request) (any, error) {
		var b FailoverBody
		if err := decode(r, &b); err != nil {
			return nil, err
		}
		return svc.PlanMirrorFailover(r.Context(), r.PathValue("flow"), b.Group)
	})
}

// readRecords streams ReadRecords as NDJSON (one ReadLine a line, flushed
// per record); an error after the first record ends the stream with an
// error line.
func (s *Server) readRecords(w http.ResponseWriter, r *http.Request) {
	var req ops.ReadRequest
	if err := decode(r, &req); err != nil {
		writeOpsError(w, err)
		return
	}
	req.Topic = r.PathValue("topic")
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	err := s.svc.ReadRecords(r.Context(), r.URL.Query().Get("cluster"), req, func(rec ops.Record) error {
		if err := enc.Encode(ReadLine{Record: &rec}); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		kind := ops.ErrorKind(err)
		_ = enc.Encode(ReadLine{Error: &errorBody{ErrorCode: statusOf(kind), Message: err.Error(), Kind: kind}})
	}
}

// produce reads an NDJSON body of ops.ProduceRecord and produces it.
func (s *Server) produce(w http.ResponseWriter, r *http.Request) {
	s.produceWith(w, r, func(recs iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error) {
		return s.svc.Produce(r.Context(), r.URL.Query().Get("cluster"), r.PathValue("topic"), recs)
	})
}

// produceWith reads an NDJSON body of ops.ProduceRecord, gives it to
// produce and writes a ProduceBody. A *ops.RecordEncodeError keeps its
// record number (ProduceBody.EncodeError).
func (s *Server) produceWith(w http.ResponseWriter, r *http.Request, produce func(iter.Seq2[ops.ProduceRecord, error]) (ops.ProduceResult, error)) {
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var line int
	recs := iter.Seq2[ops.ProduceRecord, error](func(yield func(ops.ProduceRecord, error) bool) {
		for sc.Scan() {
			line++
			var pr ops.ProduceRecord
			if err := json.Unmarshal(sc.Bytes(), &pr); err != nil {
				yield(pr, ops.KindError(ops.KindInvalid, "line "+strconv.Itoa(line)+" of the request body is not a JSON record: "+err.Error()))
				return
			}
			if !yield(pr, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(ops.ProduceRecord{}, err)
		}
	})
	res, err := produce(recs)
	body := ProduceBody{Result: res}
	status := http.StatusOK
	if err != nil {
		kind := ops.ErrorKind(err)
		if !errors.Is(err, ops.ErrInvalid) && res.Records == 0 {
			status = statusOf(kind)
		}
		body.Error = &errorBody{ErrorCode: statusOf(kind), Message: err.Error(), Kind: kind}
		var re *ops.RecordEncodeError
		if errors.As(err, &re) {
			body.EncodeError = re
		}
	}
	writeJSON(w, status, body)
}
