// Package records is the record browser: it tails a topic from the
// earliest or latest offset, an offset, the last N records or a time, and
// follows new records; a record's detail shows key, value (JSON
// pretty-printed), headers, timestamp, partition and offset.
//
//	p := records.New(c)
//	cmd := p.Open("demo.orders")
//
// The read runs in a goroutine owned by the page and stopped by Leave (or a
// new Open); records reach the model through a command that waits on a
// bounded channel and is reissued after each batch (backpressure: the read
// blocks while the channel is full).
package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/table"
)

// MaxRecords is how many records the browser keeps; older ones are dropped.
const MaxRecords = 5000

// batchMax is the most records one message carries.
const batchMax = 500

// Msg carries a batch of records of read Gen; Done with Err when the read
// ended.
type Msg struct {
	Gen     int
	Records []ops.Record
	Done    bool
	Err     error
}

// item is what the read goroutine sends.
type item struct {
	rec  ops.Record
	done bool
	err  error
}

// Keys are the record browser's keys.
type Keys struct {
	Open, From, Follow, CopyValue, CopyRecord key.Binding
	Table                                     screen.TableKeys
}

// Page is the record browser page.
type Page struct {
	c     *screen.Common
	topic string
	t     *table.Model
	recs  map[string]ops.Record
	keys  Keys

	req    ops.ReadRequest
	fromIn textinput.Model
	asking bool

	gen     int
	ch      chan item
	cancel  context.CancelFunc
	reading bool
	count   int
	err     error

	detail *ops.Record
	vp     viewport.Model
	w, h   int
}

// New returns the record browser.
func New(c *screen.Common) *Page {
	t := table.New(&c.Styles, []table.Column{
		{Title: "PART", Width: 4, Right: true},
		{Title: "OFFSET", Width: 9, Right: true},
		{Title: "TIMESTAMP", Width: 12},
		{Title: "KEY", Width: 14},
		{Title: "VALUE", Width: 10, Flex: true},
	})
	t.Empty = "no records yet (waiting for new ones; f changes where to start)"
	in := screen.NewInput("from: ", 64)
	in.Placeholder = "earliest | latest | OFFSET | -N (last N) | time (2026-11-25T10:00:00Z, 10m ago)"
	return &Page{c: c, t: t, recs: map[string]ops.Record{}, fromIn: in,
		req: ops.ReadRequest{From: ops.FromTail, Offset: 20, Follow: true},
		keys: Keys{
			Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "record detail")),
			From:       key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "start from")),
			Follow:     key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "follow on/off")),
			CopyValue:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy value")),
			CopyRecord: key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy record (JSON)")),
			Table:      t.Keys,
		}}
}

// Init implements tea.Model.
func (p *Page) Init() tea.Cmd { return nil }

// Title implements screen.Page.
func (p *Page) Title() string { return "records " + p.topic }

// SetSize implements screen.Page.
func (p *Page) SetSize(w, h int) {
	p.w, p.h = w, h
	p.t.SetSize(w, max(h-1, 2))
	p.vp.Width, p.vp.Height = w, max(h-1, 1)
	p.fromIn.Width = max(w-10, 10)
}

// Loading implements screen.Page: true until the first batch of a read.
func (p *Page) Loading() bool { return p.reading && p.count == 0 && p.req.From != ops.FromLatest }

// Capturing implements screen.Page.
func (p *Page) Capturing() bool { return p.asking }

// Refresh implements screen.Page; the tail is live by itself.
func (p *Page) Refresh() tea.Cmd { return nil }

// SetFilter implements screen.Filterable.
func (p *Page) SetFilter(s string) { p.t.SetFilter(s) }

// Filter implements screen.Filterable.
func (p *Page) Filter() string { return p.t.Filter() }

// Table returns the records table, for tests.
func (p *Page) Table() *table.Model { return p.t }

// Open implements screen.Page: it starts reading topic arg (again).
func (p *Page) Open(arg string) tea.Cmd {
	if arg != "" {
		p.topic = arg
	}
	if p.topic == "" {
		return screen.Status("records needs a topic: :records TOPIC, or t on a topic")
	}
	p.detail = nil
	return p.start()
}

// Leave implements screen.Leaver: it stops the read; messages of the
// stopped read that are still on their way are dropped.
func (p *Page) Leave() {
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.reading = false
	p.gen++
}

// start stops any read and starts a new one from p.req.
func (p *Page) start() tea.Cmd {
	p.Leave()
	p.t.SetRows(nil)
	p.recs = map[string]ops.Record{}
	p.count, p.err = 0, nil
	ctx, cancel := context.WithCancel(p.c.Context())
	p.cancel = cancel
	ch := make(chan item, batchMax)
	p.ch = ch
	p.reading = true
	svc, cluster, req := p.c.Svc, p.c.Cluster, p.req
	req.Topic = p.topic
	// Records in the Schema Registry wire format show decoded (auto:
	// others as read; without a registry nothing is decoded).
	req.Decode, req.PrettyTime = "auto", true
	go func() {
		err := svc.ReadRecords(ctx, cluster, req, func(r ops.Record) error {
			select {
			case ch <- item{rec: r}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if ctx.Err() != nil {
			err = nil
		}
		select {
		case ch <- item{done: true, err: err}:
		case <-ctx.Done():
		}
		close(ch)
	}()
	return wait(p.gen, ch)
}

// wait returns a command that blocks for the next record and then takes
// what else is ready, up to batchMax.
func wait(gen int, ch chan item) tea.Cmd {
	return func() tea.Msg {
		it, ok := <-ch
		if !ok {
			return Msg{Gen: gen, Done: true}
		}
		m := Msg{Gen: gen}
		add := func(it item) bool {
			if it.done {
				m.Done, m.Err = true, it.err
				return false
			}
			m.Records = append(m.Records, it.rec)
			return len(m.Records) < batchMax
		}
		if !add(it) {
			return m
		}
		for {
			select {
			case it, ok := <-ch:
				if !ok {
					m.Done = true
					return m
				}
				if !add(it) {
					return m
				}
			default:
				return m
			}
		}
	}
}

// Back implements screen.Backer: esc closes the record detail first.
func (p *Page) Back() bool {
	if p.detail != nil {
		p.detail = nil
		return true
	}
	return false
}

// Update implements tea.Model.
func (p *Page) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Msg:
		if msg.Gen != p.gen {
			return p, nil
		}
		p.addRecords(msg.Records)
		if msg.Done {
			p.reading = false
			if msg.Err != nil {
				p.err = msg.Err
				return p, screen.Error(msg.Err)
			}
			if p.req.Follow {
				return p, screen.Status(fmt.Sprintf("read %d record(s) of %s; the read ended", p.count, p.topic))
			}
			return p, screen.Status(fmt.Sprintf("read %d record(s) of %s up to the end (F follows new records)", p.count, p.topic))
		}
		return p, wait(p.gen, p.ch)
	case tea.KeyMsg:
		if p.asking {
			return p, p.fromKey(msg)
		}
		if p.detail != nil {
			return p, p.detailKey(msg)
		}
		r, ok := p.t.Selected()
		switch {
		case key.Matches(msg, p.keys.Open) && ok:
			rec := p.recs[r.ID]
			p.detail = &rec
			p.vp.SetContent(p.detailText(rec))
			p.vp.GotoTop()
		case key.Matches(msg, p.keys.From):
			p.asking = true
			p.fromIn.SetValue("")
			p.fromIn.Focus()
		case key.Matches(msg, p.keys.Follow):
			p.req.Follow = !p.req.Follow
			return p, p.start()
		case key.Matches(msg, p.keys.CopyValue) && ok:
			return p, screen.Copy("value", string(shownValue(p.recs[r.ID])))
		case key.Matches(msg, p.keys.CopyRecord) && ok:
			return p, screen.Copy("record", recordJSON(p.recs[r.ID]))
		default:
			p.t.Update(msg)
		}
	}
	return p, nil
}

func (p *Page) detailKey(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, p.keys.CopyValue):
		return screen.Copy("value", string(shownValue(*p.detail)))
	case key.Matches(msg, p.keys.CopyRecord):
		return screen.Copy("record", recordJSON(*p.detail))
	}
	var cmd tea.Cmd
	p.vp, cmd = p.vp.Update(msg)
	return cmd
}

// fromKey edits the start position; enter restarts the read.
func (p *Page) fromKey(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEsc:
		p.asking = false
		return nil
	case tea.KeyEnter:
		req, err := ParseFrom(p.fromIn.Value(), p.c.Now())
		if err != nil {
			return screen.Error(err)
		}
		p.asking = false
		req.Follow = p.req.Follow
		p.req = req
		return p.start()
	}
	var cmd tea.Cmd
	p.fromIn, cmd = p.fromIn.Update(msg)
	return cmd
}

// ParseFrom reads a start position: "earliest", "latest", an offset, -N for
// the last N records of each partition, or a time (timespec.ParseTime).
func ParseFrom(s string, now time.Time) (ops.ReadRequest, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "earliest", "beginning", "start":
		return ops.ReadRequest{From: ops.FromEarliest}, nil
	case "latest", "end", "":
		return ops.ReadRequest{From: ops.FromLatest}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return ops.ReadRequest{From: ops.FromTail, Offset: -n}, nil
		}
		return ops.ReadRequest{From: ops.FromOffset, Offset: n}, nil
	}
	t, err := timespec.ParseTime(s, now)
	if err != nil {
		return ops.ReadRequest{}, fmt.Errorf("%q is not a start position: use earliest, latest, an offset, -N for the last N records, or a time such as 2026-11-25T10:00:00Z or 10m ago", s)
	}
	return ops.ReadRequest{From: ops.FromTime, Time: t}, nil
}

func (p *Page) addRecords(recs []ops.Record) {
	if len(recs) == 0 {
		return
	}
	loc := p.c.Now().Location()
	rows := make([]table.Row, len(recs))
	for i, r := range recs {
		id := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
		p.recs[id] = r
		rows[i] = table.Row{ID: id,
			Cells: []string{fmt.Sprint(r.Partition), fmt.Sprint(r.Offset), r.Timestamp.In(loc).Format("15:04:05.000"), oneLine(shownKey(r), 40), oneLine(shownValue(r), 300)},
			Sort:  []any{r.Partition, r.Offset, r.Timestamp, string(r.Key), string(r.Value)}}
	}
	p.count += len(recs)
	p.t.Append(rows, MaxRecords)
	if len(p.recs) > 2*MaxRecords {
		keep := map[string]ops.Record{}
		for _, r := range p.t.Rows() {
			keep[r.ID] = p.recs[r.ID]
		}
		p.recs = keep
	}
}

// oneLine renders bytes for a table cell: at most n bytes, control
// characters and newlines as spaces, non-UTF-8 as hex.
func oneLine(b []byte, n int) string {
	if b == nil {
		return "(null)"
	}
	if len(b) > n {
		b = b[:n]
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("0x%x", b)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, string(b))
}

// Pretty returns a record value for reading: JSON indented when it is JSON,
// text as is, other bytes as hex.
func Pretty(b []byte) string {
	if b == nil {
		return "(null)"
	}
	if json.Valid(b) {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err == nil {
			return out.String()
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return fmt.Sprintf("%x", b)
}

func recordJSON(r ops.Record) string {
	type hdr struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	v := struct {
		Topic     string          `json:"topic"`
		Partition int32           `json:"partition"`
		Offset    int64           `json:"offset"`
		Timestamp time.Time       `json:"timestamp"`
		Key       *string         `json:"key"`
		Value     json.RawMessage `json:"value"`
		Headers   []hdr           `json:"headers,omitempty"`
	}{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp}
	if r.Key != nil {
		k := string(r.Key)
		v.Key = &k
	}
	if val := shownValue(r); json.Valid(val) && len(val) > 0 {
		v.Value = val
	} else {
		s, _ := json.Marshal(string(val))
		v.Value = s
	}
	for _, h := range r.Headers {
		v.Headers = append(v.Headers, hdr{Key: h.Key, Value: string(h.Value)})
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func (p *Page) detailText(r ops.Record) string {
	st := p.c.Styles
	var b strings.Builder
	l := func(k, v string) { b.WriteString(st.Label.Render(fmt.Sprintf("%-10s", k)) + " " + v + "\n") }
	l("topic", r.Topic)
	l("partition", fmt.Sprint(r.Partition))
	l("offset", fmt.Sprint(r.Offset))
	l("timestamp", r.Timestamp.UTC().Format(time.RFC3339Nano)+"  ("+r.Timestamp.In(p.c.Now().Location()).Format("2006-01-02 15:04:05.000 MST")+")")
	l("key", Pretty(shownKey(r)))
	if len(r.Headers) == 0 {
		l("headers", st.Muted.Render("none"))
	} else {
		l("headers", "")
		for _, h := range r.Headers {
			b.WriteString("  " + h.Key + " = " + oneLine(h.Value, 200) + "\n")
		}
	}
	kind := "text"
	if json.Valid(r.Value) {
		kind = "JSON"
	}
	if d := r.ValueDecoded; d != nil && d.Error == "" {
		kind = fmt.Sprintf("%s, subject %s version %d, schema id %d", d.Format, d.Subject, d.Version, d.SchemaID)
	} else if d != nil {
		kind = "not decoded: " + d.Error
	}
	l("value", st.Muted.Render(fmt.Sprintf("%d bytes, %s", len(r.Value), kind)))
	b.WriteString(Pretty(shownValue(r)))
	return b.String()
}

// shownValue is a record's value as the console shows it: the JSON decoded
// through the Schema Registry, else the bytes as read.
func shownValue(r ops.Record) []byte {
	if d := r.ValueDecoded; d != nil && d.Error == "" {
		return d.JSON
	}
	return r.Value
}

// shownKey is shownValue for the key.
func shownKey(r ops.Record) []byte {
	if d := r.KeyDecoded; d != nil && d.Error == "" {
		return d.JSON
	}
	return r.Key
}

// View implements tea.Model.
func (p *Page) View() string {
	st := p.c.Styles
	from := map[ops.FromKind]string{ops.FromEarliest: "earliest", ops.FromLatest: "latest", ops.FromOffset: fmt.Sprintf("offset %d", p.req.Offset),
		ops.FromTail: fmt.Sprintf("last %d per partition", p.req.Offset), ops.FromTime: "time " + p.req.Time.UTC().Format(time.RFC3339)}[p.req.From]
	state := st.Muted.Render("stopped")
	if p.reading && p.req.Follow {
		state = st.OK.Render("following")
	} else if p.reading {
		state = st.Warn.Render("reading")
	}
	head := fmt.Sprintf(" %s  %s %s  %s  %s %s", st.Title.Render(p.topic), st.Label.Render("from"), from, state,
		st.Label.Render("records"), fmt.Sprint(p.t.Total()))
	if p.asking {
		head = " " + p.fromIn.View()
	}
	if p.detail != nil {
		return lipgloss.JoinVertical(lipgloss.Left, head, p.vp.View())
	}
	return lipgloss.JoinVertical(lipgloss.Left, lipgloss.NewStyle().MaxWidth(p.w).Render(head), p.t.View())
}

// ShortHelp implements help.KeyMap.
func (p *Page) ShortHelp() []key.Binding {
	if p.detail != nil {
		return []key.Binding{p.keys.CopyValue, p.keys.CopyRecord, screen.DefaultGlobalKeys().Back}
	}
	return []key.Binding{p.keys.Open, p.keys.From, p.keys.Follow, p.keys.CopyValue}
}

// FullHelp implements help.KeyMap.
func (p *Page) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.keys.Open, p.keys.From, p.keys.Follow, p.keys.CopyValue, p.keys.CopyRecord}, p.keys.Table.List()}
}
