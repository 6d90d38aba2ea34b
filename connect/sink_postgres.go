package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kdeck/kdeck/spec"
)

// Keys of postgres-sink.
const (
	fieldTable         = "table"
	fieldInsertMode    = "insert_mode"
	fieldPKMode        = "pk_mode"
	fieldPKFields      = "pk_fields"
	fieldDeleteEnabled = "delete_enabled"
	fieldAutoCreate    = "auto_create"
	fieldAutoEvolve    = "auto_evolve"
	fieldExactlyOnce   = "exactly_once"
)

// SinkOffsetsTable is the table postgres-sink keeps its consumed offsets in
// when exactly_once = true, written in the same transaction as the rows.
const SinkOffsetsTable = "kdeck_sink_offsets"

// debeziumUnavailable is Debezium's placeholder for a TOAST column an update
// left unchanged (unavailable.value.placeholder).
const debeziumUnavailable = "__debezium_unavailable_value"

func postgresSinkPlugin() *Plugin {
	fields := append(dsnFields(),
		NewField(FieldTopics, TypeStrings).Description("Topics to consume."),
		NewField(fieldTable, TypeString).Default("").Description(`Target table, optionally schema-qualified; ${topic} is replaced by the topic name. Default: the topic name with dots and dashes as underscores.`),
		NewField(fieldInsertMode, TypeString).Default("upsert").Enum("insert", "upsert").Description(`"upsert": INSERT ... ON CONFLICT (pk) DO UPDATE, so a redelivered record changes nothing; "insert": plain INSERT (a redelivery fails on the primary key unless exactly_once = true).`),
		NewField(fieldPKMode, TypeString).Default("record_key").Enum("record_key", "record_value", "none").Description(`Where the primary key comes from: the record key (an object's fields, or one primitive named by pk_fields), fields of the value, or none (insert only).`),
		NewField(fieldPKFields, TypeStrings).Optional().Description("Primary key columns; default every field of an object key. Required for a primitive key (one name) and for pk_mode record_value."),
		NewField(fieldDeleteEnabled, TypeBool).Default(true).Description("A tombstone (null value) or a Debezium delete removes the row with the record's key."),
		NewField(fieldAutoCreate, TypeBool).Default(false).Description("Create a missing table from the first records (columns typed from the JSON values, primary key from pk_fields)."),
		NewField(fieldAutoEvolve, TypeBool).Default(false).Description("Add columns that records have and the table lacks (nullable)."),
		NewField(fieldExactlyOnce, TypeBool).Default(false).Description("Write the consumed offsets into "+SinkOffsetsTable+" in the same transaction as the rows and skip records at or below them, so no record is ever applied twice (even in insert mode)."),
	)
	return &Plugin{
		Name:    "postgres-sink",
		Version: "1.0",
		Spec: NewSpec("Write records to PostgreSQL tables: insert or upsert by primary key, delete on tombstone, Debezium envelopes applied as row changes; each batch is COPYed into a temporary table and applied with one statement per table in one transaction, and the consumer offsets are committed only after it commits.",
			fields...),
		NewSink: func(p *Parsed) (SinkConnector, error) {
			errs := checkDSNFields(p)
			if len(p.Strings(FieldTopics)) == 0 {
				errs = append(errs, FieldError{Path: FieldTopics, Msg: "name at least one topic"})
			}
			mode, pk := p.String(fieldInsertMode), p.String(fieldPKMode)
			if mode == "upsert" && pk == "none" {
				errs = append(errs, FieldError{Path: fieldPKMode, Msg: `upsert needs a primary key: set pk_mode to record_key or record_value, or insert_mode = "insert"`})
			}
			if pk == "record_value" && len(p.Strings(fieldPKFields)) == 0 {
				errs = append(errs, FieldError{Path: fieldPKFields, Msg: "pk_mode record_value needs the key columns: name them in pk_fields"})
			}
			if len(errs) > 0 {
				return nil, &ConfigError{Fields: errs}
			}
			return &pgSink{p: p}, nil
		},
	}
}

type pgSink struct{ p *Parsed }

// Tasks returns max identical tasks: they share the partitions through the
// consumer group, and a key always goes to the same partition.
func (s *pgSink) Tasks(max int) ([]Conf, error) {
	out := make([]Conf, max)
	for i := range out {
		out[i] = confOf(s.p)
	}
	return out, nil
}

func (s *pgSink) NewTask(c Conf) (SinkTask, error) {
	p := ParsedConf(c)
	dsn, err := resolveDSN(c)
	if err != nil {
		return nil, err
	}
	return &pgSinkTask{
		dsn: dsn, table: p.String(fieldTable), upsert: p.String(fieldInsertMode) == "upsert",
		pkMode: p.String(fieldPKMode), pkFields: p.Strings(fieldPKFields), deletes: p.Bool(fieldDeleteEnabled),
		autoCreate: p.Bool(fieldAutoCreate), autoEvolve: p.Bool(fieldAutoEvolve), exactlyOnce: p.Bool(fieldExactlyOnce),
		tables: map[string]*pgTable{},
	}, nil
}

// pgSinkTask buffers row changes from Put and applies them in Flush.
type pgSinkTask struct {
	dsn, table      string
	upsert, deletes bool
	pkMode          string
	pkFields        []string
	autoCreate      bool
	autoEvolve      bool
	exactlyOnce     bool
	name            string
	conn            *pgx.Conn
	tables          map[string]*pgTable // by quoted name: columns known
	done            map[tp]int64        // exactly_once: next offset per partition, from the table
	pending         []rowChange
	pendingOffs     map[tp]int64
}

type tp struct {
	topic     string
	partition int32
}

// rowChange is one record as a row change: an upsert of row, or a delete of
// the row with key pk (row holds the key columns).
type rowChange struct {
	table  string // quoted
	row    map[string]any
	pk     []string // key column names, sorted
	delete bool
}

// pgTable is what the sink knows of a target table.
type pgTable struct {
	quoted string
	cols   map[string]string // name → format_type
}

func (t *pgSinkTask) Start(ctx context.Context, tc TaskContext) error {
	t.name = tc.Name()
	if err := t.connect(ctx); err != nil {
		return err
	}
	if t.exactlyOnce {
		if err := t.loadOffsets(ctx); err != nil {
			t.Close()
			t.conn = nil
			return err
		}
	}
	return nil
}

func (t *pgSinkTask) connect(ctx context.Context) error {
	if t.conn != nil && !t.conn.IsClosed() {
		return nil
	}
	c, err := pgConnectSQL(ctx, t.dsn)
	if err != nil {
		return err
	}
	t.conn = c
	t.tables = map[string]*pgTable{}
	return nil
}

// loadOffsets creates the offsets table when missing and reads this
// connector's offsets.
func (t *pgSinkTask) loadOffsets(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	_, err := t.conn.Exec(qctx, `CREATE TABLE IF NOT EXISTS `+SinkOffsetsTable+` (
	connector text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
	PRIMARY KEY (connector, topic, partition))`)
	if err != nil {
		return pgErr(fmt.Errorf("creating %s for exactly_once: %w", SinkOffsetsTable, err))
	}
	rows, err := t.conn.Query(qctx, `SELECT topic, partition, next_offset FROM `+SinkOffsetsTable+` WHERE connector = $1`, t.name)
	if err != nil {
		return pgErr(fmt.Errorf("reading %s: %w", SinkOffsetsTable, err))
	}
	defer rows.Close()
	t.done = map[tp]int64{}
	for rows.Next() {
		var k tp
		var off int64
		if err := rows.Scan(&k.topic, &k.partition, &off); err != nil {
			return err
		}
		t.done[k] = off
	}
	return rows.Err()
}

func (t *pgSinkTask) Put(ctx context.Context, recs []*Record) error {
	for i, r := range recs {
		if t.exactlyOnce {
			k := tp{r.Topic, r.Partition}
			if r.Offset < t.done[k] {
				continue // applied in an earlier transaction
			}
			if t.pendingOffs == nil {
				t.pendingOffs = map[tp]int64{}
			}
			t.pendingOffs[k] = r.Offset + 1
		}
		ch, ok, err := t.change(r)
		if err != nil {
			return &RecordError{Index: i, Err: err}
		}
		if ok {
			t.pending = append(t.pending, ch)
		}
	}
	return nil
}

// tableFor returns the target table of a topic, quoted.
func (t *pgSinkTask) tableFor(topic string) string {
	name := t.table
	if name == "" {
		name = strings.NewReplacer(".", "_", "-", "_").Replace(topic)
	} else {
		name = strings.ReplaceAll(name, "${topic}", topic)
	}
	return quoteTable(name)
}

// change turns a record into a row change; false when there is nothing to
// apply (a tombstone with deletes disabled).
func (t *pgSinkTask) change(r *Record) (rowChange, bool, error) {
	ch := rowChange{table: t.tableFor(r.Topic)}
	val := r.Value
	if raw, ok := val.(RawJSON); ok {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return ch, false, fmt.Errorf("value is not JSON: %v", err)
		}
		val = v
	}
	var before map[string]any
	if env, ok := val.(map[string]any); ok && isDebezium(env) {
		op, _ := env["op"].(string)
		before, _ = env["before"].(map[string]any)
		switch op {
		case "d":
			val = nil
		case "c", "r", "u":
			after, ok := env["after"].(map[string]any)
			if !ok {
				return ch, false, fmt.Errorf("Debezium %q event without an after object", op)
			}
			val = after
		default: // "t" (truncate), "m" (message): nothing to apply
			return ch, false, nil
		}
	}
	if val == nil {
		if !t.deletes || t.pkMode == "none" {
			return ch, false, nil
		}
		ch.delete = true
		ch.row = map[string]any{}
		if err := t.keyColumns(r.Key, before, ch.row); err != nil {
			return ch, false, err
		}
	} else {
		m, ok := val.(map[string]any)
		if !ok {
			return ch, false, fmt.Errorf("value is %s, not a JSON object: postgres-sink writes objects as rows", spec.TypeName(val))
		}
		ch.row = make(map[string]any, len(m)+1)
		for k, v := range m {
			if s, ok := v.(string); ok && s == debeziumUnavailable {
				continue // TOAST column left unchanged: keep the stored value
			}
			ch.row[k] = v
		}
		switch t.pkMode {
		case "record_key":
			if err := t.keyColumns(r.Key, nil, ch.row); err != nil {
				return ch, false, err
			}
		case "record_value":
			for _, f := range t.pkFields {
				if ch.row[f] == nil {
					return ch, false, fmt.Errorf("value has no primary key field %q (pk_fields)", f)
				}
			}
		}
	}
	switch t.pkMode {
	case "record_key":
		ch.pk = t.keyNames(r.Key, before)
	case "record_value":
		ch.pk = t.pkFields
	}
	ch.pk = append([]string(nil), ch.pk...)
	sort.Strings(ch.pk)
	return ch, true, nil
}

// isDebezium says whether a value is a Debezium change event envelope.
func isDebezium(m map[string]any) bool {
	op, ok := m["op"].(string)
	if !ok || len(op) != 1 {
		return false
	}
	_, hasSrc := m["source"]
	_, hasAfter := m["after"]
	_, hasBefore := m["before"]
	return hasSrc && (hasAfter || hasBefore)
}

// keyNames returns the primary key column names for a record key.
func (t *pgSinkTask) keyNames(key any, before map[string]any) []string {
	if len(t.pkFields) > 0 {
		return t.pkFields
	}
	km, _ := asKeyMap(key)
	names := make([]string, 0, len(km))
	for k := range km {
		names = append(names, k)
	}
	return names
}

// keyColumns copies the key's columns into row: an object key's fields
// (pk_fields, default all), or a primitive under the single pk_fields name;
// for a delete without a usable key, the Debezium before image.
func (t *pgSinkTask) keyColumns(key any, before map[string]any, row map[string]any) error {
	if key == nil && before != nil && len(t.pkFields) > 0 {
		for _, f := range t.pkFields {
			if before[f] == nil {
				return fmt.Errorf("delete without a key and without %q in its before image", f)
			}
			row[f] = before[f]
		}
		return nil
	}
	km, isMap := asKeyMap(key)
	switch {
	case key == nil:
		return fmt.Errorf("record has no key: pk_mode record_key needs one (or use pk_mode record_value)")
	case isMap:
		names := t.pkFields
		if len(names) == 0 {
			if len(km) == 0 {
				return fmt.Errorf("record key is an empty object: it names no primary key column")
			}
			for k := range km {
				names = append(names, k)
			}
		}
		for _, f := range names {
			v, ok := km[f]
			if !ok || v == nil {
				return fmt.Errorf("record key has no field %q (pk_fields)", f)
			}
			row[f] = v
		}
	default:
		if len(t.pkFields) != 1 {
			return fmt.Errorf("record key is a %s, not an object: name its column with one pk_fields entry", spec.TypeName(key))
		}
		row[t.pkFields[0]] = key
	}
	return nil
}

func asKeyMap(key any) (map[string]any, bool) {
	switch k := key.(type) {
	case map[string]any:
		return k, true
	case RawJSON:
		var m map[string]any
		if json.Unmarshal(k, &m) == nil {
			return m, true
		}
	}
	return nil, false
}

func (t *pgSinkTask) Close() error {
	if t.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return t.conn.Close(ctx)
}
