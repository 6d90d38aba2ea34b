package pgtest

import "testing"

func TestStartRestart(t *testing.T) {
	pg := Start(t)
	dsn := pg.CreateDB(t, "shop")
	pg.Exec(t, dsn, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')")
	if got := pg.Query(t, dsn, "SHOW wal_level"); got[0][0] != "logical" {
		t.Fatalf("wal_level = %v, want logical", got)
	}
	pg.Restart(t)
	if got := pg.Query(t, dsn, "SELECT v FROM t WHERE id = $1", 1); len(got) != 1 || got[0][0] != "a" {
		t.Fatalf("after restart: %v", got)
	}
}
