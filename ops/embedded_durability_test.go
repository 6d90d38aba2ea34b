package ops_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func startEmbedded(t *testing.T, dir string) *ops.Embedded {
	t.Helper()
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// crashImage copies a running cluster's data dir: what a SIGKILL leaves on
// disk (every write the process made, nothing it would have saved at a
// clean shutdown).
func crashImage(t *testing.T, dir string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "crash")
	if err := os.CopyFS(img, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return img
}

func endOffsets(t *testing.T, addr, topic string) (int64, error) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx(t), topic)
	if err != nil {
		return 0, err
	}
	var n int64
	err = ends.Error()
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, err
}

// A topic created by its first produce (Metadata auto-create) must survive
// a crash with its records: kfake alone creates it without saving its topic
// list, so the restarted cluster had no such topic.
func TestEmbeddedAutoCreatedTopicSurvivesCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "embedded")
	e := startEmbedded(t, dir)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("first.produce"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	img := crashImage(t, dir)

	e2 := startEmbedded(t, img)
	n, err := endOffsets(t, e2.Addr(), "first.produce")
	if err != nil || n != 50 {
		t.Fatalf("after the crash topic first.produce holds %d records (err %v), want the 50 acknowledged", n, err)
	}
}

// The embedded cluster's data is readable by kdeck's user only: the data
// dir 0700 while it runs, every directory 0700 and file 0600 after it
// closed (kfake writes 0755 and 0644).
func TestEmbeddedDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "embedded")
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, DataDir: dir, Demo: true, DemoRate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s while running: %v %v, want 0700", d, fi.Mode().Perm(), err)
		}
	}
	// Let the demo write segments, group commits and the second cluster.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(dir, "partitions", "*", "*.dat")); len(m) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.Close()
	var files int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files under %s: the cluster wrote nothing to check", files, dir)
	}
}

// Restarting the embedded default on its data dir keeps the demo groups'
// offsets: a reset the user made on demo-billing is not undone by the demo
// seeding the group again.
func TestEmbeddedDemoKeepsUsersResetAcrossRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "embedded")
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, DataDir: dir, Demo: true, DemoRate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	select {
	case <-ops.BillingSeeded(e):
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not seed demo-billing within 20 s")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	seeded, err := adm.FetchOffsets(ctx(t), ops.DemoBillingGroup)
	if err != nil || len(seeded.Offsets()) == 0 {
		t.Fatalf("demo-billing has no seeded offsets (%v)", err)
	}
	// The user rewinds demo-billing to the start of every partition.
	reset := kadm.Offsets{}
	for p := range int32(6) {
		reset.AddOffset(ops.DemoOrdersTopic, p, 0, -1)
	}
	if err := adm.CommitAllOffsets(ctx(t), ops.DemoBillingGroup, reset); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	e.Close()

	e2, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0, DataDir: dir, Demo: true, DemoRate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	select {
	case <-ops.BillingSeeded(e2):
	case <-time.After(20 * time.Second):
		t.Fatal("the demo's seeding did not finish within 20 s")
	}
	cl2, err := kgo.NewClient(kgo.SeedBrokers(e2.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	after, err := kadm.NewClient(cl2).FetchOffsets(ctx(t), ops.DemoBillingGroup)
	if err != nil {
		t.Fatal(err)
	}
	after.Each(func(o kadm.OffsetResponse) {
		if o.Topic == ops.DemoOrdersTopic && o.At != 0 {
			t.Errorf("after a restart demo-billing %s/%d is at %d, want the user's reset to 0", o.Topic, o.Partition, o.At)
		}
	})
	if n := len(after.Offsets()[ops.DemoOrdersTopic]); n != 6 {
		t.Errorf("after a restart demo-billing has %d partitions committed, want 6", n)
	}
}

// A data dir written before auto-created topics were saved holds the lost
// topic's partition directories. Creating the topic again must start it
// afresh, not append to the old segment files (offsets overlapping, reads
// that never end): the old ones are moved to lost+found.
func TestEmbeddedMovesOrphanedPartitionsAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "embedded")
	// kfake alone, as kdeck ran it before: the auto-created topic is not
	// in topics.json when the process dies.
	old, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	produce := func(addr, prefix string, n int) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("again"))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for i := range n {
			if err := cl.ProduceSync(ctx(t), &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", prefix, i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(old.ListenAddrs()[0], "old", 30)
	img := crashImage(t, dir)
	old.Close()

	e := startEmbedded(t, img)
	produce(e.Addr(), "new", 10)
	e.Close()
	e2 := startEmbedded(t, img) // a clean restart reads the segments back
	cl, err := kgo.NewClient(kgo.SeedBrokers(e2.Addr()), kgo.ConsumeTopics("again"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 10 && rctx.Err() == nil {
		cl.PollFetches(rctx).EachRecord(func(r *kgo.Record) { got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value)) })
	}
	want := []string{"0:new-0", "1:new-1", "2:new-2", "3:new-3", "4:new-4", "5:new-5", "6:new-6", "7:new-7", "8:new-8", "9:new-9"}
	if !slices.Equal(got, want) {
		t.Fatalf("topic again read back %v, want %v", got, want)
	}
	if n, err := endOffsets(t, e2.Addr(), "again"); err != nil || n != 10 {
		t.Fatalf("topic again ends at %d (%v), want 10", n, err)
	}
	if m, _ := filepath.Glob(filepath.Join(img, "lost+found", "again-0.*", "*.dat")); len(m) != 1 {
		t.Fatalf("the old partition's segments are not in lost+found: %v", m)
	}
}

// A --data-dir that is not the embedded cluster's (it holds other files and
// no meta.json) keeps its own modes and files: kdeck restricts only what
// kfake wrote.
func TestEmbeddedDataDirLeavesOtherFilesAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startEmbedded(t, dir)
	e.Close()
	if fi, err := os.Stat(notes); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("notes.txt: %v %v, want 0644 untouched", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "topics.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("topics.json: %v %v, want 0600", fi.Mode().Perm(), err)
	}
}
