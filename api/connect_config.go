package api

// Connector configurations over Connect's REST API. Connect's configs are
// flat string maps with dotted keys; kdeck's tables use underscores and
// typed values. The mapping is symmetric so that GET .../config followed by
// PUT .../config round-trips: "connector.class" is kdeck's "class", every
// other "." is a "_" ("tasks.max" is "tasks_max", "errors.tolerance" is
// "errors_tolerance"), and strings become the field's type (int, float,
// bool, list) from the plugin's declared fields. Values that are tables
// (transforms) travel as JSON strings.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/kdeck/kdeck/ops"
)

// ConnectorInfo is Connect's ConnectorInfo (GET /connectors/{name}).
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []ConnectorTaskID `json:"tasks"`
	Type   string            `json:"type"`
}

// CreateConnectorRequest is the body of POST /connectors.
type CreateConnectorRequest struct {
	Name   string         `json:"name"`
	Config map[string]any `json:"config"`
}

// toConnect turns a kdeck table into Connect's string map.
func toConnect(table map[string]any) map[string]string {
	out := make(map[string]string, len(table))
	for k, v := range table {
		key := strings.ReplaceAll(k, "_", ".")
		if k == "class" {
			key = "connector.class"
		}
		switch v := v.(type) {
		case string:
			out[key] = v
		case []any:
			parts := make([]string, 0, len(v))
			simple := true
			for _, e := range v {
				s, ok := e.(string)
				simple = simple && ok
				parts = append(parts, s)
			}
			if simple {
				out[key] = strings.Join(parts, ",")
				continue
			}
			b, _ := json.Marshal(v)
			out[key] = string(b)
		case []string:
			out[key] = strings.Join(v, ",")
		case map[string]any, []map[string]any:
			b, _ := json.Marshal(v)
			out[key] = string(b)
		default:
			out[key] = fmt.Sprint(v)
		}
	}
	return out
}

// fromConnect turns Connect's config into a kdeck table, typing values by
// the fields of plugin (and the common fields).
func fromConnect(name string, in map[string]any, fields map[string]ops.PluginField) map[string]any {
	out := map[string]any{}
	for k, v := range in {
		key := strings.ReplaceAll(k, ".", "_")
		if k == "connector.class" {
			key = "class"
		}
		s, isString := v.(string)
		f, known := fields[key]
		switch {
		case !isString || !known:
			out[key] = v
		case f.Type == "int":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				out[key] = n
			} else {
				out[key] = s
			}
		case f.Type == "float":
			if x, err := strconv.ParseFloat(s, 64); err == nil {
				out[key] = x
			} else {
				out[key] = s
			}
		case f.Type == "bool":
			if b, err := strconv.ParseBool(s); err == nil {
				out[key] = b
			} else {
				out[key] = s
			}
		case f.Type == "strings":
			var list []any
			for _, p := range strings.Split(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					list = append(list, p)
				}
			}
			out[key] = list
		case f.Type == "tables" || f.Type == "table":
			var x any
			if json.Unmarshal([]byte(s), &x) == nil {
				out[key] = x
			} else {
				out[key] = s
			}
		default:
			out[key] = s
		}
	}
	if name != "" {
		out["name"] = name
	}
	return out
}

// fieldsOf returns the fields of class and the common fields by name.
func (s *Server) fieldsOf(ctx context.Context, class string) (map[string]ops.PluginField, string) {
	ps, _ := s.svc.ConnectorPlugins(ctx)
	out := map[string]ops.PluginField{}
	typ := ""
	for _, p := range ps {
		if p.Class == class || p.Type == "common" {
			for _, f := range p.Fields {
				out[f.Name] = f
			}
			if p.Class == class {
				typ = p.Type
			}
		}
	}
	return out, typ
}

// commonFields names the fields every connector has.
func (s *Server) commonFields(ctx context.Context) map[string]bool {
	ps, _ := s.svc.ConnectorPlugins(ctx)
	out := map[string]bool{}
	for _, p := range ps {
		if p.Type == "common" {
			for _, f := range p.Fields {
				out[f.Name] = true
			}
		}
	}
	return out
}

func (s *Server) connectorInfo(ctx context.Context, j ops.JobStatus, typ string) (ConnectorInfo, error) {
	jc, err := s.svc.JobConfig(ctx, j.Name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	info := ConnectorInfo{Name: j.Name, Config: toConnect(jc.Table), Tasks: []ConnectorTaskID{}, Type: typ}
	for _, t := range connectTasks(j) {
		info.Tasks = append(info.Tasks, ConnectorTaskID{Connector: j.Name, Task: t.ID})
	}
	if info.Type == "" {
		info.Type = "unknown"
	}
	return info, nil
}

// putConnector creates or replaces a connector and answers with its info:
// 201 when created, 200 when replaced.
func (s *Server) putConnector(w http.ResponseWriter, r *http.Request, name string, config map[string]any, mustBeNew bool) {
	if name == "" {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, "Connector name configuration (name) is required")
		return
	}
	if strings.ContainsAny(name, "/") || strings.TrimSpace(name) != name {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, "Connector name contains invalid characters or surrounding whitespace: "+strconv.Quote(name))
		return
	}
	if mustBeNew {
		if _, err := s.svc.Job(r.Context(), name); err == nil {
			writeError(w, http.StatusConflict, ops.KindRefused, fmt.Sprintf("Connector %s already exists", name))
			return
		}
	}
	if n, ok := config["name"].(string); ok && n != name {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, fmt.Sprintf("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name))
		return
	}
	class, _ := config["connector.class"].(string)
	if class == "" {
		class, _ = config["class"].(string)
	}
	fields, _ := s.fieldsOf(r.Context(), class)
	table := fromConnect(name, config, fields)
	_, created, err := s.svc.PutJob(r.Context(), ops.PutJobRequest{Kind: ops.KindConnector, Table: table, Command: r.Method + " " + r.URL.Path})
	if err != nil {
		writeOpsError(w, err)
		return
	}
	j, err := s.svc.Job(r.Context(), name)
	if err != nil {
		writeOpsError(w, err)
		return
	}
	info, err := s.connectorInfo(r.Context(), j, s.pluginTypes(r.Context())[j.Class].Type)
	if err != nil {
		writeOpsError(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/connectors/"+name)
	}
	writeJSON(w, status, info)
}

func (s *Server) configRoutes() {
	s.mux.HandleFunc("POST /connectors", func(w http.ResponseWriter, r *http.Request) {
		var req CreateConnectorRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Config == nil {
			req.Config = map[string]any{}
		}
		s.putConnector(w, r, req.Name, req.Config, true)
	})
	s.mux.HandleFunc("GET /connectors/{name}", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		info, err := s.connectorInfo(r.Context(), j, s.pluginTypes(r.Context())[j.Class].Type)
		if err != nil {
			connectError(w, j.Name, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	s.mux.HandleFunc("GET /connectors/{name}/config", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		jc, err := s.svc.JobConfig(r.Context(), j.Name)
		if err != nil {
			connectError(w, j.Name, err)
			return
		}
		writeJSON(w, http.StatusOK, toConnect(jc.Table))
	})
	s.mux.HandleFunc("PUT /connectors/{name}/config", func(w http.ResponseWriter, r *http.Request) {
		var config map[string]any
		if !readJSON(w, r, &config) {
			return
		}
		if config == nil {
			writeError(w, http.StatusBadRequest, ops.KindInvalid, "the request body must be a JSON object of connector configuration")
			return
		}
		s.putConnector(w, r, r.PathValue("name"), config, false)
	})
	s.mux.HandleFunc("DELETE /connectors/{name}", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		if _, err := s.svc.DeleteJob(r.Context(), j.Name, r.Method+" "+r.URL.Path); err != nil {
			connectError(w, j.Name, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /connectors/{name}/tasks", func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.connector(w, r)
		if !ok {
			return
		}
		jc, err := s.svc.JobConfig(r.Context(), j.Name)
		if err != nil {
			connectError(w, j.Name, err)
			return
		}
		cfg := toConnect(jc.Table)
		out := []TaskInfo{}
		for _, t := range connectTasks(j) {
			tc := map[string]string{}
			for k, v := range cfg {
				tc[k] = v
			}
			tc["task.id"] = strconv.Itoa(t.ID)
			out = append(out, TaskInfo{ID: ConnectorTaskID{Connector: j.Name, Task: t.ID}, Config: tc})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// ConfigInfos is Connect's validation response.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ConfigInfo is one key of a validation response.
type ConfigInfo struct {
	Definition ConfigKeyInfo   `json:"definition"`
	Value      ConfigValueInfo `json:"value"`
}

// ConfigKeyInfo is Connect's ConfigKeyInfo.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	OrderInGroup  int      `json:"order_in_group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
}

// ConfigValueInfo is Connect's ConfigValueInfo.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// connectType names a kdeck field type as Connect's ConfigDef types.
func connectType(t string) string {
	switch t {
	case "int":
		return "LONG"
	case "float":
		return "DOUBLE"
	case "bool":
		return "BOOLEAN"
	case "strings":
		return "LIST"
	}
	return "STRING"
}

// validate answers PUT /connector-plugins/{class}/config/validate.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	var config map[string]any
	if !readJSON(w, r, &config) {
		return
	}
	class := r.PathValue("class")
	if c, ok := config["connector.class"].(string); ok && c != "" && c != class {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, fmt.Sprintf("Connector class %s in the request body does not match the class in the URL (%s)", c, class))
		return
	}
	fields, typ := s.fieldsOf(r.Context(), class)
	common := s.commonFields(r.Context())
	if typ == "" || typ == "transform" || typ == "common" {
		writeError(w, http.StatusBadRequest, ops.KindInvalid, fmt.Sprintf("Failed to find any class that implements Connector and which name matches %s", class))
		return
	}
	config["connector.class"] = class
	name, _ := config["name"].(string)
	table := fromConnect(name, config, fields)
	problems, err := s.svc.ValidateConnector(r.Context(), table)
	if err != nil {
		writeOpsError(w, err)
		return
	}
	byField := map[string][]string{}
	res := ConfigInfos{Name: class, Groups: []string{"Common", class}, Configs: []ConfigInfo{}}
	for _, p := range problems {
		byField[p.Field] = append(byField[p.Field], p.Message)
		res.ErrorCount++
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	values := toConnect(table)
	for i, n := range names {
		res.Configs = append(res.Configs, declaredConfigInfo(class, n, i+1, fields[n], common[n], byField[n], values))
		delete(byField, n)
	}
	// Problems on keys the plugin does not declare (unknown keys).
	rest := make([]string, 0, len(byField))
	for n := range byField {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	for _, n := range rest {
		ck := strings.ReplaceAll(n, "_", ".")
		group := "Common"
		res.Configs = append(res.Configs, ConfigInfo{
			Definition: ConfigKeyInfo{Name: ck, Type: "STRING", Importance: "LOW", Group: &group, Width: "NONE", DisplayName: ck, Dependents: []string{}},
			Value:      ConfigValueInfo{Name: ck, RecommendedValues: []string{}, Errors: byField[n], Visible: true},
		})
	}
	writeJSON(w, http.StatusOK, res)
}

// declaredConfigInfo is the validate answer's entry for the plugin's field n
// (f), shown in Kafka Connect's dotted key form: its definition (in group
// "Common" for a common field, else the class's; order is its place among
// the plugin's fields sorted by name, from 1), its value in values and its
// errors errs.
func declaredConfigInfo(class, n string, order int, f ops.PluginField, common bool, errs []string, values map[string]string) ConfigInfo {
	ck := strings.ReplaceAll(n, "_", ".")
	if n == "class" {
		ck = "connector.class"
	}
	group := class
	if common {
		group = "Common"
	}
	def := ConfigKeyInfo{Name: ck, Type: connectType(f.Type), Required: f.Required, Importance: "MEDIUM",
		Documentation: f.Description, Group: &group, OrderInGroup: order, Width: "NONE", DisplayName: ck, Dependents: []string{}}
	if f.Default != nil {
		d := fmt.Sprint(f.Default)
		def.DefaultValue = &d
	}
	val := ConfigValueInfo{Name: ck, RecommendedValues: f.Choices, Errors: errs, Visible: true}
	if val.RecommendedValues == nil {
		val.RecommendedValues = []string{}
	}
	if val.Errors == nil {
		val.Errors = []string{}
	}
	if v, ok := values[ck]; ok {
		val.Value = &v
	}
	return ConfigInfo{Definition: def, Value: val}
}
