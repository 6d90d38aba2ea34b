package ops

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/schema"
)

var _ SchemaService = (*Local)(nil)

// ErrNoRegistry reports a cluster without a Schema Registry.
var ErrNoRegistry = errors.New("no schema registry")

// WithRegistry sets the Schema Registry URL of the default cluster (the
// global --registry flag), overriding its [clusters.NAME.schema_registry].
func WithRegistry(url string) Opt { return optFn(func(c *localCfg) { c.registryURL = url }) }

// schemaRegistry returns the cached Schema Registry client of a cluster.
func (l *Local) schemaRegistry(cluster string) (*schema.Client, error) {
	c, err := l.client(cluster)
	if err != nil {
		return nil, err
	}
	name := c.cfg.Name
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.registries[name]; ok {
		return r, nil
	}
	rc := c.cfg.SchemaRegistry
	if l.lc.registryURL != "" && name == l.def {
		rc = &config.SchemaRegistry{URL: config.URLList{l.lc.registryURL}}
	}
	if rc == nil || len(rc.URL) == 0 {
		return nil, &wrapped{msg: fmt.Sprintf("cluster %q has no schema registry: add [clusters.%s.schema_registry] url = \"http://host:8081\", or pass --registry URL", name, name), err: ErrNoRegistry}
	}
	sc := schema.Config{URLs: rc.URL, Username: rc.Username, Timeout: rc.Timeout.Duration}
	var perr error
	if sc.Password, perr = rc.ResolvePassword(); perr == nil {
		sc.Token, perr = rc.ResolveToken()
	}
	if perr != nil {
		return nil, &wrapped{msg: fmt.Sprintf("cluster %q schema registry: %v", name, perr), err: ErrInvalid}
	}
	t := rc.TLS
	if t == nil && strings.HasPrefix(rc.URL[0], "https://") {
		t = c.cfg.TLS
	}
	if t != nil {
		tc, err := tlsConfig(name, t)
		if err != nil {
			return nil, &wrapped{msg: err.Error(), err: ErrInvalid}
		}
		sc.TLS = tc
	}
	r, err := schema.NewClient(sc)
	if err != nil {
		return nil, &wrapped{msg: fmt.Sprintf("cluster %q: %v", name, err), err: ErrInvalid}
	}
	if l.registries == nil {
		l.registries = map[string]*schema.Client{}
	}
	l.registries[name] = r
	return r, nil
}

// decoderFor returns the decoder of a read, or nil when it decodes nothing.
// Auto mode without a registry decodes nothing; an explicit mode without
// one is an error.
func (l *Local) decoderFor(cluster string, req ReadRequest) (*schema.Decoder, error) {
	mode, err := schema.ParseMode(req.Decode)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	if req.Decode == "" || mode == schema.ModeNone {
		return nil, nil
	}
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		if errors.Is(err, ErrNoRegistry) && mode == schema.ModeAuto {
			return nil, nil
		}
		return nil, err
	}
	return schema.NewDecoder(r, mode, schema.DecodeOptions{PrettyTime: req.PrettyTime}), nil
}

// decode fills a record's KeyDecoded and ValueDecoded.
func decodeRecord(ctx context.Context, d *schema.Decoder, rec *Record) {
	rec.KeyDecoded = toDecoded(d.Decode(ctx, rec.Key))
	rec.ValueDecoded = toDecoded(d.Decode(ctx, rec.Value))
}

func toDecoded(r schema.Result) *Decoded {
	if !r.Decoded && r.Err == nil {
		return nil
	}
	d := &Decoded{Format: r.Format, SchemaID: r.SchemaID, Subject: r.Subject, Version: r.Version}
	if r.Err != nil {
		d.Error = r.Err.Error()
	} else {
		d.JSON = r.JSON
	}
	return d
}

// regCtx bounds one registry call.
func regCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, DefaultRequestTimeout)
}

// regErr turns a registry error into ops' sentinels: not found stays
// ErrNotFound, unreachable becomes ErrUnreachable, incompatible ErrRefused.
func regErr(r *schema.Client, err error, what string) error {
	err = r.Explain(err, what)
	switch {
	case errors.Is(err, schema.ErrNotFound):
		return &wrapped{msg: err.Error(), err: ErrNotFound}
	case errors.Is(err, schema.ErrUnreachable):
		return &wrapped{msg: err.Error(), err: ErrUnreachable}
	case errors.Is(err, schema.ErrIncompatible):
		return &wrapped{msg: err.Error(), err: ErrRefused}
	}
	return err
}

func formatOf(t sr.SchemaType) string {
	switch t {
	case sr.TypeProtobuf:
		return schema.FormatProtobuf
	case sr.TypeJSON:
		return schema.FormatJSONSchema
	}
	return schema.FormatAvro
}

func typeOf(format string) (sr.SchemaType, error) {
	switch strings.ToLower(format) {
	case "", "avro":
		return sr.TypeAvro, nil
	case "protobuf", "proto":
		return sr.TypeProtobuf, nil
	case "json-schema", "json_schema", "json":
		return sr.TypeJSON, nil
	}
	return 0, invalidf("schema format %q is not known: use avro, protobuf or json-schema", format)
}

func toSchemaInfo(ss sr.SubjectSchema) SchemaInfo {
	si := SchemaInfo{Subject: ss.Subject, Version: ss.Version, ID: ss.ID, Format: formatOf(ss.Type), Schema: ss.Schema.Schema}
	for _, r := range ss.References {
		si.References = append(si.References, SchemaReference{Name: r.Name, Subject: r.Subject, Version: r.Version})
	}
	return si
}

func (req SchemaRequest) toSR() (sr.Schema, error) {
	t, err := typeOf(req.Format)
	if err != nil {
		return sr.Schema{}, err
	}
	s := sr.Schema{Schema: req.Schema, Type: t}
	for _, r := range req.References {
		s.References = append(s.References, sr.SchemaReference{Name: r.Name, Subject: r.Subject, Version: r.Version})
	}
	return s, nil
}

// ListSubjects implements SchemaService.
func (l *Local) ListSubjects(ctx context.Context, cluster string) ([]SubjectSummary, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return nil, err
	}
	lctx, cancel := regCtx(ctx)
	names, err := r.SR().Subjects(lctx)
	cancel()
	if err != nil {
		return nil, regErr(r, err, "the subject list")
	}
	sort.Strings(names)
	// Two requests per subject, eight subjects at a time: a registry with
	// thousands of subjects lists in seconds, not minutes. Each request is
	// bounded by the registry client's timeout; ctx bounds the whole.
	out := make([]SubjectSummary, len(names))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = SubjectSummary{Subject: n}
			ss, err := r.SR().SchemaByVersion(ctx, n, -1)
			if err != nil {
				out[i].Error = regErr(r, err, fmt.Sprintf("subject %q", n)).Error()
				return
			}
			out[i].LatestVersion, out[i].SchemaID, out[i].Format = ss.Version, ss.ID, formatOf(ss.Type)
			if vs, err := r.SR().SubjectVersions(ctx, n); err == nil {
				out[i].Versions = len(vs)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// topicsOf returns existing topics whose name the subject follows
// (TopicNameStrategy).
func (l *Local) topicsOf(ctx context.Context, cluster, subject string) []string {
	topic, ok := strings.CutSuffix(subject, "-value")
	if !ok {
		if topic, ok = strings.CutSuffix(subject, "-key"); !ok {
			return nil
		}
	}
	ts, err := l.ListTopics(ctx, cluster, ListTopicsOptions{})
	if err != nil {
		return nil
	}
	for _, t := range ts {
		if t.Name == topic {
			return []string{topic}
		}
	}
	return nil
}

// Subject implements SchemaService.
func (l *Local) Subject(ctx context.Context, cluster, subject string) (SubjectDetail, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return SubjectDetail{}, err
	}
	rctx, cancel := regCtx(ctx)
	defer cancel()
	what := fmt.Sprintf("subject %q", subject)
	vs, err := r.SR().SubjectVersions(rctx, subject)
	if err != nil {
		return SubjectDetail{}, regErr(r, err, what)
	}
	ss, err := r.SR().SchemaByVersion(rctx, subject, -1)
	if err != nil {
		return SubjectDetail{}, regErr(r, err, what)
	}
	d := SubjectDetail{Subject: subject, Versions: vs, Latest: toSchemaInfo(ss), Compatibility: l.compatibility(rctx, r, subject)}
	d.Topics = l.topicsOf(ctx, cluster, subject)
	if d.Topics == nil {
		d.Topics = []string{}
	}
	return d, nil
}

// compatibility returns a subject's level, falling back to the global one.
func (l *Local) compatibility(ctx context.Context, r *schema.Client, subject string) string {
	res := r.SR().Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), subject)
	if len(res) == 1 && res[0].Err == nil {
		return res[0].Level.String()
	}
	g := r.SR().Compatibility(ctx)
	if len(g) == 1 && g[0].Err == nil {
		return g[0].Level.String()
	}
	return ""
}

// Compatibility implements SchemaService.
func (l *Local) Compatibility(ctx context.Context, cluster, subject string) (string, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return "", err
	}
	ctx, cancel := regCtx(ctx)
	defer cancel()
	var res []sr.CompatibilityResult
	if subject == "" {
		res = r.SR().Compatibility(ctx)
	} else {
		res = r.SR().Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), subject)
	}
	if res[0].Err != nil {
		return "", regErr(r, res[0].Err, "the compatibility level of "+orGlobal(subject))
	}
	return res[0].Level.String(), nil
}

func orGlobal(subject string) string {
	if subject == "" {
		return "the registry"
	}
	return "subject " + strconv.Quote(subject)
}

// SchemaVersion implements SchemaService.
func (l *Local) SchemaVersion(ctx context.Context, cluster, subject string, version int) (SchemaInfo, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return SchemaInfo{}, err
	}
	if version <= 0 {
		version = -1
	}
	ctx, cancel := regCtx(ctx)
	defer cancel()
	ss, err := r.SR().SchemaByVersion(ctx, subject, version)
	if err != nil {
		what := fmt.Sprintf("subject %q", subject)
		if version > 0 {
			what += " version " + strconv.Itoa(version)
		}
		return SchemaInfo{}, regErr(r, err, what)
	}
	return toSchemaInfo(ss), nil
}

// CheckSchema implements SchemaService: the schema must compile here, then
// the registry checks it against the subject's level (all versions for the
// _TRANSITIVE levels, else the latest).
func (l *Local) CheckSchema(ctx context.Context, cluster string, req SchemaRequest) (SchemaCheck, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return SchemaCheck{}, err
	}
	s, err := req.toSR()
	if err != nil {
		return SchemaCheck{}, err
	}
	ctx, cancel := regCtx(ctx)
	defer cancel()
	if _, err := r.Compile(ctx, s); err != nil {
		return SchemaCheck{}, invalidf("%v", err)
	}
	out := SchemaCheck{Subject: req.Subject, Compatibility: l.compatibility(ctx, r, req.Subject)}
	version := -1
	if strings.HasSuffix(out.Compatibility, "_TRANSITIVE") {
		version = -2
	}
	res, err := r.SR().CheckCompatibility(sr.WithParams(ctx, sr.Verbose), req.Subject, version, s)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) && re.StatusCode == 404 {
			out.Compatible, out.NewSubject = true, true
			return out, nil
		}
		return out, regErr(r, err, fmt.Sprintf("the compatibility check of subject %q", req.Subject))
	}
	out.Compatible, out.Messages = res.Is, res.Messages
	return out, nil
}

// RegisterSchema implements SchemaService.
func (l *Local) RegisterSchema(ctx context.Context, cluster string, req SchemaRequest) (SchemaInfo, error) {
	if err := l.checkWritable(ctx, "register a schema under "+req.Subject); err != nil {
		return SchemaInfo{}, err
	}
	if strings.TrimSpace(req.Subject) == "" {
		return SchemaInfo{}, invalidf("the subject is empty: name one, such as TOPIC-value")
	}
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return SchemaInfo{}, err
	}
	s, err := req.toSR()
	if err != nil {
		return SchemaInfo{}, err
	}
	rctx, cancel := regCtx(ctx)
	defer cancel()
	if _, err := r.Compile(rctx, s); err != nil {
		return SchemaInfo{}, invalidf("%v", err)
	}
	ss, err := r.SR().CreateSchema(rctx, req.Subject, s)
	if err != nil {
		err = regErr(r, err, fmt.Sprintf("registering under subject %q", req.Subject))
	}
	cl, _ := l.client(cluster)
	entry := AuditEntry{Action: "schemas.register", Details: map[string]string{"subject": req.Subject, "format": formatOf(s.Type)}}
	if cl != nil {
		entry.Cluster = cl.cfg.Name
	}
	if err == nil {
		entry.Details["version"], entry.Details["id"] = strconv.Itoa(ss.Version), strconv.Itoa(ss.ID)
	}
	l.recordAudit(ctx, entry, err)
	if err != nil {
		return SchemaInfo{}, err
	}
	ss.Schema = s
	ss.Subject = req.Subject
	return toSchemaInfo(ss), nil
}

// SetCompatibility implements SchemaService.
func (l *Local) SetCompatibility(ctx context.Context, cluster, subject, level string) (AuditEntry, error) {
	what := "set the global compatibility level"
	if subject != "" {
		what = "set the compatibility level of " + subject
	}
	if err := l.checkWritable(ctx, what); err != nil {
		return AuditEntry{}, err
	}
	var lv sr.CompatibilityLevel
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return AuditEntry{}, invalidf("%q is not a compatibility level: use NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE", level)
	}
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return AuditEntry{}, err
	}
	rctx, cancel := regCtx(ctx)
	defer cancel()
	before := l.compatibility(rctx, r, subject)
	var subjects []string
	if subject != "" {
		subjects = []string{subject}
	}
	res := r.SR().SetCompatibility(rctx, sr.SetCompatibility{Level: lv}, subjects...)
	err = res[0].Err
	if err != nil {
		err = regErr(r, err, what)
	}
	cl, _ := l.client(cluster)
	entry := AuditEntry{Action: "schemas.compatibility", Cluster: cl.cfg.Name, Details: map[string]string{"subject": subject, "before": before, "after": lv.String()}}
	entry = l.recordAudit(ctx, entry, err)
	return entry, err
}

// PlanSchemaDelete implements SchemaService.
func (l *Local) PlanSchemaDelete(ctx context.Context, cluster string, req SchemaDeleteRequest) (SchemaDeletePlan, error) {
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return SchemaDeletePlan{}, err
	}
	cl, _ := l.client(cluster)
	plan := SchemaDeletePlan{Cluster: cl.cfg.Name, SchemaDeleteRequest: req}
	rctx, cancel := regCtx(ctx)
	defer cancel()
	if req.Permanent {
		rctx = sr.WithParams(rctx, sr.ShowDeleted)
	}
	what := fmt.Sprintf("subject %q", req.Subject)
	vs, err := r.SR().SubjectVersions(rctx, req.Subject)
	if err != nil {
		return plan, regErr(r, err, what)
	}
	for _, v := range vs {
		if req.Version > 0 && v != req.Version {
			continue
		}
		ss, err := r.SR().SchemaByVersion(rctx, req.Subject, v)
		if err != nil {
			return plan, regErr(r, err, fmt.Sprintf("%s version %d", what, v))
		}
		plan.Versions = append(plan.Versions, toSchemaInfo(ss))
	}
	if len(plan.Versions) == 0 {
		return plan, &wrapped{msg: fmt.Sprintf("subject %q has no version %d (versions: %v)", req.Subject, req.Version, vs), err: ErrNotFound}
	}
	plan.Topics = l.topicsOf(ctx, cluster, req.Subject)
	return plan, nil
}

// ExecuteSchemaDelete implements SchemaService.
func (l *Local) ExecuteSchemaDelete(ctx context.Context, plan SchemaDeletePlan) (AuditEntry, error) {
	what := "delete subject " + plan.Subject
	if plan.Version > 0 {
		what = fmt.Sprintf("delete version %d of subject %s", plan.Version, plan.Subject)
	}
	if err := l.checkWritable(ctx, what); err != nil {
		return AuditEntry{}, err
	}
	r, err := l.schemaRegistry(plan.Cluster)
	if err != nil {
		return AuditEntry{}, err
	}
	how := sr.SoftDelete
	if plan.Permanent {
		how = sr.HardDelete
	}
	rctx, cancel := regCtx(ctx)
	defer cancel()
	if plan.Version > 0 {
		err = r.SR().DeleteSchema(rctx, plan.Subject, plan.Version, how)
	} else {
		_, err = r.SR().DeleteSubject(rctx, plan.Subject, how)
	}
	if err != nil {
		err = regErr(r, err, what)
	}
	var ids, versions []string
	for _, v := range plan.Versions {
		versions, ids = append(versions, strconv.Itoa(v.Version)), append(ids, strconv.Itoa(v.ID))
	}
	mode := "soft"
	if plan.Permanent {
		mode = "permanent"
	}
	entry := AuditEntry{Action: "schemas.delete", Cluster: plan.Cluster, Details: map[string]string{
		"subject": plan.Subject, "versions": strings.Join(versions, ","), "ids": strings.Join(ids, ","), "mode": mode}}
	entry = l.recordAudit(ctx, entry, err)
	return entry, err
}

// ProduceEncoded implements SchemaService.
func (l *Local) ProduceEncoded(ctx context.Context, cluster, topic string, req EncodeRequest, records iter.Seq2[ProduceRecord, error]) (ProduceResult, error) {
	if err := l.checkWritable(ctx, "produce to "+topic); err != nil {
		return ProduceResult{}, err
	}
	r, err := l.schemaRegistry(cluster)
	if err != nil {
		return ProduceResult{}, err
	}
	if req.Register != nil {
		reg := *req.Register
		reg.Subject = req.Subject
		si, err := l.RegisterSchema(ctx, cluster, reg)
		if err != nil {
			return ProduceResult{}, err
		}
		req.Version = si.Version
	}
	version := req.Version
	if version <= 0 {
		version = schema.Latest
	}
	enc, err := r.NewEncoder(ctx, req.Subject, version)
	if err != nil {
		return ProduceResult{}, regErr(r, err, fmt.Sprintf("subject %q", req.Subject))
	}
	if req.Message != "" {
		if err := enc.UseMessage(req.Message); err != nil {
			return ProduceResult{}, invalidf("%v", err)
		}
	}
	var skipped []RecordEncodeError
	var encErr error
	n := 0
	encoded := func(yield func(ProduceRecord, error) bool) {
		for pr, err := range records {
			n++
			if err != nil {
				yield(pr, err)
				return
			}
			v, err := enc.Encode(pr.Value)
			if err != nil {
				e := RecordEncodeError{Record: n, Reason: err.Error()}
				if req.SkipBad {
					skipped = append(skipped, e)
					continue
				}
				encErr = &e
				return
			}
			pr.Value = v
			if !yield(pr, nil) {
				return
			}
		}
	}
	res, err := l.Produce(ctx, cluster, topic, encoded)
	res.Subject, res.Version, res.SchemaID, res.Skipped = enc.Subject, enc.Version, enc.Schema.ID, skipped
	if err != nil {
		return res, err
	}
	return res, encErr
}
