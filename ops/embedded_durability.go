package ops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// What kdeck does around kfake so that the embedded cluster keeps what it
// acknowledged (docs/compatibility.md, "The embedded cluster's data"):
//
//   - kfake creates a topic asked for in a Metadata request (auto-create)
//     without saving its topic list, so after a crash the topic and its
//     records are gone. persistAutoCreate creates such topics through
//     Cluster.CreateTopic first, which saves the list.
//   - kfake writes its files 0644 in 0755 directories; secureDataDir makes
//     the data dir 0700 before kfake starts and every file in it 0600 at
//     start and at close.

// persistAutoCreate installs a Metadata control on c that creates, through
// Cluster.CreateTopic (which saves kfake's topic list), every topic a
// Metadata request would auto-create. The control never answers the
// request: kfake's own handler then finds the topic and answers as usual.
// A name CreateTopic refuses is left to kfake's handler.
func persistAutoCreate(c *kfake.Cluster) {
	c.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req, ok := kreq.(*kmsg.MetadataRequest)
		if !ok || !req.AllowAutoTopicCreation {
			return nil, nil, false
		}
		for _, rt := range req.Topics {
			if rt.Topic == nil || *rt.Topic == "" || rt.TopicID != [16]byte{} {
				continue
			}
			// The control runs outside kfake's loop, which keeps
			// serving admin calls (TopicInfo, CreateTopic) meanwhile.
			if c.TopicInfo(*rt.Topic) != nil {
				continue
			}
			// An error (an invalid name, a topic created meanwhile)
			// is kfake's handler's to answer.
			_ = c.CreateTopic(*rt.Topic, -1, nil)
		}
		return nil, nil, false
	})
}

// Modes of the embedded cluster's data: only kdeck's user reads it.
const (
	dataDirMode  fs.FileMode = 0o700
	dataFileMode fs.FileMode = 0o600
)

// secureDataDir creates dir (and missing parents) 0700 and tightens what is
// already in it: directories to 0700, files to 0600. kfake has no option for
// the modes it creates files with (0644, directories 0755), so kdeck calls
// this before kfake starts and again after it closed; meanwhile the 0700
// top directory keeps everyone else out.
func secureDataDir(dir string) error {
	if err := os.MkdirAll(dir, dataDirMode); err != nil {
		return fmt.Errorf("creating the data dir: %w", err)
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by kfake meanwhile
			}
			return err
		}
		mode := dataFileMode
		if d.IsDir() {
			mode = dataDirMode
		} else if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if info.Mode().Perm() == mode {
			return nil
		}
		if err := os.Chmod(path, mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restricting %s to %v: %w", path, mode, err)
		}
		return nil
	})
}
