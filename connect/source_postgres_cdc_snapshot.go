package connect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

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
