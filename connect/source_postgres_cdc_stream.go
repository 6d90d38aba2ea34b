package connect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

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
