package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"golang.org/x/term"
)

// table is a plain-text table: aligned columns (text/tabwriter),
// right-aligned numbers. On a
// terminal it fits the width: flexible columns shrink (cut with "…"), then
// droppable columns go, least important first, and a row is never wrapped.
// Not on a terminal (piped) nothing is cut.
type table struct {
	headers []string
	rows    [][]string
	// right marks numeric columns.
	right map[int]bool
	// flex marks columns that may be truncated to fit, widest first.
	flex map[int]bool
	// drop lists the columns that may be left out to fit, in that order.
	drop []int
	// last marks columns cut only once nothing else can go (names the
	// user acts on next).
	last map[int]bool
}

func newTable(headers ...string) *table {
	return &table{headers: headers, right: map[int]bool{}, flex: map[int]bool{}, last: map[int]bool{}}
}

// Last lets columns shrink, but only when no column is left to drop.
func (t *table) Last(cols ...int) *table {
	for _, c := range cols {
		t.last[c] = true
	}
	return t
}

// Right right-aligns columns.
func (t *table) Right(cols ...int) *table {
	for _, c := range cols {
		t.right[c] = true
	}
	return t
}

// Flex lets columns shrink to fit.
func (t *table) Flex(cols ...int) *table {
	for _, c := range cols {
		t.flex[c] = true
	}
	return t
}

// Drop lets columns be left out when the table does not fit even with its
// flexible columns shrunk, the first given first.
func (t *table) Drop(cols ...int) *table {
	t.drop = append(t.drop, cols...)
	return t
}

// Row adds a row; control characters in cells are escaped.
func (t *table) Row(cells ...any) {
	r := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case string:
			r[i] = escapeControl(v, false)
		case int64:
			r[i] = strconv.FormatInt(v, 10)
		case int:
			r[i] = strconv.Itoa(v)
		case int32:
			r[i] = strconv.Itoa(int(v))
		default:
			r[i] = escapeControl(fmt.Sprint(v), false)
		}
	}
	t.rows = append(t.rows, r)
}

// widthWriter is a writer that knows its width: tests print tables at a
// fixed width through it.
type widthWriter interface {
	io.Writer
	TermWidth() int
}

// fixedWidth is a writer of a given width.
type fixedWidth struct {
	io.Writer
	width int
}

// TermWidth implements widthWriter.
func (f fixedWidth) TermWidth() int { return f.width }

// termWidth returns the terminal's width, or 0 (no limit) when w is not a
// terminal: piped output is never truncated.
func termWidth(w io.Writer) int {
	if ww, ok := w.(widthWriter); ok {
		return ww.TermWidth()
	}
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 0
}

// layout returns the columns to print and their widths for limit (0: no
// limit): natural widths when they fit; else flexible columns shrunk (never
// below their header or 8), widest first; else the next droppable column
// left out and the same again; with none left to drop, the Last columns
// shrink too.
func (t *table) layout(limit int) (cols []int, widths map[int]int) {
	natural := map[int]int{}
	for i, h := range t.headers {
		natural[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i := 0; i < len(t.headers) && i < len(r); i++ {
			natural[i] = max(natural[i], utf8.RuneCountInString(r[i]))
		}
	}
	var lastResort bool
	canShrink := func(i int) bool { return t.flex[i] || (lastResort && t.last[i]) }
	minWidth := func(i int) int {
		if canShrink(i) {
			return min(natural[i], max(8, utf8.RuneCountInString(t.headers[i])))
		}
		return natural[i]
	}
	dropped := map[int]bool{}
	next := 0
	for {
		cols = cols[:0]
		widths = map[int]int{}
		total, least := 0, 0
		for i := range t.headers {
			if dropped[i] {
				continue
			}
			cols = append(cols, i)
			widths[i] = natural[i]
			total += natural[i]
			least += minWidth(i)
		}
		gaps := 2 * (len(cols) - 1)
		if limit <= 0 || total+gaps <= limit {
			return cols, widths
		}
		if next >= len(t.drop) || len(cols) == 1 {
			lastResort = true
			least = 0
			for _, i := range cols {
				least += minWidth(i)
			}
		}
		if least+gaps <= limit || lastResort {
			// Shrink the widest flexible column one step at a time.
			for total+gaps > limit {
				best := -1
				for _, i := range cols {
					if canShrink(i) && widths[i] > minWidth(i) && (best < 0 || widths[i] > widths[best]) {
						best = i
					}
				}
				if best < 0 {
					break // still too wide: lines are cut at the limit
				}
				widths[best]--
				total--
			}
			return cols, widths
		}
		dropped[t.drop[next]] = true
		next++
	}
}

// Write prints the table on w. layout decides the columns and their
// widths; text/tabwriter aligns them, two spaces apart (numbers are padded
// on the left to their column's width first). Trailing spaces are trimmed,
// and on a terminal a row is cut at its width rather than wrapped.
func (t *table) Write(w io.Writer) {
	limit := termWidth(w)
	cols, widths := t.layout(limit)
	var aligned bytes.Buffer
	tw := tabwriter.NewWriter(&aligned, 0, 0, 2, ' ', 0)
	line := func(cells []string) {
		for k, i := range cols {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			c = cut(c, widths[i])
			if t.right[i] {
				c = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)) + c
			}
			if k > 0 {
				tw.Write([]byte{'\t'})
			}
			tw.Write([]byte(c))
		}
		tw.Write([]byte{'\n'})
	}
	line(t.headers)
	for _, r := range t.rows {
		line(r)
	}
	tw.Flush()
	for _, out := range strings.SplitAfter(aligned.String(), "\n") {
		if out == "" {
			continue
		}
		out = strings.TrimRight(out, " \n")
		if limit > 0 {
			out = cut(out, limit) // never wrap a row
		}
		fmt.Fprintln(w, out)
	}
}

// cut shortens s to n runes, ending in "…" when cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:max(n, 0)])
	}
	return string([]rune(s)[:n-1]) + "…"
}

// printFields prints "Name: value" fields separated by two spaces, starting
// a new line between fields rather than past the terminal's width.
func printFields(w io.Writer, fields ...string) {
	limit := termWidth(w)
	var line strings.Builder
	for _, f := range fields {
		f = escapeControl(f, false)
		if line.Len() > 0 && limit > 0 && utf8.RuneCountInString(line.String())+2+utf8.RuneCountInString(f) > limit {
			fmt.Fprintln(w, line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteString("  ")
		}
		line.WriteString(f)
	}
	fmt.Fprintln(w, line.String())
}

// emit prints v as JSON with -o json, or calls tbl for a table.
func (a *app) emit(v any, tbl func(w io.Writer)) error {
	if a.output == "json" {
		return writeJSON(a.out, v)
	}
	tbl(a.out)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// isTerminal reports whether w is a terminal (progress goes to stderr only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func dash(v int64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}
