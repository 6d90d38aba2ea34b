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
	"github.com/jackc/pgx/v5/pgproto3"
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
				errs = append(errs, FieldError{fieldTables, "name at least one table, such as public.customers"})
			}
			for _, tb := range p.Strings(fieldTables) {
				if strings.Count(tb, ".") != 1 {
					errs = append(errs, FieldError{fieldTables, fmt.Sprintf("%q is not schema.table (for example public.%s)", tb, tb)})
				}
			}
			if p.String(fieldTopicPrefix) == "" {
				errs = append(errs, FieldError{fieldTopicPrefix, "must not be empty"})
			}
			if !validSlotName(p.String(fieldSlot)) {
				errs = append(errs, FieldError{fieldSlot, fmt.Sprintf("%q is not a slot name: use lower-case letters, digits and underscores", p.String(fieldSlot))})
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
func (s *pgCDC) Tasks(int) ([]Conf, error) { return []Conf{s.p.Conf()}, nil }

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
	off := tc.Offset(t.part)
	// Streaming offsets have no snapshot key: a snapshot completed before.
	snapDone := off != nil && (off["snapshot"] == snapCompleted || off["snapshot"] == nil && off["lsn"] != nil)
	if off != nil {
		if s, _ := off["lsn"].(string); s != "" {
			if t.safe, err = pglogrepl.ParseLSN(s); err != nil {
				return fmt.Errorf("saved offset has a bad lsn %q: reset the connector's offsets", s)
			}
			t.confirmed.Store(uint64(t.safe))
			if off["snapshot"] == nil {
				t.lastCommit = t.safe
			}
		}
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

// beginSnapshot opens a repeatable-read transaction (on the exported
// snapshot when given) and queues the tables.
func (t *pgCDCTask) beginSnapshot(ctx context.Context, snapshot string) error {
	tx, err := t.sql.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return pgErr(fmt.Errorf("starting the snapshot: %w", err))
	}
	if snapshot != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snapshot+"'"); err != nil {
			tx.Rollback(ctx)
			return pgErr(fmt.Errorf("using the exported snapshot: %w", err))
		}
	}
	var xid int64
	if err := tx.QueryRow(ctx, "SELECT txid_current()").Scan(&xid); err == nil {
		t.snapXid = uint32(xid)
	}
	t.snapTx = tx
	t.snapTables = append([]string(nil), t.tables...)
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

// pollSnapshot returns up to max_batch rows as op "r" records; the last row
// of the snapshot carries snapshot = completed in its offset.
func (t *pgCDCTask) pollSnapshot(ctx context.Context) ([]*Record, error) {
	var out []*Record
	emit := func(r *Record, ev *changeEvent) {
		if t.held != nil {
			t.held.Value = t.heldEv.value()
			out = append(out, t.held)
		}
		t.held, t.heldEv = r, ev
	}
	for len(out) < t.maxBatch {
		if t.snapRows == nil {
			if len(t.snapTables) == 0 {
				return t.finishSnapshot(ctx, out)
			}
			tb := t.snapTables[0]
			t.snapTables = t.snapTables[1:]
			rows, err := t.snapTx.Query(ctx, "SELECT * FROM "+quoteTable(tb), pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				return nil, pgErr(fmt.Errorf("snapshot of %s: %w", tb, err))
			}
			t.snapRows = rows
			t.tableRowsN = 0
			t.snapTables = append([]string{tb}, t.snapTables...) // current table first
			continue
		}
		if !t.snapRows.Next() {
			err := t.snapRows.Err()
			t.snapRows.Close()
			t.snapRows = nil
			if err != nil {
				return nil, pgErr(fmt.Errorf("snapshot of %s: %w", t.snapTables[0], err))
			}
			t.snapTables = t.snapTables[1:]
			if t.heldEv != nil && len(t.snapTables) > 0 && t.tableRowsN > 0 && t.heldEv.snapshot != "first" {
				t.heldEv.snapshot = "last_in_data_collection"
			}
			continue
		}
		tb := t.snapTables[0]
		fds := t.snapRows.FieldDescriptions()
		raw := t.snapRows.RawValues()
		row := &pgRow{cols: make([]string, len(fds)), vals: make([]any, len(fds))}
		for i, fd := range fds {
			row.cols[i] = fd.Name
			if raw[i] == nil {
				continue
			}
			v, err := debeziumValue(string(raw[i]), fd.DataTypeOID, fd.TypeModifier, t.types)
			if err != nil {
				return nil, fmt.Errorf("snapshot of %s, column %s: %w", tb, fd.Name, err)
			}
			row.vals[i] = v
		}
		sn := strings.SplitN(tb, ".", 2)
		now := time.Now()
		// Debezium's marks: first, first_in_data_collection, true,
		// last_in_data_collection (set when a table ends), last.
		mark := "true"
		switch {
		case t.snapRowsN == 0:
			mark = "first"
		case t.tableRowsN == 0:
			mark = "first_in_data_collection"
		}
		t.snapRowsN++
		t.tableRowsN++
		ev := &changeEvent{after: row, op: "r", prefix: t.prefix, db: t.db, schema: sn[0], table: sn[1], lsn: t.snapLSN, xid: t.snapXid, ts: now, snapshot: mark, at: now}
		rec := t.record(ev, t.keys[tb])
		rec.SourceOffset = map[string]any{"lsn": t.snapLSN.String(), "snapshot": snapInProgress}
		emit(rec, ev)
	}
	return out, nil
}

// finishSnapshot commits the snapshot transaction, marks the last row and
// starts streaming.
func (t *pgCDCTask) finishSnapshot(ctx context.Context, out []*Record) ([]*Record, error) {
	if err := t.snapTx.Commit(ctx); err != nil {
		return nil, pgErr(fmt.Errorf("ending the snapshot: %w", err))
	}
	t.snapTx = nil
	if t.held != nil {
		t.held.SourceOffset = map[string]any{"lsn": t.snapLSN.String(), "snapshot": snapCompleted}
		t.heldEv.snapshot = "last"
		t.held.Value = t.heldEv.value()
		out = append(out, t.held)
		t.held, t.heldEv = nil, nil
	}
	t.safe = max(t.safe, t.snapLSN)
	if t.mode == "initial_only" {
		return out, ErrEndOfInput
	}
	if err := t.startStreaming(ctx); err != nil {
		return out, err
	}
	return out, nil
}

// startStreaming starts the replication stream from the saved position
// (the server starts at the slot's confirmed position when that is later).
func (t *pgCDCTask) startStreaming(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	err := pglogrepl.StartReplication(sctx, t.repl, t.slot, t.safe, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(t.pub, "'", "''") + "'"},
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42704" {
			return fmt.Errorf("replication slot %q does not exist (dropped?): reset the connector's offsets to snapshot again: %w", t.slot, err)
		}
		return pgErr(fmt.Errorf("starting replication from slot %s: %w", t.slot, err))
	}
	t.streaming = true
	t.lastStatus = time.Now()
	t.lastHB = time.Now()
	return nil
}

// reconnect opens a new replication connection after a lost one and
// resumes from the last transaction handed out whole.
func (t *pgCDCTask) reconnect(ctx context.Context) error {
	c, _, err := pgConnect(ctx, t.dsnWith(), map[string]string{"replication": "database"})
	if err != nil {
		return err
	}
	t.repl = c
	t.rels = map[uint32]*pglogrepl.RelationMessage{}
	t.txBuf, t.inTx = nil, false
	if err := t.startStreaming(ctx); err != nil {
		t.repl.Close(context.Background())
		t.repl = nil
		return err
	}
	return nil
}

// pollStream reads replication messages for up to 200ms or max_batch
// records. Records of an open transaction carry the previous safe LSN;
// the last record of a transaction carries its end LSN.
func (t *pgCDCTask) pollStream(ctx context.Context) ([]*Record, error) {
	var out []*Record
	deadline := time.Now().Add(200 * time.Millisecond)
	for len(out) < t.maxBatch {
		if err := t.sendStatus(ctx, false); err != nil {
			return out, t.lost(err)
		}
		if hb := t.heartbeatRecord(); hb != nil {
			out = append(out, hb)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		if len(out) > 0 {
			// Records in hand: hand them out unless more follow at once
			// (latency over batching).
			wait = min(wait, 2*time.Millisecond)
		}
		rctx, cancel := context.WithTimeout(ctx, wait)
		msg, err := t.repl.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return out, nil
			}
			if pgconn.Timeout(err) {
				break
			}
			return out, t.lost(err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return out, fmt.Errorf("parsing a keepalive: %w", err)
				}
				t.walEnd = max(t.walEnd, ka.ServerWALEnd)
				if ka.ReplyRequested {
					if err := t.sendStatus(ctx, true); err != nil {
						return out, t.lost(err)
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return out, fmt.Errorf("parsing WAL data: %w", err)
				}
				recs, err := t.decode(xld)
				if err != nil {
					return out, err
				}
				out = append(out, recs...)
			}
		case *pgproto3.ErrorResponse:
			pe := pgconn.ErrorResponseToPgError(m)
			if pe.Code == "42704" {
				return out, fmt.Errorf("replication from slot %s stopped: %s: create the publication or fix the configuration", t.slot, pe.Message)
			}
			return out, pgErr(fmt.Errorf("replication from slot %s: %w", t.slot, pe))
		}
	}
	// Hand out the open transaction's records but its last, which gets
	// the transaction's end LSN at its commit.
	if n := len(t.txBuf); n > 1 {
		out = append(out, t.txBuf[:n-1]...)
		t.txBuf = append(t.txBuf[:0], t.txBuf[n-1])
	}
	return out, nil
}

// lost drops a broken replication connection: the next Poll reconnects.
func (t *pgCDCTask) lost(err error) error {
	if t.repl != nil {
		t.repl.Close(context.Background())
		t.repl = nil
	}
	return Retriable(fmt.Errorf("replication connection to PostgreSQL lost (reconnecting from LSN %s): %w", t.safe, err))
}

// decode turns one WAL message into records (for a commit, the open
// transaction's records).
func (t *pgCDCTask) decode(xld pglogrepl.XLogData) ([]*Record, error) {
	t.walEnd = max(t.walEnd, xld.ServerWALEnd)
	lm, err := pglogrepl.Parse(xld.WALData)
	if err != nil {
		return nil, fmt.Errorf("parsing a pgoutput message at %s: %w", xld.WALStart, err)
	}
	switch m := lm.(type) {
	case *pglogrepl.RelationMessage:
		t.rels[m.RelationID] = m
	case *pglogrepl.BeginMessage:
		t.inTx, t.txXid, t.txTime = true, m.Xid, m.CommitTime
	case *pglogrepl.CommitMessage:
		t.inTx = false
		end := m.TransactionEndLSN
		if n := len(t.txBuf); n > 0 {
			t.txBuf[n-1].SourceOffset = map[string]any{"lsn": end.String()}
		}
		out := t.txBuf
		t.txBuf = nil
		t.safe = max(t.safe, end)
		t.lastCommit = end
		return out, nil
	case *pglogrepl.InsertMessage:
		return nil, t.change(m.RelationID, "c", nil, m.Tuple, xld.WALStart)
	case *pglogrepl.UpdateMessage:
		return nil, t.change(m.RelationID, "u", m.OldTuple, m.NewTuple, xld.WALStart)
	case *pglogrepl.DeleteMessage:
		return nil, t.change(m.RelationID, "d", m.OldTuple, nil, xld.WALStart)
	}
	return nil, nil
}

// change adds the records of one row change to the open transaction.
func (t *pgCDCTask) change(relID uint32, op string, oldT, newT *pglogrepl.TupleData, lsn pglogrepl.LSN) error {
	rel := t.rels[relID]
	if rel == nil {
		return fmt.Errorf("change for unknown relation %d at %s", relID, lsn)
	}
	tuple := func(td *pglogrepl.TupleData) (*pgRow, error) {
		if td == nil {
			return nil, nil
		}
		row := &pgRow{cols: make([]string, len(rel.Columns)), vals: make([]any, len(rel.Columns))}
		for i, col := range rel.Columns {
			row.cols[i] = col.Name
			if i >= len(td.Columns) {
				continue
			}
			c := td.Columns[i]
			switch c.DataType {
			case 'u':
				row.vals[i] = debeziumUnavailable
			case 't':
				v, err := debeziumValue(string(c.Data), col.DataType, col.TypeModifier, t.types)
				if err != nil {
					return nil, fmt.Errorf("%s.%s column %s: %w", rel.Namespace, rel.RelationName, col.Name, err)
				}
				row.vals[i] = v
			}
		}
		return row, nil
	}
	before, err := tuple(oldT)
	if err != nil {
		return err
	}
	after, err := tuple(newT)
	if err != nil {
		return err
	}
	// The primary key, not the replica identity: under REPLICA IDENTITY
	// FULL every column is flagged as key.
	keyCols := t.keys[rel.Namespace+"."+rel.RelationName]
	if len(keyCols) == 0 {
		for _, c := range rel.Columns {
			if c.Flags&1 != 0 {
				keyCols = append(keyCols, c.Name)
			}
		}
	}
	off := map[string]any{"lsn": t.safe.String()}
	ev := &changeEvent{before: before, after: after, op: op, prefix: t.prefix, db: t.db, schema: rel.Namespace, table: rel.RelationName,
		lsn: lsn, lastCommit: t.lastCommit, xid: t.txXid, ts: t.txTime, snapshot: "false", at: time.Now()}
	rec := t.record(ev, keyCols)
	rec.Value = ev.value()
	rec.SourceOffset = off
	t.txBuf = append(t.txBuf, rec)
	if op == "d" && t.tombstones {
		t.txBuf = append(t.txBuf, &Record{Topic: rec.Topic, Partition: -1, Offset: -1, Key: rec.Key, Timestamp: rec.Timestamp,
			SourcePartition: t.part, SourceOffset: off})
	}
	return nil
}

// record builds the record of a change event; its value is encoded by the
// caller (a held snapshot row is encoded when handed out).
func (t *pgCDCTask) record(ev *changeEvent, keyCols []string) *Record {
	return &Record{
		Topic: t.prefix + "." + ev.schema + "." + ev.table, Partition: -1, Offset: -1, Key: ev.key(keyCols),
		Timestamp: ev.at, SourcePartition: t.part,
	}
}

// heartbeatRecord returns a heartbeat carrying the server's WAL position
// when the captured tables have been idle for heartbeat_interval.
func (t *pgCDCTask) heartbeatRecord() *Record {
	if t.heartbeat <= 0 || t.inTx || len(t.txBuf) > 0 || time.Since(t.lastHB) < t.heartbeat || t.walEnd <= t.safe {
		return nil
	}
	t.lastHB = time.Now()
	t.safe = t.walEnd
	return &Record{
		Topic: "__kdeck-heartbeat." + t.prefix, Partition: -1, Offset: -1,
		Key: map[string]any{"serverName": t.prefix}, Value: map[string]any{"ts_ms": time.Now().UnixMilli()},
		Timestamp: time.Now(), SourcePartition: t.part, SourceOffset: map[string]any{"lsn": t.safe.String()},
	}
}

// sendStatus tells the server the position Kafka acknowledged (the slot's
// confirmed flush LSN), at least every 10s, at once when it moved or when
// force is set.
func (t *pgCDCTask) sendStatus(ctx context.Context, force bool) error {
	conf := pglogrepl.LSN(t.confirmed.Load())
	if !force && conf == t.sentFlush && time.Since(t.lastStatus) < 10*time.Second {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := pglogrepl.SendStandbyStatusUpdate(sctx, t.repl, pglogrepl.StandbyStatusUpdate{WALWritePosition: conf, WALFlushPosition: conf, WALApplyPosition: conf})
	if err != nil {
		return err
	}
	t.sentFlush, t.lastStatus = conf, time.Now()
	return nil
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
