// Package table is the TUI's table: fixed and flexible columns, a cursor,
// sorting by any column, a substring filter, and a View that renders only
// the visible rows, so 10,000 rows draw as fast as 20.
//
//	t := table.New(st, []table.Column{{Title: "GROUP", Flex: true, Width: 10}, {Title: "LAG", Width: 8, Right: true}})
//	t.SetSize(80, 20)
//	t.SetRows([]table.Row{{ID: "g1", Cells: []string{"g1", "42"}, Sort: []any{"g1", int64(42)}}})
//	fmt.Println(t.View())
package table

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/kdeck/kdeck/tui/format"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/styles"
)

// Column describes one column.
type Column struct {
	Title string
	// Width is the column's width; a Flex column gets at least Width and
	// shares what is left of the table's width with other Flex columns.
	Width int
	Flex  bool
	// Right aligns the cells to the right (numbers).
	Right bool
	// Drop, when above 0, lets the column be left out when the table is
	// too narrow for every column's Width: the highest Drop goes first.
	// Columns with Drop 0 always show.
	Drop int
	// Color, when set, styles a cell by its text (status words); it is not
	// applied on the selected row.
	Color func(cell string) lipgloss.Style
}

// Row is one row. ID identifies it across SetRows so the cursor stays on
// it. Sort holds optional per-column sort values (int, int64, float64,
// string, time.Time); without them cells sort as text.
type Row struct {
	ID    string
	Cells []string
	Sort  []any

	lower string
}

// Model is a table. The zero value is not usable; build it with New. It is
// not safe for concurrent use (it lives in the bubbletea event loop).
type Model struct {
	st   *styles.Styles
	cols []Column
	// widths are the laid-out column widths for the current size; a
	// column left out to fit has width -1.
	widths []int

	all  []Row
	rows []Row

	cursor, offset int
	sortCol        int
	desc           bool
	filter         string

	width, height int
	focused       bool

	// Keys are the movement and sort keys.
	Keys screen.TableKeys
	// Empty is shown when there are no rows (after filtering).
	Empty string
}

// New returns a focused table with no rows and no sort.
func New(st *styles.Styles, cols []Column) *Model {
	return &Model{st: st, cols: cols, sortCol: -1, focused: true, Keys: screen.DefaultTableKeys(st.Glyphs), Empty: "nothing to show"}
}

// SetSize sets the table's size, header line included.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.layout()
	m.clamp()
}

// Focus sets whether the table shows its cursor and takes keys.
func (m *Model) Focus(f bool) { m.focused = f }

// Focused reports whether the table has focus.
func (m *Model) Focused() bool { return m.focused }

func (m *Model) layout() {
	m.widths = make([]int, len(m.cols))
	hidden := make([]bool, len(m.cols))
	var used, flex int
	sum := func() {
		used, flex = 0, 0
		n := 0
		for i, c := range m.cols {
			if hidden[i] {
				continue
			}
			used += c.Width
			if n > 0 {
				used++ // gap
			}
			n++
			if c.Flex {
				flex++
			}
		}
	}
	sum()
	// Leave out droppable columns, highest Drop first, until the rest fit
	// (2: cursor column and right margin).
	for used > m.width-2 {
		best := -1
		for i, c := range m.cols {
			if !hidden[i] && c.Drop > 0 && (best < 0 || c.Drop > m.cols[best].Drop) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		hidden[best] = true
		sum()
	}
	for i, c := range m.cols {
		m.widths[i] = c.Width
		if hidden[i] {
			m.widths[i] = -1
		}
	}
	left := m.width - 2 - used
	if flex > 0 && left > 0 {
		each := left / flex
		extra := left - each*flex
		for i, c := range m.cols {
			if c.Flex && !hidden[i] {
				m.widths[i] += each + extra
				extra = 0
			}
		}
	}
}

// shown returns the indexes of the columns laid out (not left out).
func (m *Model) shown() []int {
	out := make([]int, 0, len(m.cols))
	for i := range m.cols {
		if i >= len(m.widths) || m.widths[i] >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// SetRows replaces the rows, keeping the filter, the sort and the cursor on
// the row with the same ID when it is still there.
func (m *Model) SetRows(rows []Row) {
	id := ""
	if r, ok := m.Selected(); ok {
		id = r.ID
	}
	for i := range rows {
		printable(rows[i].Cells)
		rows[i].lower = strings.ToLower(strings.Join(rows[i].Cells, "\x00"))
	}
	m.all = rows
	m.apply()
	m.selectID(id)
}

// Rows returns the rows shown (filtered and sorted); do not modify them.
func (m *Model) Rows() []Row { return m.rows }

// Len returns how many rows are shown.
func (m *Model) Len() int { return len(m.rows) }

// Total returns how many rows there are before filtering.
func (m *Model) Total() int { return len(m.all) }

// SetFilter keeps only rows with a cell containing s (case-insensitive).
func (m *Model) SetFilter(s string) {
	id := ""
	if r, ok := m.Selected(); ok {
		id = r.ID
	}
	m.filter = s
	m.apply()
	m.selectID(id)
}

// Filter returns the current filter.
func (m *Model) Filter() string { return m.filter }

// SortBy sorts by column col (-1: the order rows were given in).
func (m *Model) SortBy(col int, desc bool) {
	if col >= len(m.cols) {
		col = -1
	}
	id := ""
	if r, ok := m.Selected(); ok {
		id = r.ID
	}
	m.sortCol, m.desc = col, desc
	m.apply()
	m.selectID(id)
}

// SortColumn returns the sort column (-1 for none) and direction.
func (m *Model) SortColumn() (int, bool) { return m.sortCol, m.desc }

func (m *Model) apply() {
	f := strings.ToLower(m.filter)
	m.rows = m.rows[:0]
	if f == "" {
		m.rows = append(m.rows, m.all...)
	} else {
		for _, r := range m.all {
			if strings.Contains(r.lower, f) {
				m.rows = append(m.rows, r)
			}
		}
	}
	if c := m.sortCol; c >= 0 {
		slices.SortStableFunc(m.rows, func(a, b Row) int {
			v := compare(a, b, c)
			if m.desc {
				return -v
			}
			return v
		})
	}
	m.clamp()
}

func sortValue(r Row, c int) any {
	if c < len(r.Sort) && r.Sort[c] != nil {
		return r.Sort[c]
	}
	if c < len(r.Cells) {
		return r.Cells[c]
	}
	return ""
}

func compare(a, b Row, c int) int {
	va, vb := sortValue(a, c), sortValue(b, c)
	switch x := va.(type) {
	case int64:
		if y, ok := vb.(int64); ok {
			return cmp.Compare(x, y)
		}
	case int:
		if y, ok := vb.(int); ok {
			return cmp.Compare(x, y)
		}
	case int32:
		if y, ok := vb.(int32); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := vb.(float64); ok {
			return cmp.Compare(x, y)
		}
	case time.Time:
		if y, ok := vb.(time.Time); ok {
			return x.Compare(y)
		}
	case string:
		if y, ok := vb.(string); ok {
			return strings.Compare(strings.ToLower(x), strings.ToLower(y))
		}
	}
	return 0
}

func (m *Model) selectID(id string) {
	if id == "" {
		m.clamp()
		return
	}
	for i, r := range m.rows {
		if r.ID == id {
			m.cursor = i
			m.clamp()
			return
		}
	}
	m.clamp()
}

// visible is how many rows fit under the header.
func (m *Model) visible() int { return max(m.height-1, 1) }

func (m *Model) clamp() {
	n := len(m.rows)
	m.cursor = min(max(m.cursor, 0), max(n-1, 0))
	v := m.visible()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+v {
		m.offset = m.cursor - v + 1
	}
	m.offset = min(max(m.offset, 0), max(n-v, 0))
}

// Cursor returns the index of the selected row among the shown rows.
func (m *Model) Cursor() int { return m.cursor }

// SetCursor moves the cursor to row i of the shown rows.
func (m *Model) SetCursor(i int) { m.cursor = i; m.clamp() }

// Selected returns the selected row.
func (m *Model) Selected() (Row, bool) {
	if m.cursor < 0 || m.cursor >= len(m.rows) {
		return Row{}, false
	}
	return m.rows[m.cursor], true
}

// Update handles movement and sort keys; it reports whether it used msg.
func (m *Model) Update(msg tea.Msg) bool {
	km, ok := msg.(tea.KeyMsg)
	if !ok || !m.focused {
		return false
	}
	k := m.Keys
	switch {
	case key.Matches(km, k.Up):
		m.cursor--
	case key.Matches(km, k.Down):
		m.cursor++
	case key.Matches(km, k.PageUp):
		m.cursor -= m.visible()
	case key.Matches(km, k.PageDown):
		m.cursor += m.visible()
	case key.Matches(km, k.Top):
		m.cursor = 0
	case key.Matches(km, k.Bottom):
		m.cursor = len(m.rows) - 1
	case key.Matches(km, k.Sort):
		next := m.sortCol + 1
		if next >= len(m.cols) {
			next = -1
		}
		m.SortBy(next, m.defaultDesc(next))
		return true
	case key.Matches(km, k.Reverse):
		if m.sortCol < 0 {
			m.SortBy(0, true)
		} else {
			m.SortBy(m.sortCol, !m.desc)
		}
		return true
	default:
		return false
	}
	m.clamp()
	return true
}

// defaultDesc sorts numbers biggest first (lag) and text A to Z.
func (m *Model) defaultDesc(col int) bool { return col >= 0 && m.cols[col].Right }

// View renders the header and the visible rows only.
func (m *Model) View() string {
	var b strings.Builder
	st := m.st
	// header
	b.WriteString(" ")
	shown := m.shown()
	hdr := make([]string, 0, len(shown))
	for _, i := range shown {
		c := m.cols[i]
		t := c.Title
		if i == m.sortCol {
			if m.desc {
				t += st.Glyphs.Desc
			} else {
				t += st.Glyphs.Asc
			}
		}
		hdr = append(hdr, fit(t, m.widths[i], c.Right, st.Glyphs.Ellipsis))
	}
	b.WriteString(st.TableHeader.Render(clip(strings.Join(hdr, " "), m.width-1)))
	lines := 1
	if len(m.rows) == 0 {
		for _, l := range format.Wrap(m.Empty, m.width-2) {
			if lines >= max(m.height, 2) {
				break
			}
			b.WriteString("\n " + st.Muted.Render(l))
			lines++
		}
	}
	end := min(m.offset+m.visible(), len(m.rows))
	for i := m.offset; i < end; i++ {
		b.WriteByte('\n')
		lines++
		r := m.rows[i]
		sel := m.focused && i == m.cursor
		if sel {
			cells := make([]string, 0, len(shown))
			for _, j := range shown {
				cells = append(cells, fit(cell(r, j), m.widths[j], m.cols[j].Right, st.Glyphs.Ellipsis))
			}
			line := st.Glyphs.Cursor + clip(strings.Join(cells, " "), m.width-1)
			b.WriteString(st.Selected.Render(pad(line, m.width)))
			continue
		}
		b.WriteByte(' ')
		w := 1
		for k, j := range shown {
			c := m.cols[j]
			if k > 0 {
				if w >= m.width {
					break
				}
				b.WriteByte(' ')
				w++
			}
			cw := min(m.widths[j], m.width-w)
			if cw <= 0 {
				break
			}
			txt := fit(cell(r, j), cw, c.Right, st.Glyphs.Ellipsis)
			if c.Color != nil {
				txt = c.Color(cell(r, j)).Render(txt)
			}
			b.WriteString(txt)
			w += cw
		}
	}
	for ; lines < m.height; lines++ {
		b.WriteByte('\n')
	}
	return b.String()
}

func cell(r Row, j int) string {
	if j < len(r.Cells) {
		return r.Cells[j]
	}
	return ""
}

// fit truncates or pads s to exactly w cells.
func fit(s string, w int, right bool, tail string) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return pad(format.Cut(s, w, tail), w) // at a word boundary when there is one
	}
	if right {
		return strings.Repeat(" ", w-sw) + s
	}
	return s + strings.Repeat(" ", w-sw)
}

// clip truncates s to w cells.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "")
	}
	return s
}

// pad pads s with spaces to w cells.
func pad(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return s + strings.Repeat(" ", w-sw)
	}
	return s
}

// Fit truncates (ending with tail) or pads plain text to exactly w cells;
// pages use it for their own aligned lines.
func Fit(s string, w int, right bool, tail string) string { return fit(s, w, right, tail) }

// Append adds rows at the end (kept in arrival order under the current
// sort), dropping the oldest rows beyond limit (0: no limit). A cursor on
// the last row follows new rows, as `tail -f` does.
func (m *Model) Append(rows []Row, limit int) {
	follow := m.cursor >= len(m.rows)-1
	id := ""
	if r, ok := m.Selected(); ok {
		id = r.ID
	}
	for i := range rows {
		printable(rows[i].Cells)
		rows[i].lower = strings.ToLower(strings.Join(rows[i].Cells, "\x00"))
	}
	m.all = append(m.all, rows...)
	if limit > 0 && len(m.all) > limit {
		m.all = append(m.all[:0:0], m.all[len(m.all)-limit:]...)
	}
	m.apply()
	if follow && m.sortCol < 0 {
		m.cursor = len(m.rows) - 1
		m.clamp()
		return
	}
	m.selectID(id)
}

// printable escapes control characters in cells (a topic or group name
// holding ESC or CR would otherwise move the cursor or recolour the screen).
func printable(cells []string) {
	for i, c := range cells {
		if strings.ContainsFunc(c, unicode.IsControl) {
			q := strconv.Quote(c)
			cells[i] = q[1 : len(q)-1]
		}
	}
}
