// Package styles holds the TUI's Styles: every colour, border and glyph the
// screens use, built once from a Theme and a lipgloss renderer so that
// NO_COLOR, 16-colour terminals and non-UTF-8 locales need no per-screen code.
//
//	r := lipgloss.NewRenderer(os.Stdout)
//	st := styles.New(styles.DefaultTheme(), r, styles.UTF8Locale())
//	fmt.Println(st.Title.Render("kdeck"))
package styles

import (
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Theme is a palette. Each colour gives true-colour, 256-colour and
// 16-colour values; the renderer's profile picks one.
type Theme struct {
	Accent, Muted, Text, OK, Warn, Bad, SelectedBg, SelectedFg lipgloss.CompleteColor
	// Mono marks a theme without colours (NO_COLOR, --no-color): styles
	// then use bold and reverse video only.
	Mono bool
}

// MonoTheme is the theme for NO_COLOR and --no-color: no colours at all,
// selection in reverse video.
func MonoTheme() Theme { return Theme{Mono: true} }

// DefaultTheme is kdeck's palette, readable on dark and light terminals.
func DefaultTheme() Theme {
	return Theme{
		Accent:     lipgloss.CompleteColor{TrueColor: "#5FAFFF", ANSI256: "75", ANSI: "12"},
		Muted:      lipgloss.CompleteColor{TrueColor: "#8A8A8A", ANSI256: "245", ANSI: "8"},
		Text:       lipgloss.CompleteColor{TrueColor: "#D0D0D0", ANSI256: "252", ANSI: "7"},
		OK:         lipgloss.CompleteColor{TrueColor: "#5FD75F", ANSI256: "77", ANSI: "10"},
		Warn:       lipgloss.CompleteColor{TrueColor: "#FFAF00", ANSI256: "214", ANSI: "11"},
		Bad:        lipgloss.CompleteColor{TrueColor: "#FF5F5F", ANSI256: "203", ANSI: "9"},
		SelectedBg: lipgloss.CompleteColor{TrueColor: "#303F5F", ANSI256: "24", ANSI: "4"},
		SelectedFg: lipgloss.CompleteColor{TrueColor: "#FFFFFF", ANSI256: "231", ANSI: "15"},
	}
}

// Glyphs are the characters drawn for sparklines, sort arrows and marks;
// ASCII ones are used when the locale is not UTF-8.
type Glyphs struct {
	Spark     []rune
	Asc, Desc string
	Ellipsis  string
	Cursor    string
	Sep       string
	// Up, Down, Left and Right name the arrow keys in help.
	Up, Down, Left, Right string
}

// Styles is every style of the TUI. Build it with New; it is a value and
// safe to copy.
type Styles struct {
	Renderer *lipgloss.Renderer
	Border   lipgloss.Border
	Glyphs   Glyphs
	// NoColor is true for a Mono theme or a profile without colours;
	// selection is then shown by reverse video (and the cursor glyph).
	NoColor bool

	App, Header, HeaderDim, Title, Tab, TabActive lipgloss.Style
	TableHeader, Row, Selected, Muted, Key        lipgloss.Style
	OK, Warn, Bad, Accent                         lipgloss.Style
	Status, StatusError, StatusInfo               lipgloss.Style
	Box, Dialog, DangerTitle, Label, Value        lipgloss.Style
}

// New builds Styles from a theme for the renderer's colour profile. utf8
// chooses rounded borders and block glyphs; without it everything is ASCII.
func New(t Theme, r *lipgloss.Renderer, utf8 bool) Styles {
	s := Styles{Renderer: r}
	s.NoColor = t.Mono || r.ColorProfile() == termenv.Ascii
	if utf8 {
		s.Border = lipgloss.RoundedBorder()
		s.Glyphs = Glyphs{Spark: []rune("▁▂▃▄▅▆▇█"), Asc: "▲", Desc: "▼", Ellipsis: "…", Cursor: "▌", Sep: "│",
			Up: "↑", Down: "↓", Left: "←", Right: "→"}
	} else {
		s.Border = lipgloss.ASCIIBorder()
		s.Glyphs = Glyphs{Spark: []rune("_.-=+*#@"), Asc: "^", Desc: "v", Ellipsis: "~", Cursor: ">", Sep: "|",
			Up: "up", Down: "down", Left: "left", Right: "right"}
	}
	n := r.NewStyle
	s.App = n()
	s.Header = n().Bold(true).Foreground(t.Accent)
	s.HeaderDim = n().Foreground(t.Muted)
	s.Title = n().Bold(true).Foreground(t.Accent)
	s.Tab = n().Foreground(t.Muted).Padding(0, 1)
	s.TabActive = n().Bold(true).Foreground(t.SelectedFg).Background(t.SelectedBg).Padding(0, 1)
	s.TableHeader = n().Bold(true).Foreground(t.Accent)
	s.Row = n()
	s.Selected = n().Bold(true).Foreground(t.SelectedFg).Background(t.SelectedBg)
	s.Muted = n().Foreground(t.Muted)
	s.Key = n().Bold(true).Foreground(t.Accent)
	s.OK = n().Foreground(t.OK)
	s.Warn = n().Foreground(t.Warn)
	s.Bad = n().Bold(true).Foreground(t.Bad)
	s.Accent = n().Foreground(t.Accent)
	s.Status = n().Foreground(t.Text)
	s.StatusError = n().Bold(true).Foreground(t.Bad)
	s.StatusInfo = n().Foreground(t.OK)
	s.Box = n().Border(s.Border).BorderForeground(t.Muted)
	s.Dialog = n().Border(s.Border).BorderForeground(t.Warn).Padding(0, 1)
	s.DangerTitle = n().Bold(true).Foreground(t.Bad)
	s.Label = n().Foreground(t.Muted)
	s.Value = n().Bold(true)
	if s.NoColor {
		s.TabActive = n().Reverse(true).Padding(0, 1)
		s.Selected = n().Reverse(true)
	}
	return s
}

// StatusWord returns the style for a lag or job status word: OK/RUNNING green,
// WARN/PAUSED amber, STALL/STOP/FAILED red, anything else plain.
func (s Styles) StatusWord(word string) lipgloss.Style {
	switch strings.ToUpper(word) {
	case "OK", "RUNNING", "STABLE", "OK ":
		return s.OK
	case "WARN", "PAUSED", "REWIND", "RESTARTING", "PREPARINGREBALANCE", "COMPLETINGREBALANCE", "RECONCILING", "ASSIGNING":
		return s.Warn
	case "STALL", "STOP", "FAILED", "ERR", "ERROR", "DOWN":
		return s.Bad
	}
	return s.Row
}

// UTF8Locale reports whether LC_ALL, LC_CTYPE or LANG (the first set, in
// that order) names a UTF-8 locale.
func UTF8Locale() bool {
	utf8, _ := LocaleUTF8(os.Getenv)
	return utf8
}

// LocaleUTF8 is UTF8Locale over any environment (an SSH client's): utf8
// reports whether the first of LC_ALL, LC_CTYPE and LANG that is set names
// a UTF-8 locale; set is false when none is set.
func LocaleUTF8(getenv func(string) string) (utf8, set bool) {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8"), true
		}
	}
	return false, false
}
