package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// table is a plain-text table: aligned columns, right-aligned numbers, and
// truncated with "…" to fit the terminal width (80 when not a terminal).
type table struct {
	headers []string
	rows    [][]string
	// right marks numeric columns.
	right map[int]bool
	// flex marks columns that may be truncated to fit, widest first.
	flex map[int]bool
}

func newTable(headers ...string) *table {
	return &table{headers: headers, right: map[int]bool{}, flex: map[int]bool{}}
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

func (t *table) Row(cells ...any) {
	r := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case string:
			r[i] = v
		case int64:
			r[i] = strconv.FormatInt(v, 10)
		case int:
			r[i] = strconv.Itoa(v)
		case int32:
			r[i] = strconv.Itoa(int(v))
		default:
			r[i] = fmt.Sprint(v)
		}
	}
	t.rows = append(t.rows, r)
}

// termWidth returns the terminal's width, or 0 (no limit) when w is not a
// terminal: piped output is never truncated.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 0
}

func (t *table) Write(w io.Writer) {
	n := len(t.headers)
	widths := make([]int, n)
	for i, h := range t.headers {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i := 0; i < n && i < len(r); i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	total := func() int {
		s := 0
		for _, w := range widths {
			s += w
		}
		return s + 2*(n-1)
	}
	limit := termWidth(w)
	for limit > 0 && total() > limit {
		// Shrink the widest flexible column, never below its header or 8.
		best := -1
		for i := range widths {
			if t.flex[i] && widths[i] > max(8, utf8.RuneCountInString(t.headers[i])) && (best < 0 || widths[i] > widths[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		widths[best]--
	}
	var b strings.Builder
	line := func(cells []string) {
		b.Reset()
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			if rc := utf8.RuneCountInString(c); rc > widths[i] {
				c = string([]rune(c)[:widths[i]-1]) + "…"
			}
			pad := widths[i] - utf8.RuneCountInString(c)
			if i > 0 {
				b.WriteString("  ")
			}
			if t.right[i] {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(c)
			} else {
				b.WriteString(c)
				if i < n-1 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.headers)
	for _, r := range t.rows {
		line(r)
	}
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

func humanSeconds(s float64) string {
	switch {
	case s < 0:
		return "-"
	case s < 1:
		return "0s"
	case s < 120:
		return fmt.Sprintf("%.0fs", s)
	case s < 7200:
		return fmt.Sprintf("%.0fm", s/60)
	case s < 2*86400:
		return fmt.Sprintf("%.1fh", s/3600)
	default:
		return fmt.Sprintf("%.1fd", s/86400)
	}
}
