package format

import (
	"strings"
	"testing"
)

func TestSparkline(t *testing.T) {
	g := []rune("_.-=+*#@")
	tests := []struct {
		in    []int64
		width int
		want  string
	}{
		{nil, 5, ""},
		{[]int64{0, 0, 0}, 5, "___"},
		{[]int64{0, 7, 14}, 5, "_=@"},
		{[]int64{1, 2, 3, 4, 5, 6}, 3, "+*@"},
		{[]int64{5, 5}, 5, "@@"},
	}
	for _, tt := range tests {
		if got := Sparkline(tt.in, g, tt.width); got != tt.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestCutAtWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want string
	}{
		{"Stable, 1 member(s)", 18, "Stable, 1…"},
		{"Stable, 1 member(s)", 19, "Stable, 1 member(s)"},
		{"starting task 1: producing to orders: NOT_LEADER", 20, "starting task 1…"},
		{"20261125-114500-a1b2c3", 10, "20261125-…"},
		{"abc", 1, "a"},
	} {
		if got := Cut(tc.in, tc.w, "…"); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := Wrap("starting task 1: producing to orders: context deadline exceeded", 20)
	want := []string{"starting task 1:", "producing to orders:", "context deadline", "exceeded"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Wrap = %q, want %q", got, want)
	}
	if got := Wrap("aaaaaaaaaaaa", 5); strings.Join(got, "|") != "aaaaa|aaaaa|aa" {
		t.Errorf("long word: %q", got)
	}
}
