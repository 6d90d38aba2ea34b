package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
//   - a data dir written before that (or by a crash in the middle of a
//     topic deletion) can hold partition directories of topics kfake's
//     topic list does not have; a topic of that name created again would
//     append to those segment files, offsets overlapping. moveOrphans
//     moves them aside to lost+found before kfake starts.
//   - kfake writes its files 0644 in 0755 directories; secureDataDir makes
//     the data dir 0700 before kfake starts and every file in it 0600 at
//     start and at close.

// prepareDataDir readies dir for kfake (0700, orphaned partitions moved
// aside) and returns kfake's options for it.
func prepareDataDir(dir string, syncWrites bool, log *slog.Logger) ([]kfake.Opt, error) {
	if err := secureDataDir(dir); err != nil {
		return nil, fmt.Errorf("embedded cluster data dir %s: %w", dir, err)
	}
	moved, err := moveOrphans(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded cluster data dir %s: %w", dir, err)
	}
	if len(moved) > 0 {
		log.Warn("embedded cluster: partitions of topics it does not know moved aside (left by a crash before kdeck saved auto-created topics, or during a delete)",
			"dir", filepath.Join(dir, lostFound), "partitions", moved)
	}
	opts := []kfake.Opt{kfake.DataDir(dir)}
	if syncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	return opts, nil
}

// guard installs on c what kdeck adds around kfake while it runs: auto-
// created topics saved, dead group members expired. The caller runs the
// returned reaper.
func guard(c *kfake.Cluster, addr string, log *slog.Logger) *sessionReaper {
	persistAutoCreate(c)
	return newSessionReaper(c, addr, log)
}

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

// kfakeFiles are the files kfake writes at the top of its data dir (and
// their .tmp twins while it rewrites them).
var kfakeFiles = map[string]bool{
	"meta.json": true, "topics.json": true, "acls.json": true, "sasl.json": true, "broker_configs.json": true,
	"quotas.json": true, "seq_windows.json": true, "session_state.json": true, "groups.log": true, "pids.log": true,
}

// secureDataDir creates dir (and missing parents) 0700, or, when dir is
// kfake's (it holds meta.json) or empty, makes it 0700 and what kfake wrote
// in it 0700 (directories) and 0600 (files): its state files, partitions,
// lost+found and the demo's second cluster. Anything else in dir is left
// alone, as is a dir that is not kfake's. kfake has no option for the modes
// it creates files with (0644, directories 0755), so kdeck calls this
// before kfake starts and again after it closed; meanwhile the 0700 data
// dir keeps everyone else out.
func secureDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dataDirMode); err != nil {
			return fmt.Errorf("creating the data dir: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	ours := len(entries) == 0
	for _, e := range entries {
		ours = ours || e.Name() == "meta.json"
	}
	if !ours {
		return nil
	}
	if err := chmodIfNeeded(dir, dataDirMode); err != nil {
		return err
	}
	for _, e := range entries {
		path, name := filepath.Join(dir, e.Name()), e.Name()
		switch {
		case e.IsDir() && (name == "partitions" || name == lostFound):
			err = secureTree(path)
		case e.IsDir() && name == DemoDRCluster:
			err = secureDataDir(path)
		case e.Type().IsRegular() && (kfakeFiles[name] || kfakeFiles[strings.TrimSuffix(name, ".tmp")]):
			err = chmodIfNeeded(path, dataFileMode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// secureTree makes every directory under root 0700 and every file 0600.
func secureTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by kfake meanwhile
			}
			return err
		}
		switch {
		case d.IsDir():
			return chmodIfNeeded(path, dataDirMode)
		case d.Type().IsRegular():
			return chmodIfNeeded(path, dataFileMode)
		}
		return nil
	})
}

func chmodIfNeeded(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil || fi.Mode().Perm() == mode {
		return err
	}
	if err := os.Chmod(path, mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restricting %s to %v: %w", path, mode, err)
	}
	return nil
}

// lostFound is where moveOrphans puts partition directories of topics the
// cluster does not know, under the data dir.
const lostFound = "lost+found"

// moveOrphans moves every partition directory under dir/partitions whose
// topic (or partition) is missing from kfake's topics.json to
// dir/lost+found, and returns the names moved. A dir without topics.json
// (not yet started) is left alone. It reads kfake's own file format:
// {"topics":[{"name":…,"partitions":N}]} and TOPIC-P directories, TOPIC
// path-escaped.
func moveOrphans(dir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "topics.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list struct {
		Topics []struct {
			Name       string `json:"name"`
			Partitions int32  `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("reading topics.json: %w", err)
	}
	known := map[string]int32{}
	for _, t := range list.Topics {
		known[t.Name] = t.Partitions
	}
	entries, err := os.ReadDir(filepath.Join(dir, "partitions"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		if !e.IsDir() || i <= 0 {
			continue
		}
		topic, err := url.PathUnescape(e.Name()[:i])
		p, perr := strconv.ParseInt(e.Name()[i+1:], 10, 32)
		if err != nil || perr != nil {
			continue // not kfake's
		}
		if n, ok := known[topic]; ok && int32(p) < n {
			continue
		}
		dst := filepath.Join(dir, lostFound, fmt.Sprintf("%s.%d", e.Name(), time.Now().UnixNano()))
		if err := os.MkdirAll(filepath.Dir(dst), dataDirMode); err != nil {
			return moved, err
		}
		if err := os.Rename(filepath.Join(dir, "partitions", e.Name()), dst); err != nil {
			return moved, fmt.Errorf("moving %s aside: %w", e.Name(), err)
		}
		moved = append(moved, e.Name())
	}
	return moved, nil
}
