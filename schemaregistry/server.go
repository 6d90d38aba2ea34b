// Package schemaregistry serves the Confluent Schema Registry REST API for
// the embedded default, storing subjects durably in a compacted _schemas
// topic on a Kafka cluster, as Confluent's registry does (same key and value
// shapes), so they survive a restart of the cluster.
//
//	srv, err := schemaregistry.New(ctx, schemaregistry.Options{
//		Addr:    "127.0.0.1:8081",
//		Brokers: []string{"127.0.0.1:9092"},
//	})
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	fmt.Println(srv.URL())
//
// It serves the endpoints real clients use (subjects, versions, schemas by
// id, config, compatibility checks, lookup, register with deduplication,
// soft and hard deletes) and checks compatibility for real: Avro by Avro's
// schema resolution rules, Protobuf and JSON Schema by compiling (see
// docs/schemas.md). One mutex serialises writes; reads share it briefly.
package schemaregistry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
)

// DefaultTopic is the topic subjects are stored in.
const DefaultTopic = "_schemas"

// Options configure New.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:8081". Port 0 picks a
	// free port.
	Addr string
	// Brokers is the cluster that stores the _schemas topic.
	Brokers []string
	// Topic overrides DefaultTopic.
	Topic string
	// Logger; default discards.
	Logger *slog.Logger
}

// Server is a running registry. Close stops it.
type Server struct {
	log   *slog.Logger
	topic string
	kcl   *kgo.Client
	ln    net.Listener
	http  *http.Server
	done  chan struct{}

	mu       sync.Mutex
	subjects map[string][]*version // versions in order
	ids      map[int]*stored
	global   string
	configs  map[string]string
	nextID   int
}

type version struct {
	Version int
	ID      int
	Deleted bool
}

type stored struct {
	raw sr.Schema
	// key identifies equal schemas (type and canonical text) so the same
	// schema gets the same id in every subject.
	key string
	c   *schema.Schema
}

// ErrPortInUse reports that the registry's address is taken.
var ErrPortInUse = errors.New("registry port in use")

// New creates (if needed) and reads the _schemas topic, then listens. It
// returns once the registry answers.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8081"
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Brokers) == 0 {
		return nil, errors.New("schema registry: no brokers to store subjects on")
	}
	kcl, err := kgo.NewClient(
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("kdeck-schema-registry"),
		kgo.DialTimeout(2*time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		return nil, err
	}
	s := &Server{log: o.Logger, topic: o.Topic, kcl: kcl, done: make(chan struct{}),
		subjects: map[string][]*version{}, ids: map[int]*stored{}, global: "BACKWARD", configs: map[string]string{}, nextID: 1}
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.load(lctx); err != nil {
		kcl.Close()
		return nil, fmt.Errorf("schema registry: reading %s: %w", o.Topic, err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		kcl.Close()
		if strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("%w: %s is taken (another registry?): pick another with --registry-port (0 for any free port)", ErrPortInUse, o.Addr)
		}
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// URL returns the registry's base URL, http://host:port.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops serving (waiting up to 5s for requests in flight) and closes
// the Kafka client. Safe to call more than once.
func (s *Server) Close() {
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	<-s.done
	s.kcl.Close()
	s.http = nil
}

// storeKey and storeValue are Confluent's _schemas record shapes.
type storeKey struct {
	KeyType string  `json:"keytype"`
	Subject *string `json:"subject"`
	Version int     `json:"version,omitempty"`
	Magic   int     `json:"magic"`
}

type storeSchema struct {
	Subject    string               `json:"subject"`
	Version    int                  `json:"version"`
	ID         int                  `json:"id"`
	Schema     string               `json:"schema"`
	SchemaType string               `json:"schemaType,omitempty"`
	References []sr.SchemaReference `json:"references,omitempty"`
	Deleted    bool                 `json:"deleted"`
}

type storeConfig struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

func (s *Server) load(ctx context.Context) error {
	adm := kadm.NewClient(s.kcl)
	resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}, s.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	// A broker may not know a topic it just created for a moment: retry
	// until its partition has an end offset.
	var end kadm.ListedOffset
	for {
		ends, err := adm.ListEndOffsets(ctx, s.topic)
		if err == nil {
			var ok bool
			if end, ok = ends.Lookup(s.topic, 0); ok && end.Err == nil {
				break
			}
			err = fmt.Errorf("no end offset for %s/0: %v", s.topic, end.Err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	if end.Offset == 0 {
		return nil
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(s.kcl.OptValue(kgo.SeedBrokers).([]string)...), kgo.DialTimeout(2*time.Second),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return ferr
		}
		last := int64(-1)
		fs.EachRecord(func(r *kgo.Record) {
			s.apply(ctx, r.Key, r.Value)
			last = r.Offset
		})
		if last+1 >= end.Offset {
			return nil
		}
	}
}

func ptr[T any](v T) *T { return &v }

// apply folds one _schemas record into the state; the caller holds s.mu or
// runs before serving.
func (s *Server) apply(ctx context.Context, key, value []byte) {
	var k storeKey
	if err := json.Unmarshal(key, &k); err != nil {
		return
	}
	switch k.KeyType {
	case "SCHEMA":
		if k.Subject == nil {
			return
		}
		if value == nil { // hard delete
			vs := s.subjects[*k.Subject]
			for i, v := range vs {
				if v.Version == k.Version {
					s.subjects[*k.Subject] = append(vs[:i:i], vs[i+1:]...)
					break
				}
			}
			if len(s.subjects[*k.Subject]) == 0 {
				delete(s.subjects, *k.Subject)
			}
			return
		}
		var v storeSchema
		if err := json.Unmarshal(value, &v); err != nil {
			return
		}
		raw := sr.Schema{Schema: v.Schema, References: v.References}
		if err := raw.Type.UnmarshalText([]byte(orDefault(v.SchemaType, "AVRO"))); err != nil {
			return
		}
		if _, ok := s.ids[v.ID]; !ok {
			c, err := schema.Compile(ctx, raw, s.refTexts(raw.References))
			if err != nil {
				s.log.Warn("schema registry: a stored schema does not compile", "id", v.ID, "err", err)
			}
			s.ids[v.ID] = &stored{raw: raw, key: identity(raw, c), c: c}
		}
		s.nextID = max(s.nextID, v.ID+1)
		vs := s.subjects[v.Subject]
		for _, e := range vs {
			if e.Version == v.Version {
				e.ID, e.Deleted = v.ID, v.Deleted
				return
			}
		}
		s.subjects[v.Subject] = append(vs, &version{Version: v.Version, ID: v.ID, Deleted: v.Deleted})
		sort.Slice(s.subjects[v.Subject], func(i, j int) bool { return s.subjects[v.Subject][i].Version < s.subjects[v.Subject][j].Version })
	case "CONFIG":
		var c storeConfig
		if value != nil {
			if err := json.Unmarshal(value, &c); err != nil {
				return
			}
		}
		switch {
		case k.Subject == nil && value != nil:
			s.global = c.CompatibilityLevel
		case k.Subject == nil:
			s.global = "BACKWARD"
		case value == nil:
			delete(s.configs, *k.Subject)
		default:
			s.configs[*k.Subject] = c.CompatibilityLevel
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// identity is what makes two registrations the same schema: the type and
// the canonical text (Avro's parsing canonical form when it compiles).
func identity(raw sr.Schema, c *schema.Schema) string {
	text := strings.TrimSpace(raw.Schema)
	if c != nil && c.Format == schema.FormatAvro {
		text = c.Canonical()
	}
	var refs []byte
	if len(raw.References) > 0 {
		refs, _ = json.Marshal(raw.References)
	}
	return raw.Type.String() + "\x00" + text + "\x00" + string(refs)
}

// refTexts returns the texts of references by name; missing ones are left
// out (compiling then reports them).
func (s *Server) refTexts(refs []sr.SchemaReference) map[string]string {
	out := map[string]string{}
	var walk func(refs []sr.SchemaReference, depth int)
	walk = func(refs []sr.SchemaReference, depth int) {
		if depth > 16 {
			return
		}
		for _, r := range refs {
			for _, v := range s.subjects[r.Subject] {
				if v.Version == r.Version {
					st := s.ids[v.ID]
					out[r.Name] = st.raw.Schema
					walk(st.raw.References, depth+1)
				}
			}
		}
	}
	walk(refs, 0)
	return out
}

// write produces one _schemas record and waits for the ack, then applies
// it. The caller holds s.mu.
func (s *Server) write(ctx context.Context, key, value any) error {
	kb, err := json.Marshal(key)
	if err != nil {
		return err
	}
	var vb []byte
	if value != nil {
		if vb, err = json.Marshal(value); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.kcl.ProduceSync(ctx, &kgo.Record{Topic: s.topic, Partition: 0, Key: kb, Value: vb}).FirstErr(); err != nil {
		return fmt.Errorf("storing in %s: %w", s.topic, err)
	}
	s.apply(ctx, kb, vb)
	return nil
}
