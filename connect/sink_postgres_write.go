package connect

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Flush applies every pending change in one transaction. On failure the
// changes stay pending, so the runtime's retry applies them again.
func (t *pgSinkTask) Flush(ctx context.Context) error {
	if len(t.pending) == 0 && len(t.pendingOffs) == 0 {
		return nil
	}
	if err := t.connect(ctx); err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(ctx, 2*pgTimeout)
	defer cancel()
	tx, err := t.conn.Begin(fctx)
	if err != nil {
		return t.connErr(fmt.Errorf("beginning a transaction: %w", err))
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit it is a no-op
	if err := t.apply(fctx, tx); err != nil {
		t.tables = map[string]*pgTable{} // what this transaction created is gone
		return t.connErr(err)
	}
	if t.exactlyOnce && len(t.pendingOffs) > 0 {
		b := &pgx.Batch{}
		for k, off := range t.pendingOffs {
			b.Queue(`INSERT INTO `+SinkOffsetsTable+` (connector, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
ON CONFLICT (connector, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`, t.name, k.topic, k.partition, off)
		}
		if err := tx.SendBatch(fctx, b).Close(); err != nil {
			return t.connErr(fmt.Errorf("writing %s: %w", SinkOffsetsTable, err))
		}
	}
	if err := tx.Commit(fctx); err != nil {
		return t.connErr(fmt.Errorf("committing: %w", err))
	}
	for k, off := range t.pendingOffs {
		t.done[k] = off
	}
	t.pending, t.pendingOffs = t.pending[:0], nil
	return nil
}

// connErr classifies err and drops a broken connection so that the retry
// reconnects.
func (t *pgSinkTask) connErr(err error) error {
	err = pgErr(err)
	if errors.Is(err, ErrRetriable) && t.conn != nil {
		t.conn.Close(context.Background())
		t.conn = nil
	}
	return err
}

// apply writes the pending changes, table by table in first-seen order: the
// last change per key wins (deletes, then upserts grouped by column set).
func (t *pgSinkTask) apply(ctx context.Context, tx pgx.Tx) error {
	var order []string
	byTable := map[string][]rowChange{}
	for _, ch := range t.pending {
		if _, ok := byTable[ch.table]; !ok {
			order = append(order, ch.table)
		}
		byTable[ch.table] = append(byTable[ch.table], ch)
	}
	stage := 0
	for _, name := range order {
		chs := byTable[name]
		tbl, err := t.ensureTable(ctx, tx, name, chs)
		if err != nil {
			return err
		}
		dels, ups := chs, chs
		if len(chs[0].pk) > 0 {
			dels, ups = collapse(chs, t.upsert)
		} else {
			dels = nil
		}
		groups := map[string][]rowChange{}
		var gorder []string
		for _, ch := range ups {
			sig := strings.Join(sortedKeys(ch.row), "\x00")
			if _, ok := groups[sig]; !ok {
				gorder = append(gorder, sig)
			}
			groups[sig] = append(groups[sig], ch)
		}
		if len(dels) > 0 {
			stage++
			if err := t.writeDeletes(ctx, tx, tbl, dels, stage); err != nil {
				return err
			}
		}
		for _, sig := range gorder {
			stage++
			if err := t.writeRows(ctx, tx, tbl, groups[sig], stage); err != nil {
				return err
			}
		}
	}
	return nil
}

// collapse turns a table's changes, in record order, into deletes (run
// first) and writes with the same outcome as applying them one by one: a
// delete drops the key's earlier writes; upserts of one key merge into one
// row (a later record's fields win; fields it lacks keep the earlier
// values, as separate upserts would leave them); inserts stay as they are,
// so a key inserted twice fails as it would one by one.
func collapse(chs []rowChange, upsert bool) (dels, writes []rowChange) {
	type keyState struct {
		deleted bool
		rows    []rowChange
	}
	states := map[string]*keyState{}
	var order []string
	for _, ch := range chs {
		k := keyString(ch)
		st := states[k]
		if st == nil {
			st = &keyState{}
			states[k] = st
			order = append(order, k)
		}
		if ch.delete {
			if !st.deleted {
				dels = append(dels, ch)
			}
			st.deleted, st.rows = true, nil
			continue
		}
		if upsert && len(st.rows) == 1 {
			merged := make(map[string]any, len(st.rows[0].row)+len(ch.row))
			for c, v := range st.rows[0].row {
				merged[c] = v
			}
			for c, v := range ch.row {
				merged[c] = v
			}
			ch.row = merged
			st.rows[0] = ch
			continue
		}
		st.rows = append(st.rows, ch)
	}
	for _, k := range order {
		writes = append(writes, states[k].rows...)
	}
	return dels, writes
}

func keyString(ch rowChange) string {
	var b strings.Builder
	for _, k := range ch.pk {
		s, _ := toBytes(ch.row[k])
		b.Write(s)
		b.WriteByte(0)
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ensureTable loads the table's columns, creating the table or adding
// columns when configured to.
func (t *pgSinkTask) ensureTable(ctx context.Context, tx pgx.Tx, name string, chs []rowChange) (*pgTable, error) {
	tbl := t.tables[name]
	if tbl == nil {
		cols, err := tableColumns(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if cols == nil {
			if !t.autoCreate {
				return nil, fmt.Errorf("table %s does not exist: create it, or set auto_create = true", name)
			}
			if err := t.createTable(ctx, tx, name, chs); err != nil {
				return nil, err
			}
			if cols, err = tableColumns(ctx, tx, name); err != nil {
				return nil, err
			}
		}
		tbl = &pgTable{quoted: name, cols: cols}
	}
	var missing []string
	sample := map[string]any{}
	for _, ch := range chs {
		for k, v := range ch.row {
			if _, ok := tbl.cols[k]; !ok {
				if _, seen := sample[k]; !seen {
					missing = append(missing, k)
				}
				if sample[k] == nil {
					sample[k] = v
				}
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if !t.autoEvolve {
			return nil, fmt.Errorf("table %s has no column %q: add it, or set auto_evolve = true", name, missing[0])
		}
		for _, c := range missing {
			if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", name, quoteIdent(c), pgTypeOf(sample[c]))); err != nil {
				return nil, fmt.Errorf("adding column %q to %s: %w", c, name, err)
			}
			tbl.cols[c] = pgTypeOf(sample[c])
		}
		// The columns of a rolled-back ALTER must not stay cached.
		delete(t.tables, name)
		return tbl, nil
	}
	t.tables[name] = tbl
	return tbl, nil
}

// tableColumns returns a table's columns and their types, or nil when the
// table does not exist.
func tableColumns(ctx context.Context, tx pgx.Tx, name string) (map[string]string, error) {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", name).Scan(&exists); err != nil {
		return nil, fmt.Errorf("looking up table %s: %w", name, err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, name)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", name, err)
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var c, ty string
		if err := rows.Scan(&c, &ty); err != nil {
			return nil, err
		}
		cols[c] = ty
	}
	return cols, rows.Err()
}

// createTable creates a table from the first non-null value of each column.
func (t *pgSinkTask) createTable(ctx context.Context, tx pgx.Tx, name string, chs []rowChange) error {
	types := map[string]string{}
	var pk []string
	for _, ch := range chs {
		if pk == nil {
			pk = ch.pk
		}
		for k, v := range ch.row {
			if ty, ok := types[k]; !ok || (ty == "text" && v != nil) {
				types[k] = pgTypeOf(v)
			}
		}
	}
	var defs []string
	for _, c := range sortedStrings(types) {
		defs = append(defs, quoteIdent(c)+" "+types[c])
	}
	if len(pk) > 0 {
		q := make([]string, len(pk))
		for i, c := range pk {
			q[i] = quoteIdent(c)
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(q, ", ")+")")
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s)", name, strings.Join(defs, ", "))); err != nil {
		return fmt.Errorf("creating table %s: %w", name, err)
	}
	return nil
}

func sortedStrings(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pgTypeOf is the column type auto_create and auto_evolve give a value.
func pgTypeOf(v any) string {
	switch x := v.(type) {
	case int64, int, int32:
		return "bigint"
	case float64:
		return "double precision"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "bigint"
		}
		return "numeric"
	case bool:
		return "boolean"
	case map[string]any, []any, RawJSON:
		return "jsonb"
	case []byte:
		return "bytea"
	}
	return "text"
}

// stageTable creates a temporary text table of n columns, dropped at commit.
func stageTable(ctx context.Context, tx pgx.Tx, id, n int) (string, []string, error) {
	name := fmt.Sprintf("kdeck_stage_%d", id)
	cols := make([]string, n)
	defs := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
		defs[i] = cols[i] + " text"
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (%s) ON COMMIT DROP", name, strings.Join(defs, ", "))); err != nil {
		return "", nil, fmt.Errorf("creating the staging table: %w", err)
	}
	return name, cols, nil
}

// copyStage COPYs rows (already text) into the staging table.
func copyStage(ctx context.Context, tx pgx.Tx, name string, cols []string, rows [][]any) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{name}, cols, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("COPY into the staging table: %w", err)
	}
	return nil
}

// writeRows stages a group of rows with the same columns and inserts or
// upserts them with one statement.
func (t *pgSinkTask) writeRows(ctx context.Context, tx pgx.Tx, tbl *pgTable, chs []rowChange, id int) error {
	cols := sortedKeys(chs[0].row)
	stage, sc, err := stageTable(ctx, tx, id, len(cols))
	if err != nil {
		return err
	}
	rows := make([][]any, len(chs))
	for i, ch := range chs {
		row := make([]any, len(cols))
		for j, c := range cols {
			s, err := pgText(ch.row[c], tbl.cols[c])
			if err != nil {
				return fmt.Errorf("column %q of %s (%s): %w", c, tbl.quoted, tbl.cols[c], err)
			}
			row[j] = s
		}
		rows[i] = row
	}
	if err := copyStage(ctx, tx, stage, sc, rows); err != nil {
		return err
	}
	qcols := make([]string, len(cols))
	sel := make([]string, len(cols))
	for i, c := range cols {
		qcols[i] = quoteIdent(c)
		sel[i] = fmt.Sprintf("%s::%s", sc[i], tbl.cols[c])
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", tbl.quoted, strings.Join(qcols, ", "), strings.Join(sel, ", "), stage)
	pk := chs[0].pk
	if t.upsert && len(pk) > 0 {
		qpk := make([]string, len(pk))
		for i, c := range pk {
			qpk[i] = quoteIdent(c)
		}
		var set []string
		for _, c := range cols {
			if !contains(pk, c) {
				set = append(set, fmt.Sprintf("%s = EXCLUDED.%s", quoteIdent(c), quoteIdent(c)))
			}
		}
		if len(set) == 0 {
			q += fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", strings.Join(qpk, ", "))
		} else {
			q += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", strings.Join(qpk, ", "), strings.Join(set, ", "))
		}
	}
	if _, err := tx.Exec(ctx, q); err != nil {
		return describeWriteErr(tbl.quoted, pk, err)
	}
	return nil
}

// writeDeletes deletes the rows with the given keys with one statement.
func (t *pgSinkTask) writeDeletes(ctx context.Context, tx pgx.Tx, tbl *pgTable, chs []rowChange, id int) error {
	pk := chs[0].pk
	for _, c := range pk {
		if _, ok := tbl.cols[c]; !ok {
			return fmt.Errorf("table %s has no key column %q to delete by", tbl.quoted, c)
		}
	}
	stage, sc, err := stageTable(ctx, tx, id, len(pk))
	if err != nil {
		return err
	}
	rows := make([][]any, len(chs))
	for i, ch := range chs {
		row := make([]any, len(pk))
		for j, c := range pk {
			s, err := pgText(ch.row[c], tbl.cols[c])
			if err != nil {
				return fmt.Errorf("key column %q of %s: %w", c, tbl.quoted, err)
			}
			row[j] = s
		}
		rows[i] = row
	}
	if err := copyStage(ctx, tx, stage, sc, rows); err != nil {
		return err
	}
	var conds []string
	for i, c := range pk {
		conds = append(conds, fmt.Sprintf("t.%s = s.%s::%s", quoteIdent(c), sc[i], tbl.cols[c]))
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM %s t USING %s s WHERE %s", tbl.quoted, stage, strings.Join(conds, " AND "))); err != nil {
		return describeWriteErr(tbl.quoted, pk, err)
	}
	return nil
}

// describeWriteErr turns the errors users cause into sentences.
func describeWriteErr(table string, pk []string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "42P10":
			return fmt.Errorf("table %s has no primary key or unique index on (%s): add one, or change pk_fields or insert_mode", table, strings.Join(pk, ", "))
		case "23505":
			return fmt.Errorf("writing %s: %s (%s): a key written twice; use insert_mode = \"upsert\" or exactly_once = true", table, pe.Message, pe.Detail)
		}
		if strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "42") {
			return fmt.Errorf("writing %s: a value does not fit its column: %s: fix the column type or the records", table, pe.Message)
		}
	}
	return fmt.Errorf("writing %s: %w", table, err)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// pgText renders a JSON value as PostgreSQL input text for a column of type
// colType, reading Debezium's encodings where the column says what they
// are: integers into timestamp (microseconds since the epoch) and date
// (days), base64 text into bytea, JSON arrays into array columns.
func pgText(v any, colType string) (any, error) {
	if v == nil {
		return nil, nil
	}
	isArray := strings.HasSuffix(colType, "[]")
	switch x := v.(type) {
	case string:
		if colType == "bytea" {
			if b, err := base64.StdEncoding.DecodeString(x); err == nil {
				return `\x` + hex.EncodeToString(b), nil
			}
		}
		return x, nil
	case []byte:
		return `\x` + hex.EncodeToString(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return intText(x, colType), nil
	case int:
		return intText(int64(x), colType), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return intText(i, colType), nil
		}
		return x.String(), nil
	case []any:
		if isArray {
			return arrayText(x, strings.TrimSuffix(colType, "[]"))
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func intText(i int64, colType string) string {
	switch {
	case strings.HasPrefix(colType, "timestamp"):
		return time.UnixMicro(i).UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	case colType == "date":
		return time.Unix(i*86400, 0).UTC().Format("2006-01-02")
	}
	return strconv.FormatInt(i, 10)
}

// arrayQuoter escapes an element inside double quotes of an array literal.
var arrayQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// arrayText renders a JSON array as a PostgreSQL array literal.
func arrayText(list []any, elemType string) (string, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			b.WriteString("NULL")
			continue
		}
		if sub, ok := e.([]any); ok {
			s, err := arrayText(sub, elemType)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			continue
		}
		s, err := pgText(e, elemType)
		if err != nil {
			return "", err
		}
		b.WriteByte('"')
		b.WriteString(arrayQuoter.Replace(s.(string)))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}
