package connect

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SlotInfo describes the replication slot of a postgres-cdc connector.
type SlotInfo struct {
	Slot     string `json:"slot"`
	Database string `json:"database"`
	// Exists is false when the slot is not (or no longer) on the server.
	Exists bool `json:"exists"`
	// Active is true while a connection streams from the slot.
	Active           bool   `json:"active"`
	ConfirmedLSN     string `json:"confirmed_lsn,omitempty"`
	WALRetainedBytes int64  `json:"wal_retained_bytes"`
}

// postgresSlotConf parses a postgres-cdc connector table and returns its
// connection string and slot name.
func postgresSlotConf(reg *Registry, table map[string]any) (dsn, slot string, err error) {
	j, err := parseJob(reg, table)
	if err != nil {
		return "", "", err
	}
	if j.plugin.Name != "postgres-cdc" {
		return "", "", fmt.Errorf("connector %q is a %s, not a postgres-cdc: it has no replication slot", j.name, j.plugin.Name)
	}
	dsn, err = resolveDSN(confOf(j.p))
	return dsn, j.p.String(fieldSlot), err
}

// PostgresSlot reads the replication slot of a postgres-cdc connector table
// from its database (one connection, bounded by ctx and 30s).
func PostgresSlot(ctx context.Context, reg *Registry, table map[string]any) (SlotInfo, error) {
	dsn, slot, err := postgresSlotConf(reg, table)
	if err != nil {
		return SlotInfo{}, err
	}
	c, err := pgConnectSQL(ctx, dsn)
	if err != nil {
		return SlotInfo{}, err
	}
	defer c.Close(context.Background())
	qctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	info := SlotInfo{Slot: slot, Database: c.Config().Database}
	err = c.QueryRow(qctx, `SELECT active, coalesce(confirmed_flush_lsn::text, ''), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&info.Active, &info.ConfirmedLSN, &info.WALRetainedBytes)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return info, nil
	case err != nil:
		return info, fmt.Errorf("reading replication slot %s: %w", slot, err)
	}
	info.Exists = true
	return info, nil
}

// DropPostgresSlot drops the replication slot of a postgres-cdc connector
// table. PostgreSQL refuses while the slot is active (the connector
// running). The WAL it retained is released; the connector cannot resume
// from it and must snapshot again (reset its offsets).
func DropPostgresSlot(ctx context.Context, reg *Registry, table map[string]any) error {
	dsn, slot, err := postgresSlotConf(reg, table)
	if err != nil {
		return err
	}
	c, err := pgConnectSQL(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	qctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	if _, err := c.Exec(qctx, "SELECT pg_drop_replication_slot($1)", slot); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55006" {
			return fmt.Errorf("replication slot %s is in use: stop the connector (or whatever streams from it) first: %s", slot, pe.Message)
		}
		return fmt.Errorf("dropping replication slot %s: %w", slot, err)
	}
	return nil
}
