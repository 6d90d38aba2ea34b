package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/screen"
)

// command is one `:` command: its words, what argument it takes (a kind
// of name for completion, "" for none) and the page it opens.
type command struct {
	names []string
	arg   string
	page  screen.ID
}

var commands = []command{
	{names: []string{"overview", "o"}, page: screen.Overview},
	{names: []string{"topics", "t"}, page: screen.Topics},
	{names: []string{"topic"}, arg: "topic", page: screen.TopicDetail},
	{names: []string{"groups", "g"}, page: screen.Groups},
	{names: []string{"group"}, arg: "group", page: screen.GroupDetail},
	{names: []string{"records", "tail"}, arg: "topic", page: screen.Records},
	{names: []string{"jobs", "j"}, page: screen.Jobs},
	{names: []string{"job"}, arg: "job", page: screen.JobDetail},
	{names: []string{"audit", "a"}, page: screen.Audit},
	{names: []string{"schemas", "subjects"}, page: screen.Schemas},
	{names: []string{"workers", "w"}, page: screen.Workers},
	{names: []string{"cluster"}, arg: "cluster"},
	{names: []string{"help"}},
	{names: []string{"quit", "q"}},
}

func findCommand(word string) (command, bool) {
	for _, c := range commands {
		if slices.Contains(c.names, word) {
			return c, true
		}
	}
	return command{}, false
}

// loadNames fetches topic, group and job names for completion.
func (m *Model) loadNames() tea.Cmd {
	svc, cluster := m.c.Svc, m.c.Cluster
	ctx, cancel := m.c.Ctx()
	clusters := m.c.Info.Clusters
	return func() tea.Msg {
		defer cancel()
		names := map[string][]string{"cluster": clusters}
		if ts, err := svc.ListTopics(ctx, cluster, ops.ListTopicsOptions{}); err == nil {
			for _, t := range ts {
				names["topic"] = append(names["topic"], t.Name)
			}
		}
		if gs, err := svc.ListGroups(ctx, cluster); err == nil {
			for _, g := range gs {
				names["group"] = append(names["group"], g.Group)
			}
		}
		if js, err := svc.Jobs(ctx); err == nil {
			for _, j := range js {
				names["job"] = append(names["job"], j.Name)
			}
		}
		for _, v := range names {
			sort.Strings(v)
		}
		return namesMsg{names: names}
	}
}

// complete computes the candidates for the word being typed and, with
// apply, completes it to their longest common prefix (or the only one).
func (m *Model) complete(apply bool) {
	v := m.input.Value()
	fields := strings.Fields(v)
	var pool []string
	prefix := ""
	switch {
	case len(fields) == 0 || (len(fields) == 1 && !strings.HasSuffix(v, " ")):
		for _, c := range commands {
			pool = append(pool, c.names[0])
		}
		if len(fields) == 1 {
			prefix = fields[0]
		}
	default:
		c, ok := findCommand(fields[0])
		if !ok || c.arg == "" {
			m.cands = nil
			return
		}
		pool = m.names[c.arg]
		if len(fields) > 1 && !strings.HasSuffix(v, " ") {
			prefix = fields[len(fields)-1]
		}
	}
	var cands []string
	for _, p := range pool {
		if strings.HasPrefix(p, prefix) {
			cands = append(cands, p)
		}
	}
	m.cands = cands
	if !apply || len(cands) == 0 {
		return
	}
	lcp := cands[0]
	for _, c := range cands[1:] {
		for !strings.HasPrefix(c, lcp) {
			lcp = lcp[:len(lcp)-1]
		}
	}
	if len(cands) == 1 {
		lcp += " "
	}
	head := strings.TrimSuffix(v, prefix)
	m.input.SetValue(head + lcp)
	m.input.CursorEnd()
	m.complete(false)
}

func (m *Model) commandKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		m.mode = modeNormal
		m.input.Blur()
		return nil
	case tea.KeyTab:
		m.complete(true)
		return nil
	case tea.KeyEnter:
		m.mode = modeNormal
		m.input.Blur()
		return m.runCommand(m.input.Value())
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.complete(false)
	return cmd
}

// runCommand runs a command line such as "topic orders".
func (m *Model) runCommand(line string) tea.Cmd {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	c, ok := findCommand(fields[0])
	if !ok {
		var all []string
		for _, c := range commands {
			all = append(all, c.names[0])
		}
		m.status, m.statusErr = fmt.Sprintf("unknown command %q: use one of %s", fields[0], strings.Join(all, ", ")), true
		return nil
	}
	arg := strings.Join(fields[1:], " ")
	switch c.names[0] {
	case "quit":
		return tea.Quit
	case "help":
		m.showHelp = true
		return nil
	case "cluster":
		if arg == "" {
			m.status, m.statusErr = "cluster needs a name: "+strings.Join(m.c.Info.Clusters, ", "), true
			return nil
		}
		if !slices.Contains(m.c.Info.Clusters, arg) {
			m.status, m.statusErr = fmt.Sprintf("no cluster %q: configured clusters are %s", arg, strings.Join(m.c.Info.Clusters, ", ")), true
			return nil
		}
		m.c.Cluster = arg
		if arg == m.c.Info.DefaultCluster {
			m.c.Cluster = ""
		}
		m.names = map[string][]string{}
		m.stack = nil
		cmd := m.navigate(navEntry{id: screen.Overview}, false)
		m.status, m.statusErr = "switched to cluster "+arg, false
		return cmd
	}
	if c.arg != "" && arg == "" {
		if c.page == screen.TopicDetail || c.page == screen.Records {
			return m.navigate(navEntry{id: screen.Topics}, true)
		}
		m.status, m.statusErr = fmt.Sprintf("%s needs a %s name (tab completes)", c.names[0], c.arg), true
		return nil
	}
	if c.arg == "" && arg != "" {
		// ":groups demo" filters the list.
		return m.navigate(navEntry{id: c.page, arg: arg}, true)
	}
	return m.navigate(navEntry{id: c.page, arg: arg}, true)
}
