package table

import tea "github.com/charmbracelet/bubbletea"

// Page is embedded by pages whose body is one table: it gives them the
// size, the filter (screen.Filterable), Init and Capturing.
type Page struct {
	// T is the page's table.
	T *Model
	// W and H are the body's size.
	W, H int
}

// Init implements tea.Model.
func (p *Page) Init() tea.Cmd { return nil }

// SetSize implements screen.Page: the table fills the body.
func (p *Page) SetSize(w, h int) { p.W, p.H = w, h; p.T.SetSize(w, h) }

// SetFilter implements screen.Filterable.
func (p *Page) SetFilter(s string) { p.T.SetFilter(s) }

// Filter implements screen.Filterable.
func (p *Page) Filter() string { return p.T.Filter() }

// Table returns the table, for tests.
func (p *Page) Table() *Model { return p.T }

// Capturing implements screen.Page: a table takes no text input.
func (p *Page) Capturing() bool { return false }
