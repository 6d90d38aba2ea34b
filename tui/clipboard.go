package tui

import (
	"encoding/base64"
	"io"
	"os"
)

// osc52 returns the escape sequence that asks the terminal to put text on
// the system clipboard; it works over SSH. Inside tmux (TMUX set) it is
// wrapped in tmux's passthrough so tmux forwards it.
func osc52(text string, tmux bool) string {
	seq := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\x07"
	if tmux {
		return "\x1bPtmux;\x1b" + seq + "\x1b\\"
	}
	return seq
}

// copyTo writes the OSC 52 sequence for text to w.
func copyTo(w io.Writer, text string) error {
	_, err := io.WriteString(w, osc52(text, os.Getenv("TMUX") != ""))
	return err
}
