package spec

import (
	"fmt"
	"strings"
)

// Suggest returns `; did you mean "X"?` for the candidate nearest to word,
// or "" when none is close (an edit distance of about a third of the word,
// or one contains the other). Comparison ignores case.
func Suggest(word string, candidates []string) string {
	if s := Nearest(word, candidates); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

// Nearest returns the candidate nearest to word, or "" when none is close;
// Suggest phrases it.
func Nearest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(word), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(len(word)/3+1, 2)
	if bestD <= limit || (best != "" && (strings.Contains(best, word) || strings.Contains(word, best)) && len(word) > 2) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
