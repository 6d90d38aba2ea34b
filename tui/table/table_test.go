package table

import (
	"fmt"
	"io"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/kdeck/kdeck/tui/styles"
)

func testStyles() *styles.Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	st := styles.New(styles.DefaultTheme(), r, true)
	return &st
}

func newTable(n int) *Model {
	t := New(testStyles(), []Column{{Title: "NAME", Width: 10, Flex: true}, {Title: "LAG", Width: 8, Right: true}})
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{ID: fmt.Sprintf("g%05d", i), Cells: []string{fmt.Sprintf("g%05d", i), fmt.Sprint(n - i)}, Sort: []any{fmt.Sprintf("g%05d", i), int64(n - i)}}
	}
	t.SetSize(60, 11)
	t.SetRows(rows)
	return t
}

func ids(t *Model) string {
	var s []string
	for _, r := range t.Rows() {
		s = append(s, r.ID)
	}
	return strings.Join(s, ",")
}

func TestSortFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		col    int
		desc   bool
		want   string
	}{
		{"given order", "", -1, false, "g00000,g00001,g00002,g00003"},
		{"name desc", "", 0, true, "g00003,g00002,g00001,g00000"},
		{"numbers sort as numbers", "", 1, false, "g00003,g00002,g00001,g00000"},
		{"filter any cell", "00002", -1, false, "g00002"},
		{"filter matches lag column", "4", -1, false, "g00000"},
		{"filter and sort", "g0000", 1, true, "g00000,g00001,g00002,g00003"},
		{"no match", "zz", -1, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTable(4)
			m.SetFilter(tt.filter)
			m.SortBy(tt.col, tt.desc)
			if got := ids(m); got != tt.want {
				t.Fatalf("rows %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCursorFollowsRow(t *testing.T) {
	m := newTable(4)
	m.SetCursor(2)
	m.SortBy(0, true)
	if r, _ := m.Selected(); r.ID != "g00002" {
		t.Fatalf("after sorting the cursor is on %s, want g00002", r.ID)
	}
	m.SetFilter("g0000")
	if r, _ := m.Selected(); r.ID != "g00002" {
		t.Fatalf("after filtering the cursor is on %s", r.ID)
	}
	m.SetRows([]Row{{ID: "g00002", Cells: []string{"g00002", "1"}}, {ID: "x", Cells: []string{"x", "2"}}})
	if r, _ := m.Selected(); r.ID != "g00002" {
		t.Fatalf("after new rows the cursor is on %s", r.ID)
	}
}

func TestViewRendersVisibleRowsOnly(t *testing.T) {
	m := newTable(10000)
	v := ansi.Strip(m.View())
	lines := strings.Split(v, "\n")
	if len(lines) != 11 {
		t.Fatalf("view has %d lines, want 11 (header + 10 rows)", len(lines))
	}
	if !strings.Contains(v, "g00009") || strings.Contains(v, "g00010") {
		t.Fatalf("first page wrong:\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'G'}})
	v = ansi.Strip(m.View())
	if !strings.Contains(v, "g09999") || strings.Contains(v, "g09989") {
		t.Fatalf("after G:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if w := ansi.StringWidth(l); w > 60 {
			t.Fatalf("line wider than the table (%d): %q", w, l)
		}
	}
}

func TestKeys(t *testing.T) {
	m := newTable(100)
	press := func(k tea.KeyMsg) { m.Update(k) }
	press(tea.KeyMsg{Type: tea.KeyDown})
	press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'j'}})
	if m.Cursor() != 2 {
		t.Fatalf("cursor %d after down, j", m.Cursor())
	}
	press(tea.KeyMsg{Type: tea.KeyPgDown})
	if m.Cursor() != 12 {
		t.Fatalf("cursor %d after pgdown", m.Cursor())
	}
	press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'k'}})
	press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'g'}})
	if m.Cursor() != 0 {
		t.Fatalf("cursor %d after g", m.Cursor())
	}
	press(tea.KeyMsg{Type: tea.KeyUp})
	if m.Cursor() != 0 {
		t.Fatalf("cursor %d after up at the top", m.Cursor())
	}
	m.Focus(false)
	if m.Update(tea.KeyMsg{Type: tea.KeyDown}) {
		t.Fatal("an unfocused table took a key")
	}
}

func TestAppendFollowsTail(t *testing.T) {
	m := newTable(3)
	m.SetCursor(2)
	m.Append([]Row{{ID: "n1", Cells: []string{"n1", "0"}}, {ID: "n2", Cells: []string{"n2", "0"}}}, 4)
	if m.Total() != 4 || ids(m) != "g00001,g00002,n1,n2" {
		t.Fatalf("rows %s", ids(m))
	}
	if r, _ := m.Selected(); r.ID != "n2" {
		t.Fatalf("cursor on the last row did not follow: %s", r.ID)
	}
	m.SetCursor(0)
	m.Append([]Row{{ID: "n3", Cells: []string{"n3", "0"}}}, 4)
	if r, _ := m.Selected(); r.ID != "g00002" {
		t.Fatalf("cursor not on the last row moved: %s", r.ID)
	}
}

// BenchmarkView10k renders a 10,000-row table at 120x40 (the budget is
// 16 ms a frame).
func BenchmarkView10k(b *testing.B) {
	m := newTable(10000)
	m.SetSize(120, 40)
	m.SetCursor(5000)
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkSetRows10k replaces 10,000 rows under a sort, as a refresh does.
func BenchmarkSetRows10k(b *testing.B) {
	m := newTable(10000)
	m.SortBy(1, true)
	rows := append([]Row(nil), m.Rows()...)
	for b.Loop() {
		m.SetRows(append([]Row(nil), rows...))
	}
}

// TestDropColumnsAndEscape checks that columns with Drop leave, highest
// first, when the table is narrow, that the others keep their width, and
// that control characters in cells are escaped.
func TestDropColumnsAndEscape(t *testing.T) {
	m := New(testStyles(), []Column{
		{Title: "ID", Width: 22},
		{Title: "USER", Width: 8, Drop: 2},
		{Title: "CLUSTER", Width: 8, Drop: 1},
		{Title: "WHAT", Width: 10, Flex: true},
	})
	m.SetRows([]Row{{ID: "a", Cells: []string{"20261125-114500-a1b2c3", "alice", "local", "red\x1b[31m\r"}}})
	for _, tc := range []struct {
		width int
		want  []string
		gone  []string
	}{
		{80, []string{"ID", "USER", "CLUSTER", "WHAT"}, nil},
		{45, []string{"ID", "CLUSTER", "WHAT"}, []string{"USER"}},
		{36, []string{"ID", "WHAT", "20261125-114500-a1b2c3"}, []string{"USER", "CLUSTER"}},
	} {
		m.SetSize(tc.width, 4)
		v := ansi.Strip(m.View())
		for _, w := range tc.want {
			if !strings.Contains(v, w) {
				t.Errorf("at %d: %q missing:\n%s", tc.width, w, v)
			}
		}
		for _, g := range tc.gone {
			if strings.Contains(v, g) {
				t.Errorf("at %d: %q still shown:\n%s", tc.width, g, v)
			}
		}
		if strings.ContainsAny(v, "\x1b\r") {
			t.Errorf("control bytes rendered raw: %q", v)
		}
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > tc.width {
				t.Errorf("at %d a line is %d wide: %q", tc.width, ansi.StringWidth(l), l)
			}
		}
	}
}
