package styles

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestProfiles(t *testing.T) {
	tests := []struct {
		name    string
		profile termenv.Profile
		want    string // the accent colour's escape sequence
		noColor bool
	}{
		{"true colour", termenv.TrueColor, "38;2;95;175;255", false},
		{"256 colours", termenv.ANSI256, "38;5;75", false},
		{"16 colours", termenv.ANSI, "94", false},
		{"no colour", termenv.Ascii, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lipgloss.NewRenderer(io.Discard)
			r.SetColorProfile(tt.profile)
			st := New(DefaultTheme(), r, true)
			out := st.Accent.Render("x")
			if st.NoColor != tt.noColor {
				t.Fatalf("NoColor = %v", st.NoColor)
			}
			if tt.want == "" {
				if out != "x" {
					t.Fatalf("no-colour output %q has escapes", out)
				}
				return
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("accent renders %q, want %q in it", out, tt.want)
			}
		})
	}
}

// TestMono is NO_COLOR: an ANSI profile for attributes, no colour codes,
// selection in reverse video.
func TestMono(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI)
	st := New(MonoTheme(), r, true)
	if !st.NoColor {
		t.Fatal("a mono theme must set NoColor")
	}
	if sel := st.Selected.Render("x"); !strings.Contains(sel, "7m") {
		t.Fatalf("the selection must be reverse video, got %q", sel)
	}
	for _, s := range []lipgloss.Style{st.Accent, st.Bad, st.OK, st.Header, st.Selected, st.TabActive} {
		out := s.Render("x")
		for _, code := range []string{"[3", "[9", ";3", ";9", "[4", ";4"} {
			if strings.Contains(out, code) && !strings.Contains(out, "[4m") {
				t.Fatalf("mono style renders a colour: %q", out)
			}
		}
	}
}

func TestGlyphs(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	ascii := New(DefaultTheme(), r, false)
	if ascii.Border != lipgloss.ASCIIBorder() || string(ascii.Glyphs.Spark) != "_.-=+*#@" {
		t.Fatal("non-UTF-8 styles must use ASCII borders and glyphs")
	}
	utf := New(DefaultTheme(), r, true)
	if utf.Border != lipgloss.RoundedBorder() {
		t.Fatal("UTF-8 styles must use rounded borders")
	}
}

func TestUTF8Locale(t *testing.T) {
	tests := []struct {
		lcAll, lcCtype, lang string
		want                 bool
	}{
		{"", "", "en_US.UTF-8", true},
		{"", "", "C.utf8", true},
		{"", "", "C", false},
		{"", "", "", false},
		{"C", "", "en_US.UTF-8", false},
		{"", "de_DE.UTF-8", "C", true},
	}
	for _, tt := range tests {
		t.Setenv("LC_ALL", tt.lcAll)
		t.Setenv("LC_CTYPE", tt.lcCtype)
		t.Setenv("LANG", tt.lang)
		if got := UTF8Locale(); got != tt.want {
			t.Errorf("LC_ALL=%q LC_CTYPE=%q LANG=%q: %v, want %v", tt.lcAll, tt.lcCtype, tt.lang, got, tt.want)
		}
	}
}
