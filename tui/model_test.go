package tui

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/tui/audit"
	"github.com/kdeck/kdeck/tui/groups"
	"github.com/kdeck/kdeck/tui/jobs"
	"github.com/kdeck/kdeck/tui/plandialog"
	"github.com/kdeck/kdeck/tui/records"
	"github.com/kdeck/kdeck/tui/screen"
	"github.com/kdeck/kdeck/tui/tuitest"
)

func TestNavigation(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.wantPage(screen.Overview, "")
	h.wantScreen("Clusters", "Most lag on local", "demo-billing")

	h.keys("3")
	h.wantPage(screen.Groups, "")
	h.keys("enter")
	h.wantPage(screen.GroupDetail, "demo-billing")
	h.wantScreen("group demo-billing", "COMMITTED", "members (0)")
	h.keys("t")
	h.wantPage(screen.Records, "demo.orders")
	h.keys("esc")
	h.wantPage(screen.GroupDetail, "demo-billing")
	h.keys("esc")
	h.wantPage(screen.Groups, "")
	h.keys("esc")
	h.wantPage(screen.Overview, "")

	h.keys(":", "topic demo.clicks", "enter")
	h.wantPage(screen.TopicDetail, "demo.clicks")
	h.wantScreen("configs (3)", "cleanup.policy")
	h.keys("tab", "y")
	if !strings.Contains(h.clip.String(), base64.StdEncoding.EncodeToString([]byte("cleanup.policy=delete"))) {
		t.Fatalf("tab then y should copy the selected config, clipboard got %q", h.clip.String())
	}

	h.keys("4")
	h.wantPage(screen.Jobs, "")
	h.keys("5")
	h.wantPage(screen.Audit, "")
	h.keys("2", "down", "enter")
	h.wantPage(screen.TopicDetail, "demo.clicks")
	h.keys("?")
	h.wantScreen("Keys on topic demo.clicks", "tail records")
	h.keys("x")
	h.wantScreen("PART LEADER")

	h.keys("q")
	if !h.quit {
		t.Fatal("q did not quit")
	}
}

func TestClusterCommand(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("3", ":", "cluster nope", "enter")
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, `no cluster "nope"`) {
		t.Fatalf("status = %q (error %v), want an error naming the cluster", s, isErr)
	}
	h.wantPage(screen.Groups, "")
	h.keys(":", "cluster prod", "enter")
	h.wantPage(screen.Overview, "")
	if got := h.m.Common().ClusterName(); got != "prod" {
		t.Fatalf("cluster = %q, want prod", got)
	}
	h.wantScreen("cluster prod", "Most lag on prod")
}

func TestCommandCompletion(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys(":", "gr", "tab")
	if got := h.m.input.Value(); got != "group" {
		t.Fatalf("after gr<tab> the line is %q, want %q", got, "group")
	}
	h.wantScreen("groups group")
	h.keys("s", "backspace", " ", "demo-o", "tab")
	if got := h.m.input.Value(); got != "group demo-orders-reader " {
		t.Fatalf("after 'group demo-o<tab>' the line is %q", got)
	}
	h.keys("enter")
	h.wantPage(screen.GroupDetail, "demo-orders-reader")

	h.keys(":", "topic demo.", "tab")
	h.wantScreen("demo.clicks demo.orders")
	h.keys("c", "tab", "enter")
	h.wantPage(screen.TopicDetail, "demo.clicks")

	h.keys(":", "frobnicate", "enter")
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "unknown command") {
		t.Fatalf("status = %q, want unknown command", s)
	}
}

func TestFilter(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("3", "/", "READER")
	tbl := h.m.Page().(*groups.List).Table()
	if tbl.Len() != 1 || tbl.Rows()[0].ID != "demo-orders-reader" {
		t.Fatalf("filter READER shows %d rows, want only demo-orders-reader", tbl.Len())
	}
	h.keys("enter")
	h.wantScreen("filter: READER")
	h.refresh()
	if tbl.Len() != 1 {
		t.Fatalf("a refresh dropped the filter: %d rows", tbl.Len())
	}
	h.keys("esc")
	if tbl.Len() != 3 {
		t.Fatalf("esc should clear the filter, %d rows shown", tbl.Len())
	}
	h.wantPage(screen.Groups, "")

	h.keys("/", "zzz")
	h.wantScreen("no consumer groups")
	h.keys("esc")
	if tbl.Len() != 3 {
		t.Fatalf("esc in the filter line should clear it, %d rows shown", tbl.Len())
	}
	h.keys("1", "/")
	if s, _ := h.m.StatusLine(); !strings.Contains(s, "no table") {
		t.Fatalf("/ on the overview: status %q", s)
	}
}

func TestSort(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("3")
	tbl := h.m.Page().(*groups.List).Table()
	order := func() string {
		var ids []string
		for _, r := range tbl.Rows() {
			ids = append(ids, r.ID)
		}
		return strings.Join(ids, " ")
	}
	steps := []struct {
		keys string
		want string
	}{
		{"", "demo-billing demo-orders-reader analytics"},
		{"s", "analytics demo-billing demo-orders-reader"},    // GROUP A-Z
		{"S", "demo-orders-reader demo-billing analytics"},    // GROUP Z-A
		{"ss", "analytics demo-orders-reader demo-billing"},   // MEMB, biggest first
		{"s", "demo-billing demo-orders-reader analytics"},    // LAG, biggest first
		{"S", "analytics demo-orders-reader demo-billing"},    // LAG, smallest first
		{"s", "demo-billing demo-orders-reader analytics"},    // TIME LAG
		{"ssss", "demo-billing demo-orders-reader analytics"}, // back to unsorted
	}
	for _, s := range steps {
		if s.keys != "" {
			h.keys(s.keys)
		}
		if got := order(); got != s.want {
			col, desc := tbl.SortColumn()
			t.Fatalf("after %q (sort column %d desc %v): %s, want %s", s.keys, col, desc, got, s.want)
		}
	}
	h.keys("G")
	if r, _ := tbl.Selected(); r.ID != "analytics" {
		t.Fatalf("G selected %s", r.ID)
	}
	h.keys("g")
	if r, _ := tbl.Selected(); r.ID != "demo-billing" {
		t.Fatalf("g selected %s", r.ID)
	}
}

// openReset walks to group's detail and opens the reset (or replay) dialog.
func openReset(h *harness, group string, replay bool) *groups.ResetDialog {
	h.t.Helper()
	h.keys(":", "group "+group, "enter")
	if replay {
		h.keys("R")
	} else {
		h.keys("r")
	}
	d := h.m.Page().(*groups.Detail).Dialog()
	if d == nil {
		h.t.Fatalf("no dialog:\n%s", h.screen())
	}
	return d
}

func TestResetDialog(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 120, 40)
	d := openReset(h, "demo-billing", false)
	h.wantScreen("Reset offsets of demo-billing", "all topics of the group", "to-earliest")
	h.keys("enter")
	if d.Confirm() == nil {
		t.Fatalf("enter did not show the plan:\n%s", h.screen())
	}
	h.wantScreen("6 partitions, 6 changed, 8,700 records read again, 0 skipped", "Type demo-billing to execute")
	if got := f.CallLog(); len(got) != 1 || got[0] != "PlanReset demo-billing to-earliest" {
		t.Fatalf("calls = %q", got)
	}

	// A wrong name is refused and executes nothing.
	h.keys("demo-bill", "enter")
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, `type the group name "demo-billing" exactly`) {
		t.Fatalf("status = %q (error %v)", s, isErr)
	}
	if len(f.Executed) != 0 || d.Confirm().State() != plandialog.Confirming {
		t.Fatalf("a wrong confirmation executed the plan")
	}
	// q is text here, not quit.
	h.keys("q")
	if h.quit {
		t.Fatal("q in the confirmation quit kdeck")
	}
	h.keys("backspace", "ing", "enter")
	if len(f.Executed) != 1 || f.Executed[0].Group != "demo-billing" || f.Executed[0].Rows[0].New != 0 {
		t.Fatalf("executed %+v", f.Executed)
	}
	id := d.Confirm().Entry().ID
	h.wantScreen("Done.", id)
	if s, _ := h.m.StatusLine(); !strings.Contains(s, id) {
		t.Fatalf("status %q lacks the audit id %s", s, id)
	}
	h.keys("enter")
	if h.m.Page().(*groups.Detail).Dialog() != nil {
		t.Fatal("enter after done did not close the dialog")
	}
	h.wantPage(screen.GroupDetail, "demo-billing")
}

func TestResetDialogModes(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		wantErr string
		wantNew int64 // New offset of partition 0 (committed 1500, end 2000)
	}{
		{name: "to-latest", keys: []string{"down", "right", "enter"}, wantNew: 2000},
		{name: "shift-by", keys: []string{"down", "right", "right", "down", "-100", "enter"}, wantNew: 1400},
		{name: "to-offset", keys: []string{"down", "left", "left", "left", "left", "down", "1234", "enter"}, wantNew: 1234},
		{name: "shift-by not a number", keys: []string{"down", "right", "right", "down", "abc", "enter"}, wantErr: "shift-by needs a whole number"},
		{name: "to-datetime bad", keys: []string{"down", "right", "right", "right", "right", "down", "yesterday-ish", "enter"}, wantErr: "to-datetime"},
		{name: "partition scope", keys: []string{"left", "enter"}, wantNew: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tuitest.New()
			h := newHarness(t, f, 120, 40)
			d := openReset(h, "demo-billing", false)
			h.keys(tt.keys...)
			if tt.wantErr != "" {
				if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, tt.wantErr) {
					t.Fatalf("status = %q, want error containing %q", s, tt.wantErr)
				}
				if d.Confirm() != nil || len(f.CallLog()) != 0 {
					t.Fatalf("bad input reached ops: %q", f.CallLog())
				}
				return
			}
			if d.Confirm() == nil {
				t.Fatalf("no plan:\n%s", h.screen())
			}
			p := d.Confirm().Plan()
			if p.Rows[0].New != tt.wantNew {
				t.Fatalf("partition 0 new offset = %d, want %d", p.Rows[0].New, tt.wantNew)
			}
			if tt.name == "partition scope" && len(p.Rows) != 1 {
				t.Fatalf("partition scope planned %d rows", len(p.Rows))
			}
		})
	}
}

func TestReplayDialog(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 120, 40)
	d := openReset(h, "demo-orders-reader", true)
	h.wantScreen("Replay demo-orders-reader into another group", "demo-orders-reader-replay")
	h.keys("enter")
	h.wantScreen("Replay demo-orders-reader as demo-orders-reader-replay", "Type demo-orders-reader-replay to execute")
	h.keys("demo-orders-reader", "enter")
	if len(f.Executed) != 0 {
		t.Fatal("typing the source group confirmed a replay into another group")
	}
	h.keys("-replay", "enter")
	if len(f.Executed) != 1 || f.Executed[0].Group != "demo-orders-reader-replay" || f.Executed[0].SourceGroup != "demo-orders-reader" {
		t.Fatalf("executed %+v", f.Executed)
	}
	if d.Confirm().State() != plandialog.Done {
		t.Fatalf("state %v", d.Confirm().State())
	}
}

func TestResetActiveGroupRefused(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 120, 40)
	d := openReset(h, "demo-orders-reader", false)
	h.wantScreen("1 active member(s)")
	h.keys("enter", "demo-orders-reader", "enter")
	if d.Confirm().State() != plandialog.Failed || !errors.Is(d.Confirm().Err(), ops.ErrGroupActive) {
		t.Fatalf("state %v err %v", d.Confirm().State(), d.Confirm().Err())
	}
	h.wantScreen("Refused:", "Nothing was changed")
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "active member") {
		t.Fatalf("status = %q", s)
	}
}

func TestReadOnly(t *testing.T) {
	f := tuitest.New()
	f.InfoValue.ReadOnly = true
	h := newHarness(t, f, 120, 40)
	h.wantScreen("READ-ONLY")
	h.keys(":", "group demo-billing", "enter")
	h.wantScreen("read-only: reset and replay are disabled", "reset: off, read-only")
	h.keys("r")
	if h.m.Page().(*groups.Detail).Dialog() != nil {
		t.Fatal("r opened the reset dialog in read-only mode")
	}
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "read-only mode") {
		t.Fatalf("status = %q", s)
	}
	h.keys("5", "u")
	if h.m.Page().(*audit.Page).Dialog() != nil {
		t.Fatal("u planned an undo in read-only mode")
	}
	h.keys(":", "job orders-datagen", "enter", "p")
	if h.m.Page().(*jobs.Detail).Pending() != "" {
		t.Fatal("p asked to pause a job in read-only mode")
	}
	if len(f.CallLog()) != 0 {
		t.Fatalf("read-only mode called %q", f.CallLog())
	}
}

func TestUndo(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 120, 40)
	openReset(h, "demo-billing", false)
	h.keys("enter", "demo-billing", "enter", "enter")
	resetID := f.AuditList[0].ID

	h.keys("5")
	tbl := h.m.Page().(*audit.Page).Table()
	if r, _ := tbl.Selected(); r.ID != resetID {
		t.Fatalf("newest entry %s is not first (%s)", resetID, r.ID)
	}
	h.keys("enter")
	h.wantScreen("offsets.reset", "BEFORE", "u plans an undo")
	h.keys("u")
	dlg := h.m.Page().(*audit.Page).Dialog()
	if dlg == nil {
		t.Fatalf("u did not plan an undo:\n%s", h.screen())
	}
	h.wantScreen("Undo "+resetID, "undoes "+resetID, "Type demo-billing to execute")
	h.keys("x", "enter")
	if len(f.Executed) != 1 {
		t.Fatal("a wrong confirmation executed the undo")
	}
	h.keys("backspace", "demo-billing", "enter")
	if len(f.Executed) != 2 || f.Executed[1].Kind != ops.PlanUndo || f.Executed[1].UndoOf != resetID || f.Executed[1].Rows[0].New != 1500 {
		t.Fatalf("executed %+v", f.Executed[len(f.Executed)-1])
	}
	h.keys("esc")
	h.wantPage(screen.Audit, "")
	h.wantScreen("offsets.undo")
}

func TestUndoRefusedForEntryWithoutOffsets(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("5", "down", "u")
	if h.m.Page().(*audit.Page).Dialog() != nil {
		t.Fatal("undo of topics.create planned")
	}
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "nothing to undo") {
		t.Fatalf("status = %q", s)
	}
}

func TestJobs(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 120, 40)
	h.keys("4")
	h.wantScreen("orders-by-customer", "FAILED", "1/2", "task 1: starting task 1…")
	h.keys("enter")
	h.wantPage(screen.JobDetail, "orders-by-customer")
	// enter on the failed task shows its whole error, wrapped; esc closes.
	h.keys("down", "enter")
	h.wantScreen("task 1", "starting task 1: restoring store demo-counts from changelog", "no space left on device", "esc close")
	h.keys("p")
	if len(f.CallLog()) != 0 {
		t.Fatal("p in the task detail paused the job")
	}
	h.keys("esc")
	h.wantPage(screen.JobDetail, "orders-by-customer")
	h.keys("p")
	h.wantScreen("Pause job orders-by-customer?", "enter confirms")
	h.keys("esc")
	if len(f.CallLog()) != 0 {
		t.Fatal("esc still paused the job")
	}
	h.keys("p", "enter")
	if got := f.CallLog(); len(got) != 1 || got[0] != "JobAction orders-by-customer pause" {
		t.Fatalf("calls %q", got)
	}
	h.wantScreen("PAUSED")
	h.keys("x", "enter")
	if len(f.CallLog()) != 1 {
		t.Fatal("stop ran without the job name typed")
	}
	h.keys("orders-by-customer", "enter")
	if got := f.CallLog(); len(got) != 2 || got[1] != "JobAction orders-by-customer stop" {
		t.Fatalf("calls %q", got)
	}
	h.wantScreen("STOPPED")

	f.JobList = nil
	h.keys("4")
	h.wantScreen(jobs.EmptyHint[:40])
}

func TestRecords(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("2", "t")
	h.wantPage(screen.Records, "demo.orders")
	h.wantScreen("customer-03", "plain text, not JSON", "records 6")
	h.keys("g", "enter")
	h.wantScreen("partition  0", "offset     1990", "source = demo", "2026-11-25T11:59:55Z", `"customer": "customer-00"`, "JSON")
	h.keys("y")
	want := base64.StdEncoding.EncodeToString([]byte(`{"id":1000,"customer":"customer-00","amount":10.50,"currency":"EUR"}`))
	if !strings.Contains(h.clip.String(), "\x1b]52;c;"+want+"\x07") {
		t.Fatalf("y wrote %q, want the OSC 52 sequence of the value", h.clip.String())
	}
	h.keys("esc")
	h.wantPage(screen.Records, "demo.orders")
	h.wantScreen("OFFSET")
	h.keys("f", "nonsense", "enter")
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "not a start position") {
		t.Fatalf("status %q", s)
	}
	h.keys("esc", "f", "earliest", "enter")
	h.wantScreen("from earliest")
}

func TestErrorsGoToStatusLine(t *testing.T) {
	f := tuitest.New()
	h := newHarness(t, f, 80, 24)
	h.keys("3")
	f.Err = errors.New(`cluster "local" (127.0.0.1:9092) is unreachable: connection refused`)
	h.refresh()
	if s, isErr := h.m.StatusLine(); !isErr || !strings.Contains(s, "unreachable") {
		t.Fatalf("status = %q", s)
	}
	h.wantScreen("demo-billing", "unreachable")
	f.Err = nil
	h.refresh()
	h.keys("enter")
	h.wantPage(screen.GroupDetail, "demo-billing")
}

func TestRefreshDoesNotStack(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24)
	l := groups.NewList(h.m.Common())
	if l.Refresh() == nil {
		t.Fatal("first refresh returned no command")
	}
	if l.Refresh() != nil {
		t.Fatal("a refresh while one is in flight issued another call")
	}
}

func TestQuit(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24)
	openReset(h, "demo-billing", false)
	h.keys("q")
	if h.quit {
		t.Fatal("q quit from inside a dialog")
	}
	h.keys("ctrl+c")
	if !h.quit {
		t.Fatal("ctrl+c did not quit")
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(nil); !errors.Is(err, ErrNoService) {
		t.Fatalf("New(nil) = %v", err)
	}
	if _, err := New(tuitest.New(), WithRefresh(0)); err == nil || !strings.Contains(err.Error(), "refresh") {
		t.Fatalf("WithRefresh(0) = %v", err)
	}
	if _, err := New(tuitest.New(), WithStart("nowhere", "")); err == nil {
		t.Fatal("unknown start page accepted")
	}
}

func TestRecordsStopWhenLeft(t *testing.T) {
	h := newHarness(t, tuitest.New(), 80, 24)
	h.keys(":", "records demo.orders", "enter")
	p := h.m.Page().(*records.Page)
	// A batch of the read arrives after the user left the page.
	h.keys("esc")
	h.send(records.Msg{Gen: 1, Records: tuitest.New().RecordList, Done: true})
	if s, _ := h.m.StatusLine(); strings.Contains(s, "record(s)") {
		t.Fatalf("a stopped read reported on another page: %q", s)
	}
	if p.Loading() {
		t.Fatal("the records page still reads after it was left")
	}
}

// Keys that arrive in one terminal read come as one KeyRunes message
// (":topic" then " " then "demo.orders"): the console takes them one by
// one, so ":" opens the command line as when typed slowly. Before, the
// runes reached the page as ":topic", the command line never opened and
// Enter opened the group under the cursor.
func TestCoalescedKeys(t *testing.T) {
	h := newHarness(t, tuitest.New(), 120, 40)
	h.keys("3")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(":topic")})
	h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("demo.orders")})
	h.keys("enter")
	h.wantPage(screen.TopicDetail, "demo.orders")
	// Several page keys in one read: "3" (groups) then "2" (topics).
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("32")})
	h.wantPage(screen.Topics, "")
	// A bracketed paste stays one message: pasted into the command line.
	h.keys(":")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("group demo-billing"), Paste: true})
	h.keys("enter")
	h.wantPage(screen.GroupDetail, "demo-billing")
}
