package screen

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/kdeck/kdeck/tui/styles"
)

// GlobalKeys are the keys the root model handles on every page (unless the
// page is capturing input). Pages add their own key maps.
type GlobalKeys struct {
	Quit, Help, Command, Filter, Back, Suspend key.Binding
	Overview, Topics, Groups, Jobs, Audit      key.Binding
}

// DefaultGlobalKeys returns the global key map.
func DefaultGlobalKeys() GlobalKeys {
	return GlobalKeys{
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Command:  key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Suspend:  key.NewBinding(key.WithKeys("ctrl+z"), key.WithHelp("ctrl+z", "suspend")),
		Overview: key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "overview")),
		Topics:   key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "topics")),
		Groups:   key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "groups")),
		Jobs:     key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "jobs")),
		Audit:    key.NewBinding(key.WithKeys("5"), key.WithHelp("5", "audit")),
	}
}

// TableKeys are the keys of every table: movement and sorting.
type TableKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Sort, Reverse, Pane key.Binding
}

// DefaultTableKeys returns the table key map, naming the arrows with g.
func DefaultTableKeys(g styles.Glyphs) TableKeys {
	return TableKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp(g.Up+"/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp(g.Down+"/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Pane:     key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "next pane")),
	}
}

// List returns the movement and sort bindings for help.
func (k TableKeys) List() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown, k.Sort, k.Reverse}
}
