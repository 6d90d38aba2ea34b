package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func entryN(i int) Entry {
	return Entry{ID: fmt.Sprintf("id-%04d", i), Time: time.Unix(int64(i), 0).UTC(), Action: "offsets.reset", Group: "g", Outcome: OutcomeOK}
}

func listIDs(t *testing.T, a *Log) []string {
	t.Helper()
	var ids []string
	if err := a.List(func(e Entry) bool { ids = append(ids, e.ID); return true }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// Reading is incremental: a second list parses only the bytes appended
// since the first, so a rewrite of bytes already read goes unseen, and
// entries appended by another process (another Log on the same dir)
// appear.
func TestAuditIndexReadsOnlyNewBytes(t *testing.T) {
	dir := t.TempDir()
	reader, writer := New(dir, 0, 0), New(dir, 0, 0)
	for i := range 3 {
		if err := writer.Append(entryN(i)); err != nil {
			t.Fatal(err)
		}
	}
	if ids := listIDs(t, reader); len(ids) != 3 || ids[0] != "id-0002" {
		t.Fatalf("first list %v", ids)
	}
	// Overwrite the first line in place with garbage of the same length:
	// a reader that re-read the file would lose id-0000.
	p := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(p)
	nl := bytes.IndexByte(b, '\n')
	copy(b, bytes.Repeat([]byte{'x'}, nl))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writer.Append(entryN(3)); err != nil {
		t.Fatal(err)
	}
	ids := listIDs(t, reader)
	if len(ids) != 4 || ids[0] != "id-0003" || ids[3] != "id-0000" {
		t.Fatalf("second list %v: want the new entry and the three indexed ones, without re-reading", ids)
	}
	if reader.off != int64(len(b))+int64(len(mustLine(t, entryN(3)))) {
		t.Fatalf("reader offset %d, want the file size", reader.off)
	}
}

func mustLine(t *testing.T, e Entry) []byte {
	t.Helper()
	a := New(t.TempDir(), 0, 0)
	if err := a.Append(e); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(a.path)
	return b
}

// The log rotates past its size into audit.jsonl.1 … .N, keeps N files,
// and lookups and lists still find entries in rotated files.
func TestAuditRotation(t *testing.T) {
	dir := t.TempDir()
	line := len(mustLine(t, entryN(0)))
	a := New(dir, int64(line*10), 3) // ten entries a file
	for i := range 45 {
		if err := a.Append(entryN(i)); err != nil {
			t.Fatal(err)
		}
		if i == 12 {
			if ids := listIDs(t, a); len(ids) != 13 {
				t.Fatalf("list across one rotation: %d entries", len(ids))
			}
		}
	}
	for i := 1; i <= 3; i++ {
		if _, err := os.Stat(a.rotatedPath(i)); err != nil {
			t.Fatalf("rotated file %d: %v", i, err)
		}
	}
	if _, err := os.Stat(a.rotatedPath(4)); !os.IsNotExist(err) {
		t.Fatalf("a fourth rotated file is kept: %v", err)
	}
	if fi, _ := os.Stat(a.path); fi.Size() > int64(line*10) {
		t.Fatalf("current file %d bytes, past the limit", fi.Size())
	}
	// 45 entries, 10 a file: current holds 40-44, .1 30-39, .2 20-29,
	// .3 10-19; 0-9 were dropped with the fourth file.
	ids := listIDs(t, a)
	if len(ids) != 35 || ids[0] != "id-0044" || ids[34] != "id-0010" {
		t.Fatalf("list %d entries, %v … %v", len(ids), ids[0], ids[len(ids)-1])
	}
	for _, id := range []string{"id-0044", "id-0031", "id-0010"} {
		if e, ok, err := a.Get(id); err != nil || !ok || e.ID != id {
			t.Fatalf("get %s: %+v %v %v", id, e, ok, err)
		}
	}
	if _, ok, _ := a.Get("id-0005"); ok {
		t.Fatal("an entry of a dropped file is still found")
	}
	// A fresh reader (another process) finds rotated entries too.
	if e, ok, err := New(dir, int64(line*10), 3).Get("id-0015"); err != nil || !ok || e.ID != "id-0015" {
		t.Fatalf("fresh reader get: %+v %v %v", e, ok, err)
	}
}

// A torn last line (a crash mid-write) does not swallow the next entry.
func TestAuditTornLine(t *testing.T) {
	dir := t.TempDir()
	a := New(dir, 0, 0)
	if err := a.Append(entryN(0)); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(a.path, os.O_APPEND|os.O_WRONLY, 0o600)
	f.WriteString(`{"id":"torn","act`)
	f.Close()
	if ids := listIDs(t, a); len(ids) != 1 {
		t.Fatalf("list with a torn line: %v", ids)
	}
	if err := a.Append(entryN(1)); err != nil {
		t.Fatal(err)
	}
	if ids := listIDs(t, a); len(ids) != 2 || ids[0] != "id-0001" {
		t.Fatalf("list after the torn line: %v, want id-0001 and id-0000", ids)
	}
}
