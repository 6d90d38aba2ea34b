package api

// Kafka Connect's REST API (Connect 4.x): the same paths, status codes and
// JSON for kdeck's connectors ([[connectors]] jobs). See
// docs/compatibility.md for what differs.
//
// Why connectRoutes is long (~135 lines): it is the route table of Kafka
// Connect's paths, one entry per endpoint in Connect's own order.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/kdeck/kdeck/ops"
)

// ConnectorStatus is Connect's ConnectorStateInfo.
type ConnectorStatus struct {
	Name      string      `json:"name"`
	Connector StateInfo   `json:"connector"`
	Tasks     []TaskState `json:"tasks"`
	Type      string      `json:"type"`
}

// StateInfo is the state of a connector in Connect's status.
type StateInfo struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// Version is the connector plugin's version (Connect 4.x).
	Version string `json:"version"`
	Trace   string `json:"trace,omitempty"`
}

// TaskState is a task's state in Connect's status.
type TaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Version  string `json:"version"`
	Trace    string `json:"trace,omitempty"`
}

// ConnectorTaskID is Connect's ConnectorTaskId.
type ConnectorTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// TaskInfo is one element of GET /connectors/{name}/tasks.
type TaskInfo struct {
	ID     ConnectorTaskID   `json:"id"`
	Config map[string]string `json:"config"`
}

// PluginInfo is one element of GET /connector-plugins.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// ConnectorOffsets is Connect's offsets body (KIP-875).
type ConnectorOffsets struct {
	Offsets []ops.JobOffset `json:"offsets"`
}

// connectTasks returns j's tasks as Connect lists them: none while STOPPED.
func connectTasks(j ops.JobStatus) []ops.TaskStatus {
	if j.State == ops.StateStopped {
		return nil
	}
	return j.Tasks
}

// connectError writes err in Connect's shape, with Connect's wording for an
// unknown connector.
func connectError(w http.ResponseWriter, name string, err error) {
	if errors.Is(err, ops.ErrNotFound) && name != "" {
		writeError(w, http.StatusNotFound, ops.KindNotFound, fmt.Sprintf("Connector %s not found", name))
		return
	}
	writeOpsError(w, err)
}

// connector returns the connector job name, or writes Connect's 404.
func (s *Server) connector(w http.ResponseWriter, r *http.Request) (ops.JobStatus, bool) {
	name := r.PathValue("name")
	j, err := s.svc.Job(r.Context(), name)
	if err == nil && j.Kind != ops.KindConnector {
		err = ops.ErrNotFound
	}
	if err != nil {
		connectError(w, name, err)
		return j, false
	}
	return j, true
}

// pluginTypes maps connector classes to their plugin (type: source or
// sink; version).
func (s *Server) pluginTypes(ctx context.Context) map[string]PluginInfo {
	out := map[string]PluginInfo{}
	ps, _ := s.svc.ConnectorPlugins(ctx)
	for _, p := range ps {
		v := p.Version
		if v == "" {
			v = s.cfg.version
		}
		out[p.Class] = PluginInfo{Class: p.Class, Type: p.Type, Version: v}
	}
	return out
}

// connectStatus is j's status in Connect's shape. A STOPPED connector has
// no tasks, as in Connect (its task configurations are removed).
func (s *Server) connectStatus(j ops.JobStatus, p PluginInfo) ConnectorStatus {
	if p.Version == "" {
		p.Version = s.cfg.version
	}
	st := ConnectorStatus{Name: j.Name, Type: p.Type, Tasks: []TaskState{},
		Connector: StateInfo{State: string(j.State), WorkerID: s.cfg.workerID, Version: p.Version}}
	if j.State == ops.StateFailed {
		st.Connector.Trace = j.LastError
	}
	for _, t := range connectTasks(j) {
		// In a worker group the connector is where its first running
		// task is (kdeck has no separate connector instance).
		if t.Worker != "" && st.Connector.WorkerID == s.cfg.workerID && t.State == ops.StateRunning {
			st.Connector.WorkerID = t.Worker
		}
	}
	for _, t := range connectTasks(j) {
		w := t.Worker
		if w == "" && t.Detail["worker_group"] == "" {
			w = s.cfg.workerID // not in a worker group: this worker
		}
		st.Tasks = append(st.Tasks, TaskState{ID: t.ID, State: string(t.State), WorkerID: w, Version: p.Version, Trace: t.Trace})
	}
	if st.Type == "" {
		st.Type = "unknown"
	}
	return st
}

func (s *Server) connectRoutes() {
	s.mux.HandleFunc("GET /connectors", s.listConnectors)
	s.mux.HandleFunc("GET /connectors/{name}/status", func(w http.ResponseWriter, r *http.Request) {
		if j, ok := s.connector(w, r); ok {
			writeJSON(w, http.StatusOK, s.connectStatus(j, s.pluginTypes(r.Context())[j.Class]))
		}
	})
	s.mux.HandleFunc("GET /connectors/{name}/tasks/{task}/status", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		id, err := strconv.Atoi(r.PathValue("task"))
		for _, t := range s.connectStatus(j, s.pluginTypes(r.Context())[j.Class]).Tasks {
			if err == nil && t.ID == id {
				writeJSON(w, http.StatusOK, t)
				return
			}
		}
		writeError(w, http.StatusNotFound, ops.KindNotFound, fmt.Sprintf("Task %s-%s not found", j.Name, r.PathValue("task")))
	})
	lifecycle := func(action ops.JobAction, status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			j, ok := s.connector(w, r)
			if !ok {
				return
			}
			act := action
			if act == ops.ActionResume && j.State == ops.StateStopped {
				act = ops.ActionStart // Connect resumes a STOPPED connector
			}
			if _, err := s.svc.JobAction(r.Context(), j.Name, act, ops.JobActionOptions{Command: r.Method + " " + r.URL.Path}); err != nil {
				connectError(w, j.Name, err)
				return
			}
			w.WriteHeader(status)
		}
	}
	s.mux.HandleFunc("PUT /connectors/{name}/pause", lifecycle(ops.ActionPause, http.StatusAccepted))
	s.mux.HandleFunc("PUT /connectors/{name}/resume", lifecycle(ops.ActionResume, http.StatusAccepted))
	s.mux.HandleFunc("PUT /connectors/{name}/stop", lifecycle(ops.ActionStop, http.StatusNoContent))
	s.mux.HandleFunc("POST /connectors/{name}/restart", s.restartConnector)
	s.mux.HandleFunc("POST /connectors/{name}/tasks/{task}/restart", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		id, err := strconv.Atoi(r.PathValue("task"))
		if err != nil || id < 0 {
			writeError(w, http.StatusNotFound, ops.KindNotFound, fmt.Sprintf("Task %s-%s not found", j.Name, r.PathValue("task")))
			return
		}
		if _, err := s.svc.JobAction(r.Context(), j.Name, ops.ActionRestart, ops.JobActionOptions{Task: &id, Command: r.Method + " " + r.URL.Path}); err != nil {
			if errors.Is(err, ops.ErrNotFound) || errors.Is(err, ops.ErrInvalid) {
				writeError(w, http.StatusNotFound, ops.KindNotFound, fmt.Sprintf("Task %s-%d not found", j.Name, id))
				return
			}
			connectError(w, j.Name, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /connectors/{name}/offsets", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		offs, err := s.svc.JobOffsets(r.Context(), j.Name)
		if err != nil {
			connectError(w, j.Name, err)
			return
		}
		if offs == nil {
			offs = []ops.JobOffset{}
		}
		writeJSON(w, http.StatusOK, ConnectorOffsets{Offsets: offs})
	})
	alter := func(reset bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			j, ok := s.connector(w, r)
			if !ok {
				return
			}
			req := ops.AlterOffsetsRequest{Reset: reset, Command: r.Method + " " + r.URL.Path}
			if !reset {
				var body ConnectorOffsets
				if !readJSON(w, r, &body) {
					return
				}
				if len(body.Offsets) == 0 {
					writeError(w, http.StatusBadRequest, ops.KindInvalid, "Partitions / offsets need to be provided for an alter offsets request")
					return
				}
				req.Offsets = body.Offsets
			}
			if j.State != ops.StateStopped && j.State != ops.StateUnassigned {
				writeError(w, http.StatusBadRequest, ops.KindRefused, fmt.Sprintf("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", j.Name))
				return
			}
			if _, err := s.svc.AlterJobOffsets(r.Context(), j.Name, req); err != nil {
				connectError(w, j.Name, err)
				return
			}
			msg := "The offsets for this connector have been altered successfully"
			if reset {
				msg = "The offsets for this connector have been reset successfully"
			}
			writeJSON(w, http.StatusOK, map[string]string{"message": msg})
		}
	}
	s.mux.HandleFunc("PATCH /connectors/{name}/offsets", alter(false))
	s.mux.HandleFunc("DELETE /connectors/{name}/offsets", alter(true))
	s.mux.HandleFunc("GET /connector-plugins", func(w http.ResponseWriter, r *http.Request) {
		ps, err := s.svc.ConnectorPlugins(r.Context())
		if err != nil {
			writeOpsError(w, err)
			return
		}
		all := r.URL.Query().Get("connectorsOnly") == "false"
		out := []PluginInfo{}
		for _, p := range ps {
			if p.Type == "source" || p.Type == "sink" || all && p.Type == "transform" {
				v := p.Version
				if v == "" {
					v = s.cfg.version
				}
				out = append(out, PluginInfo{Class: p.Class, Type: p.Type, Version: v})
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	s.mux.HandleFunc("PUT /connector-plugins/{class}/config/validate", s.validate)
	s.configRoutes()
}

// listConnectors answers GET /connectors: names, or with expand=status
// and/or expand=info a map by name.
func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.svc.Jobs(r.Context())
	if err != nil {
		writeOpsError(w, err)
		return
	}
	var expand []string
	for _, e := range r.URL.Query()["expand"] {
		expand = append(expand, strings.Split(e, ",")...)
	}
	if len(expand) == 0 {
		names := []string{}
		for _, j := range jobs {
			if j.Kind == ops.KindConnector {
				names = append(names, j.Name)
			}
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	types := s.pluginTypes(r.Context())
	out := map[string]map[string]any{}
	for _, j := range jobs {
		if j.Kind != ops.KindConnector {
			continue
		}
		m := map[string]any{}
		for _, e := range expand {
			switch e {
			case "status":
				m["status"] = s.connectStatus(j, types[j.Class])
			case "info":
				if info, err := s.connectorInfo(r.Context(), j, types[j.Class].Type); err == nil {
					m["info"] = info
				}
			}
		}
		out[j.Name] = m
	}
	writeJSON(w, http.StatusOK, out)
}

// restartConnector answers POST /connectors/{name}/restart as Connect
// does: 204 without includeTasks and onlyFailed, else 202 with the status.
func (s *Server) restartConnector(w http.ResponseWriter, r *http.Request) {
	j, ok := s.connector(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	includeTasks, onlyFailed := q.Get("includeTasks") == "true", q.Get("onlyFailed") == "true"
	opts := ops.JobActionOptions{Command: r.Method + " " + r.URL.RequestURI()}
	if onlyFailed {
		if !includeTasks && j.State != ops.StateFailed {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		opts.OnlyFailed = true
	}
	if _, err := s.svc.JobAction(r.Context(), j.Name, ops.ActionRestart, opts); err != nil {
		connectError(w, j.Name, err)
		return
	}
	if !includeTasks && !onlyFailed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	j2, err := s.svc.Job(r.Context(), j.Name)
	if err != nil {
		connectError(w, j.Name, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.connectStatus(j2, s.pluginTypes(r.Context())[j2.Class]))
}
