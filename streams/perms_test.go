package streams

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestStateDirIsPrivate: the state a job keeps on disk (stores, checkpoints,
// the transactional instance id) is readable by its owner only: directories
// 0700, the files kdeck writes 0600.
func TestStateDirIsPrivate(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "in", 1)
	c.CreateTopic(t, "out", 1)
	c.Produce(t, &kgo.Record{Topic: "in", Value: []byte(`{"k":"a"}`)})
	root := filepath.Join(t.TempDir(), "data", "streams")
	spec := JobSpec{Name: "private", Inputs: []string{"in"}, Key: "value.k", Aggregate: &AggregateSpec{Op: "count"}, Output: "out", Guarantee: "exactly_once"}
	_, stop := startJob(t, c, spec, DataDir(root))
	readAll(t, c, "out", 1, 30*time.Second)
	if err := stop(); err != nil { // clean close: checkpoints written
		t.Fatal(err)
	}
	var files int
	err := filepath.WalkDir(filepath.Dir(root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := fi.Mode().Perm()
		switch {
		case d.IsDir() && perm != 0o700:
			t.Errorf("directory %s is %o, want 0700", p, perm)
		case !d.IsDir() && (d.Name() == "instance-id" || strings.HasSuffix(d.Name(), "checkpoint") || strings.HasSuffix(d.Name(), ".json")):
			files++
			if perm != 0o600 {
				t.Errorf("file %s is %o, want 0600", p, perm)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Errorf("found %d instance-id or checkpoint files, want at least 2 (the walk checked nothing)", files)
	}
}
