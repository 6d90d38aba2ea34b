package connect

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kdeck/kdeck/spec"
)

// PluginType says whether a connector is a source or a sink.
type PluginType string

// Plugin types.
const (
	TypeSource PluginType = "source"
	TypeSink   PluginType = "sink"
)

// Plugin is a connector class: its name (the class key of a [[connectors]]
// table), its configuration spec and its constructor. Exactly one of
// NewSource and NewSink is set.
type Plugin struct {
	Name    string
	Type    PluginType
	Version string
	// Spec declares the connector's own keys; the common keys (name,
	// tasks_max, transforms, errors_tolerance, ...) are added by the
	// runtime.
	Spec *Spec
	// ValueConverter and KeyConverter are the default converters; "json"
	// when empty.
	ValueConverter, KeyConverter string

	NewSource func(p *Parsed) (SourceConnector, error)
	NewSink   func(p *Parsed) (SinkConnector, error)
}

// TransformPlugin is a single message transform type.
type TransformPlugin struct {
	Name string
	// Aliases are other accepted names, such as Kafka Connect's class
	// names (org.apache.kafka.connect.transforms.InsertField$Value).
	Aliases []string
	Spec    *Spec
	New     func(p *Parsed) (Transform, error)
}

// Registry holds connector classes and transform types by name. Build one
// with NewRegistry (empty) or Builtins and add your own with Register and
// RegisterTransform. A Registry is not safe for concurrent mutation;
// register everything before using it, after which it is read-only and safe
// for concurrent use.
type Registry struct {
	plugins    map[string]*Plugin
	transforms map[string]*TransformPlugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{plugins: map[string]*Plugin{}, transforms: map[string]*TransformPlugin{}}
}

// Builtins returns a new registry with kdeck's built-in connectors
// (file-source, file-sink, datagen, postgres-cdc, postgres-sink) and every built-in transform.
func Builtins() *Registry {
	r := NewRegistry()
	for _, p := range []*Plugin{fileSourcePlugin(), fileSinkPlugin(), datagenPlugin(), postgresCDCPlugin(), postgresSinkPlugin()} {
		if err := r.Register(p); err != nil {
			panic(err) // built-ins are consistent; a test covers it
		}
	}
	for _, t := range builtinTransforms() {
		if err := r.RegisterTransform(t); err != nil {
			panic(err)
		}
	}
	return r
}

// Register adds a connector class; it fails on a duplicate name or an
// incomplete plugin.
func (r *Registry) Register(p *Plugin) error {
	switch {
	case p == nil || p.Name == "":
		return fmt.Errorf("connect: a plugin needs a name")
	case (p.NewSource == nil) == (p.NewSink == nil):
		return fmt.Errorf("connect: plugin %q must set exactly one of NewSource and NewSink", p.Name)
	case r.plugins[p.Name] != nil:
		return fmt.Errorf("connect: plugin %q is already registered", p.Name)
	}
	if p.Spec == nil {
		p.Spec = NewSpec("")
	}
	if p.Type == "" {
		p.Type = TypeSource
		if p.NewSink != nil {
			p.Type = TypeSink
		}
	}
	r.plugins[p.Name] = p
	return nil
}

// RegisterTransform adds a transform type under its name and aliases.
func (r *Registry) RegisterTransform(t *TransformPlugin) error {
	if t == nil || t.Name == "" || t.New == nil {
		return fmt.Errorf("connect: a transform needs a name and New")
	}
	for _, n := range append([]string{t.Name}, t.Aliases...) {
		if r.transforms[n] != nil {
			return fmt.Errorf("connect: transform %q is already registered", n)
		}
		r.transforms[n] = t
	}
	if t.Spec == nil {
		t.Spec = NewSpec("")
	}
	return nil
}

// Plugin returns a connector class, or an error naming the known classes
// with a suggestion.
func (r *Registry) Plugin(name string) (*Plugin, error) {
	if p := r.plugins[name]; p != nil {
		return p, nil
	}
	names := r.PluginNames()
	return nil, fmt.Errorf("unknown connector class %q%s (available: %s)", name, spec.Suggest(name, names), strings.Join(names, ", "))
}

// PluginNames returns the connector classes, sorted.
func (r *Registry) PluginNames() []string {
	out := make([]string, 0, len(r.plugins))
	for n := range r.plugins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Plugins returns the connector classes, sorted by name.
func (r *Registry) Plugins() []*Plugin {
	out := make([]*Plugin, 0, len(r.plugins))
	for _, n := range r.PluginNames() {
		out = append(out, r.plugins[n])
	}
	return out
}

// Transforms returns the transform types, sorted by name (aliases once).
func (r *Registry) Transforms() []*TransformPlugin {
	seen := map[*TransformPlugin]bool{}
	var out []*TransformPlugin
	for _, t := range r.transforms {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// transform returns a transform type by name.
func (r *Registry) transform(name string) (*TransformPlugin, error) {
	if t := r.transforms[name]; t != nil {
		return t, nil
	}
	var names []string
	for _, t := range r.Transforms() {
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("unknown transform type %q%s (available: %s)", name, spec.Suggest(name, names), strings.Join(names, ", "))
}
