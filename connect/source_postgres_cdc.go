package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Keys of postgres-cdc.
const (
	fieldTables            = "tables"
	fieldTopicPrefix       = "topic_prefix"
	fieldSlot              = "slot"
	fieldPublication       = "publication"
	fieldCreatePublication = "create_publication"
	fieldSnapshotMode      = "snapshot_mode"
	fieldHeartbeatInterval = "heartbeat_interval"
	fieldTombstones        = "tombstones_on_delete"
	fieldMaxBatch          = "max_batch"
	fieldSlotWarnBytes     = "slot_warn_bytes"
)

// Snapshot offsets values.
const (
	snapInProgress = "in_progress"
	snapCompleted  = "completed"
)

func postgresCDCPlugin() *Plugin {
	return &Plugin{
		Name:    "postgres-cdc",
		Version: "1.0",
		Spec: NewSpec("Capture the row changes of PostgreSQL tables by logical replication (pgoutput) into topics PREFIX.SCHEMA.TABLE, as Debezium's PostgreSQL connector does: its envelope (before, after, source, op c/u/d/r, ts_ms), the primary key as the record key, a tombstone after each delete. An initial snapshot consistent with the slot's start, then streaming; the slot's confirmed position advances only after Kafka acknowledged every change up to it. One task.",
			append(dsnFields(),
				NewField(fieldTables, TypeStrings).Description(`Captured tables, schema-qualified ("public.customers"); each needs a primary key.`),
				NewField(fieldTopicPrefix, TypeString).Description("Topic prefix: changes of public.customers go to PREFIX.public.customers."),
				NewField(fieldSlot, TypeString).Description("Replication slot, created when missing (letters, digits and underscores)."),
				NewField(fieldPublication, TypeString).Default("").Description("Publication, created for the tables when missing (see create_publication); default the slot's name."),
				NewField(fieldCreatePublication, TypeBool).Default(true).Description("Create the publication when it does not exist; false: a missing publication fails the task."),
				NewField(fieldSnapshotMode, TypeString).Default("initial").Enum("initial", "never", "initial_only").Description(`"initial": snapshot the tables (op r) when no snapshot completed yet, then stream; "never": stream only; "initial_only": snapshot, then stop.`),
				NewField(fieldHeartbeatInterval, TypeDuration).Default("10s").Description("When the captured tables are idle, a record to __kdeck-heartbeat.PREFIX this often carries the server's WAL position, so the slot advances and WAL does not pile up; 0 disables."),
				NewField(fieldTombstones, TypeBool).Default(true).Description("Follow each delete with a tombstone (the key with a null value), for compaction."),
				NewField(fieldMaxBatch, TypeInt).Default(int64(4096)).AtLeast(1).Description("Most changes per poll."),
				NewField(fieldSlotWarnBytes, TypeInt).Default(int64(1<<30)).AtLeast(1).Description("Status warns when the slot retains more WAL than this many bytes."),
			)...),
		NewSource: func(p *Parsed) (SourceConnector, error) {
			errs := checkDSNFields(p)
			if len(p.Strings(fieldTables)) == 0 {
				errs = append(errs, FieldError{Path: fieldTables, Msg: "name at least one table, such as public.customers"})
			}
			for _, tb := range p.Strings(fieldTables) {
				if strings.Count(tb, ".") != 1 {
					errs = append(errs, FieldError{Path: fieldTables, Msg: fmt.Sprintf("%q is not schema.table (for example public.%s)", tb, tb)})
				}
			}
			if p.String(fieldTopicPrefix) == "" {
				errs = append(errs, FieldError{Path: fieldTopicPrefix, Msg: "must not be empty"})
			}
			if !validSlotName(p.String(fieldSlot)) {
				errs = append(errs, FieldError{Path: fieldSlot, Msg: fmt.Sprintf("%q is not a slot name: use lower-case letters, digits and underscores", p.String(fieldSlot))})
			}
			if len(errs) > 0 {
				return nil, &ConfigError{Fields: errs}
			}
			return &pgCDC{p: p}, nil
		},
	}
}

func validSlotName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

type pgCDC struct{ p *Parsed }

// Tasks returns one task: a replication slot has one reader.
func (s *pgCDC) Tasks(int) ([]Conf, error) { return []Conf{confOf(s.p)}, nil }

func (s *pgCDC) NewTask(c Conf) (SourceTask, error) {
	p := ParsedConf(c)
	dsn, err := resolveDSN(c)
	if err != nil {
		return nil, err
	}
	pub := p.String(fieldPublication)
	if pub == "" {
		pub = p.String(fieldSlot)
	}
	t := &pgCDCTask{
		dsn: dsn, tables: p.Strings(fieldTables), prefix: p.String(fieldTopicPrefix), slot: p.String(fieldSlot),
		pub: pub, createPub: p.Bool(fieldCreatePublication), mode: p.String(fieldSnapshotMode),
		heartbeat: p.Duration(fieldHeartbeatInterval), tombstones: p.Bool(fieldTombstones),
		maxBatch: int(p.Int(fieldMaxBatch)), warnBytes: p.Int(fieldSlotWarnBytes),
		rels: map[uint32]*pglogrepl.RelationMessage{},
	}
	t.part = map[string]any{"server": t.prefix}
	return t, nil
}

// pgCDCTask is one replication stream: a snapshot (rows of each table in
// an exported snapshot), then the slot's changes.
type pgCDCTask struct {
	dsn, prefix, slot, pub string
	tables                 []string
	createPub, tombstones  bool
	mode                   string
	heartbeat              time.Duration
	maxBatch               int
	warnBytes              int64
	part                   map[string]any
	db                     string

	sql   *pgx.Conn      // catalog, snapshot
	repl  *pgconn.PgConn // replication protocol
	types map[uint32]pgType
	keys  map[string][]string // "schema.table" → primary key columns

	// snapshot state
	snapTables []string
	snapRows   pgx.Rows
	snapTx     pgx.Tx
	snapLSN    pglogrepl.LSN
	held       *Record      // the last row read, handed out with the next
	heldEv     *changeEvent // its event, encoded when handed out
	snapXid    uint32       // the snapshot transaction's id (source.txId of op r)
	snapRowsN  int          // rows read so far
	tableRowsN int          // rows read of the current table

	// streaming state
	streaming   bool
	rels        map[uint32]*pglogrepl.RelationMessage
	txBuf       []*Record // records of the open transaction not handed out
	inTx        bool
	txXid       uint32
	txTime      time.Time
	safe        pglogrepl.LSN // end of the last transaction whose records were all handed out
	lastCommit  pglogrepl.LSN // end of the last transaction streamed (source.sequence)
	walEnd      pglogrepl.LSN // the server's position from the last message
	lastHB      time.Time
	confirmed   atomic.Uint64 // saved after Kafka acknowledged: the slot may advance to it
	sentFlush   pglogrepl.LSN
	lastStatus  time.Time
	slotInfo    sync.Mutex
	slotDetail  map[string]string
	lastSlotChk time.Time
}

func (t *pgCDCTask) Start(ctx context.Context, tc TaskContext) (err error) {
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if t.sql, err = pgConnectSQL(ctx, t.dsnWith()); err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	t.db = t.sql.Config().Database
	if t.types, err = loadTypes(qctx, t.sql); err != nil {
		return pgErr(err)
	}
	if err := t.checkTables(qctx); err != nil {
		return err
	}
	snapDone, err := t.restoreOffset(tc.Offset(t.part))
	if err != nil {
		return err
	}
	if t.mode == "initial_only" {
		if snapDone {
			return nil // Poll ends the task
		}
		return t.beginSnapshot(qctx, "")
	}
	if err := t.ensurePublication(qctx); err != nil {
		return err
	}
	var exists bool
	if err := t.sql.QueryRow(qctx, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)", t.slot).Scan(&exists); err != nil {
		return pgErr(fmt.Errorf("looking up replication slot %s: %w", t.slot, err))
	}
	if !exists && t.safe != 0 {
		return fmt.Errorf("replication slot %q no longer exists, but the connector has streamed up to LSN %s: changes since then are lost; reset the connector's offsets ('kdeck connect offsets reset') to snapshot again", t.slot, t.safe)
	}
	if t.repl, _, err = pgConnect(ctx, t.dsnWith(), map[string]string{"replication": "database"}); err != nil {
		return err
	}
	needSnap := t.mode == "initial" && !snapDone
	if !exists {
		action := "NOEXPORT_SNAPSHOT"
		if needSnap {
			action = "EXPORT_SNAPSHOT"
		}
		res, err := pglogrepl.CreateReplicationSlot(qctx, t.repl, t.slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{SnapshotAction: action})
		if err != nil {
			return pgErr(fmt.Errorf("creating replication slot %s: %w", t.slot, err))
		}
		if needSnap {
			lsn, _ := pglogrepl.ParseLSN(res.ConsistentPoint)
			t.snapLSN = lsn
			return t.beginSnapshot(qctx, res.SnapshotName)
		}
		return t.startStreaming(ctx)
	}
	if needSnap {
		// A slot that exists without a completed snapshot (a crash
		// mid-snapshot, or a slot made elsewhere): snapshot now and stream
		// from the slot's position; rows changed since appear twice,
		// none is lost.
		var lsn string
		if err := t.sql.QueryRow(qctx, "SELECT coalesce(confirmed_flush_lsn, '0/0')::text FROM pg_replication_slots WHERE slot_name = $1", t.slot).Scan(&lsn); err != nil {
			return pgErr(err)
		}
		t.snapLSN, _ = pglogrepl.ParseLSN(lsn)
		return t.beginSnapshot(qctx, "")
	}
	return t.startStreaming(ctx)
}

// restoreOffset resumes from the saved offset off (nil when none): the LSN
// confirmed to the slot and, for a streaming offset, the last transaction
// streamed. snapDone reports whether a snapshot completed before (streaming
// offsets have no snapshot key).
func (t *pgCDCTask) restoreOffset(off map[string]any) (snapDone bool, err error) {
	snapDone = off != nil && (off["snapshot"] == snapCompleted || off["snapshot"] == nil && off["lsn"] != nil)
	if off == nil {
		return snapDone, nil
	}
	if s, _ := off["lsn"].(string); s != "" {
		if t.safe, err = pglogrepl.ParseLSN(s); err != nil {
			return false, fmt.Errorf("saved offset has a bad lsn %q: reset the connector's offsets", s)
		}
		t.confirmed.Store(uint64(t.safe))
		if off["snapshot"] == nil {
			t.lastCommit = t.safe
		}
	}
	return snapDone, nil
}

// dsnWith returns the connection string with the session settings the
// text forms of values depend on.
func (t *pgCDCTask) dsnWith() string {
	sep := "?"
	if strings.Contains(t.dsn, "?") {
		sep = "&"
	}
	if strings.Contains(t.dsn, "://") {
		return t.dsn + sep + "timezone=UTC&datestyle=ISO&application_name=kdeck-cdc"
	}
	return t.dsn + " timezone=UTC datestyle=ISO application_name=kdeck-cdc"
}

// checkTables verifies each table exists and has a primary key.
func (t *pgCDCTask) checkTables(ctx context.Context) error {
	t.keys = map[string][]string{}
	for _, tb := range t.tables {
		var exists bool
		if err := t.sql.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", quoteTable(tb)).Scan(&exists); err != nil {
			return pgErr(err)
		}
		if !exists {
			return fmt.Errorf("table %s does not exist in database %s: create it or fix tables", tb, t.db)
		}
		rows, err := t.sql.Query(ctx, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`, quoteTable(tb))
		if err != nil {
			return pgErr(err)
		}
		var cols []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			cols = append(cols, c)
		}
		rows.Close()
		if len(cols) == 0 {
			return fmt.Errorf("table %s has no primary key: postgres-cdc keys records by it; add one (ALTER TABLE %s ADD PRIMARY KEY (...))", tb, tb)
		}
		t.keys[tb] = cols
	}
	return nil
}

// ensurePublication creates the publication when missing (and allowed)
// and checks it covers every table.
func (t *pgCDCTask) ensurePublication(ctx context.Context) error {
	var exists bool
	if err := t.sql.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", t.pub).Scan(&exists); err != nil {
		return pgErr(err)
	}
	if !exists {
		if !t.createPub {
			return fmt.Errorf("publication %q does not exist: create it (CREATE PUBLICATION %s FOR TABLE %s) or set create_publication = true", t.pub, t.pub, strings.Join(t.tables, ", "))
		}
		q := make([]string, len(t.tables))
		for i, tb := range t.tables {
			q[i] = quoteTable(tb)
		}
		if _, err := t.sql.Exec(ctx, fmt.Sprintf("CREATE PUBLICATION %s FOR TABLE %s", quoteIdent(t.pub), strings.Join(q, ", "))); err != nil {
			return pgErr(fmt.Errorf("creating publication %s: %w", t.pub, err))
		}
		return nil
	}
	for _, tb := range t.tables {
		sn := strings.SplitN(tb, ".", 2)
		var in bool
		if err := t.sql.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)", t.pub, sn[0], sn[1]).Scan(&in); err != nil {
			return pgErr(err)
		}
		if !in {
			return fmt.Errorf("publication %q does not include table %s: ALTER PUBLICATION %s ADD TABLE %s", t.pub, tb, t.pub, tb)
		}
	}
	return nil
}

func (t *pgCDCTask) Poll(ctx context.Context) ([]*Record, error) {
	if t.snapTx != nil {
		return t.pollSnapshot(ctx)
	}
	if t.mode == "initial_only" {
		return nil, ErrEndOfInput
	}
	if t.repl == nil {
		if err := t.reconnect(ctx); err != nil {
			return nil, err
		}
	}
	return t.pollStream(ctx)
}

// Committed records the LSN Kafka acknowledged and the offset store saved:
// the slot may advance to it (sent with the next status update).
func (t *pgCDCTask) Committed(offs []SourceOffset) {
	for _, o := range offs {
		s, _ := o.Offset["lsn"].(string)
		lsn, err := pglogrepl.ParseLSN(s)
		if err != nil {
			continue
		}
		for {
			cur := t.confirmed.Load()
			if uint64(lsn) <= cur || t.confirmed.CompareAndSwap(cur, uint64(lsn)) {
				break
			}
		}
	}
	if t.repl != nil && t.streaming {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = t.sendStatus(ctx, false)
		cancel()
	}
}

// Detail reports the slot: its confirmed LSN, the WAL it retains and a
// warning past slot_warn_bytes (read at most every 5s).
func (t *pgCDCTask) Detail() map[string]string {
	t.slotInfo.Lock()
	defer t.slotInfo.Unlock()
	if time.Since(t.lastSlotChk) < 5*time.Second && t.slotDetail != nil {
		return t.slotDetail
	}
	t.lastSlotChk = time.Now()
	d := map[string]string{"slot": t.slot, "publication": t.pub, "acked_lsn": pglogrepl.LSN(t.confirmed.Load()).String()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgConnectSQL(ctx, t.dsn)
	if err == nil {
		var conf string
		var retained int64
		err = c.QueryRow(ctx, `SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
FROM pg_replication_slots WHERE slot_name = $1`, t.slot).Scan(&conf, &retained)
		c.Close(ctx)
		if err == nil {
			d["confirmed_lsn"], d["wal_retained_bytes"] = conf, fmt.Sprint(retained)
			if retained > t.warnBytes {
				d["warning"] = fmt.Sprintf("slot %s retains %d bytes of WAL (more than slot_warn_bytes %d): is the connector keeping up, or is the slot abandoned?", t.slot, retained, t.warnBytes)
			}
		} else if errors.Is(err, pgx.ErrNoRows) {
			d["warning"] = fmt.Sprintf("replication slot %s does not exist", t.slot)
		}
	}
	if err != nil && d["warning"] == "" {
		d["slot_error"] = err.Error()
	}
	t.slotDetail = d
	return d
}

func (t *pgCDCTask) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.snapRows != nil {
		t.snapRows.Close()
		t.snapRows = nil
	}
	if t.snapTx != nil {
		t.snapTx.Rollback(ctx)
		t.snapTx = nil
	}
	if t.repl != nil {
		if t.streaming {
			_ = t.sendStatus(ctx, true)
		}
		t.repl.Close(ctx)
		t.repl = nil
	}
	if t.sql != nil {
		t.sql.Close(ctx)
		t.sql = nil
	}
	return nil
}
