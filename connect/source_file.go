package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Keys of file-source.
const (
	fieldTopic         = "topic"
	fieldBatchLines    = "batch_lines"
	fieldPollInterval  = "poll_interval"
	fieldVanishTimeout = "vanish_timeout"

	confTask  = "_task"
	confTasks = "_tasks"
	confFiles = "_files"
	confKnown = "_known"
)

func fileSourcePlugin() *Plugin {
	return &Plugin{
		Name:           "file-source",
		Version:        "1.0",
		ValueConverter: ConverterString,
		KeyConverter:   ConverterString,
		Spec: NewSpec("Read files line by line, one record per line (value: the line without its newline, key: null), resuming by byte position and following rotation (rename and re-create, or truncation). The source partition is {path}, the offset {position, inode}.",
			NewField(fieldPath, TypeString).Description("A file, or a glob such as /var/log/app/*.log; files that appear later are picked up."),
			NewField(fieldTopic, TypeString).Description("Topic to produce to."),
			NewField(fieldBatchLines, TypeInt).Default(int64(10000)).AtLeast(1).Description("Most lines read per poll."),
			NewField(fieldPollInterval, TypeDuration).Default("200ms").Description("How long to wait for new lines when every file is at its end."),
			NewField(fieldVanishTimeout, TypeDuration).Default("1m").Description("A single file (not a glob) that disappears and is not re-created within this time fails the task."),
		),
		NewSource: func(p *Parsed) (SourceConnector, error) {
			var errs []FieldError
			path := p.String(fieldPath)
			if path == "" {
				errs = append(errs, FieldError{Path: fieldPath, Msg: "must not be empty"})
			} else if _, err := filepath.Match(path, ""); err != nil {
				errs = append(errs, FieldError{Path: fieldPath, Msg: fmt.Sprintf("%q is not a valid glob: %v", path, err)})
			}
			if p.String(fieldTopic) == "" {
				errs = append(errs, FieldError{Path: fieldTopic, Msg: "must not be empty"})
			}
			if len(errs) > 0 {
				return nil, &ConfigError{Fields: errs}
			}
			return &fileSource{p: p}, nil
		},
	}
}

type fileSource struct{ p *Parsed }

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// Tasks spreads the files matching path over at most max tasks, round
// robin; files that appear later go to the task their path hashes to.
func (s *fileSource) Tasks(max int) ([]Conf, error) {
	path := s.p.String(fieldPath)
	var files []string
	if isGlob(path) {
		m, err := filepath.Glob(path)
		if err != nil {
			return nil, err
		}
		files = m
	} else {
		files = []string{path}
	}
	sort.Strings(files)
	n := min(max, len(files))
	n = maxInt(n, 1)
	out := make([]Conf, n)
	for i := range out {
		c := confOf(s.p)
		c[confTask], c[confTasks], c[confKnown] = int64(i), int64(n), files
		var mine []string
		for k := i; k < len(files); k += n {
			mine = append(mine, files[k])
		}
		c[confFiles] = mine
		out[i] = c
	}
	return out, nil
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func (s *fileSource) NewTask(c Conf) (SourceTask, error) {
	p := ParsedConf(c)
	t := &fileSourceTask{
		path: p.String(fieldPath), topic: p.String(fieldTopic), batch: int(p.Int(fieldBatchLines)),
		poll: p.Duration(fieldPollInterval), vanish: p.Duration(fieldVanishTimeout),
		idx: int(p.Int(confTask)), n: int(p.Int(confTasks)), files: map[string]*tailFile{}, mine: map[string]bool{}, known: map[string]bool{},
	}
	if t.n == 0 {
		t.n = 1
	}
	for _, f := range stringsOf(c[confFiles]) {
		t.mine[f] = true
	}
	for _, f := range stringsOf(c[confKnown]) {
		t.known[f] = true
	}
	return t, nil
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

type fileSourceTask struct {
	path, topic  string
	batch        int
	poll, vanish time.Duration
	idx, n       int
	mine, known  map[string]bool
	tc           TaskContext

	files    map[string]*tailFile
	order    []string
	lastScan time.Time
}

// tailFile is one file being followed.
type tailFile struct {
	path string
	part map[string]any
	f    *os.File
	info os.FileInfo
	// buf holds read bytes; buf[off:] is not handed out yet (at most a
	// partial line after a read). Records point into buf[:off], so bytes
	// there are never overwritten: a refill reads into the spare capacity
	// or into a new buffer.
	buf     []byte
	off     int
	pos     int64 // byte position after the last complete line handed out
	missing time.Time
}

// readChunk is the smallest read into a file's buffer.
const readChunk = 1 << 20

// fill reads more of the file; false at the end of the file.
func (tf *tailFile) fill() (bool, error) {
	if cap(tf.buf)-len(tf.buf) < readChunk/4 {
		rest := tf.buf[tf.off:]
		nb := make([]byte, len(rest), max(readChunk, 2*len(rest)))
		copy(nb, rest)
		tf.buf, tf.off = nb, 0
	}
	n, err := tf.f.Read(tf.buf[len(tf.buf):cap(tf.buf)])
	tf.buf = tf.buf[:len(tf.buf)+n]
	if n > 0 {
		return true, nil
	}
	if err == nil || err == io.EOF {
		return false, nil
	}
	return false, fmt.Errorf("file-source reading %s: %w", tf.path, err)
}

// inode returns the file's inode number as text (JSON numbers would lose
// precision above 2^53), or "" when unknown.
func inode(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Ino), 10)
	}
	return ""
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

func (t *fileSourceTask) Start(ctx context.Context, tc TaskContext) error {
	t.tc = tc
	if !isGlob(t.path) {
		if _, err := os.Stat(t.path); err != nil {
			return fmt.Errorf("file-source: %w", describeFileErr(t.path, err))
		}
	}
	return t.scan()
}

func describeFileErr(path string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s does not exist: create it, or fix path", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s is not readable by this process: %w", path, err)
	}
	return err
}

func (t *fileSourceTask) owns(path string) bool {
	if t.mine[path] {
		return true
	}
	if t.known[path] {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(path))
	return int(h.Sum32()%uint32(t.n)) == t.idx
}

// scan opens the files of this task that are not open yet.
func (t *fileSourceTask) scan() error {
	t.lastScan = time.Now()
	var paths []string
	if isGlob(t.path) {
		m, err := filepath.Glob(t.path)
		if err != nil {
			return err
		}
		paths = m
	} else {
		paths = []string{t.path}
	}
	for _, p := range paths {
		if t.files[p] != nil || !t.owns(p) {
			continue
		}
		tf, err := t.open(p, true)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		t.files[p] = tf
		t.order = append(t.order, p)
	}
	return nil
}

// open opens path, resuming from the saved offset when resume is set and
// the saved inode is the file's.
func (t *fileSourceTask) open(path string, resume bool) (*tailFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file-source: %w", describeFileErr(path, err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	tf := &tailFile{path: path, part: map[string]any{"path": path}, f: f, info: fi}
	if resume {
		if off := t.tc.Offset(tf.part); off != nil {
			pos, _ := toInt64(off["position"])
			ino, _ := off["inode"].(string)
			if pos > 0 && pos <= fi.Size() && (ino == "" || ino == inode(fi)) {
				if _, err := f.Seek(pos, io.SeekStart); err != nil {
					f.Close()
					return nil, err
				}
				tf.pos = pos
			}
		}
	}
	return tf, nil
}

func (t *fileSourceTask) Poll(ctx context.Context) ([]*Record, error) {
	if time.Since(t.lastScan) > time.Second {
		if err := t.scan(); err != nil {
			return nil, err
		}
	}
	per := t.batch / maxInt(len(t.order), 1)
	per = maxInt(per, 1)
	pool := make([]Record, 0, per*len(t.order))
	recs := make([]*Record, 0, cap(pool))
	now := time.Now()
	for _, p := range t.order {
		tf := t.files[p]
		n, err := t.readLines(tf, per, now, &pool, &recs)
		if err != nil {
			return recs, err
		}
		if n > 0 {
			recs[len(recs)-1].SourceOffset = map[string]any{"position": tf.pos, "inode": inode(tf.info)}
		}
	}
	if len(recs) > 0 {
		return recs, nil
	}
	// Every file is at its end: look for rotation, truncation, vanishing.
	for _, p := range append([]string(nil), t.order...) {
		if err := t.checkRotation(t.files[p]); err != nil {
			return nil, err
		}
	}
	tm := time.NewTimer(t.poll)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
	return nil, nil
}

// readLines reads up to max complete lines of tf into recs, taking the
// records from pool (which has room for them).
func (t *fileSourceTask) readLines(tf *tailFile, max int, now time.Time, pool *[]Record, recs *[]*Record) (int, error) {
	n := 0
	for n < max {
		data := tf.buf[tf.off:]
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			more, err := tf.fill()
			if err != nil || !more {
				return n, err
			}
			continue
		}
		line := data[:i:i]
		tf.off += i + 1
		tf.pos += int64(i + 1)
		if l := len(line); l > 0 && line[l-1] == '\r' {
			line = line[:l-1]
		}
		*pool = append(*pool, Record{Topic: t.topic, Partition: -1, Offset: -1, Value: line, Timestamp: now, SourcePartition: tf.part})
		*recs = append(*recs, &(*pool)[len(*pool)-1])
		n++
	}
	return n, nil
}

// checkRotation follows a file at its end: re-created under the same name
// (rotation) or truncated in place (copytruncate) restarts from 0; a file
// that vanished is dropped (glob) or fails the task after vanish_timeout.
func (t *fileSourceTask) checkRotation(tf *tailFile) error {
	fi, err := os.Stat(tf.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if tf.missing.IsZero() {
			tf.missing = time.Now()
		}
		if isGlob(t.path) {
			t.drop(tf)
			return nil
		}
		if time.Since(tf.missing) > t.vanish {
			return fmt.Errorf("file-source: %s vanished and was not re-created within %v", tf.path, t.vanish)
		}
		return nil
	case err != nil:
		return fmt.Errorf("file-source: %w", describeFileErr(tf.path, err))
	}
	tf.missing = time.Time{}
	if os.SameFile(fi, tf.info) {
		if fi.Size() < tf.pos {
			if _, err := tf.f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			tf.buf, tf.off, tf.pos = nil, 0, 0
		}
		return nil
	}
	// Rotated: the old file was read to its end; follow the new one.
	nf, err := t.open(tf.path, false)
	if err != nil {
		return err
	}
	tf.f.Close()
	*tf = *nf
	return nil
}

func (t *fileSourceTask) drop(tf *tailFile) {
	tf.f.Close()
	delete(t.files, tf.path)
	for i, p := range t.order {
		if p == tf.path {
			t.order = append(t.order[:i], t.order[i+1:]...)
			break
		}
	}
}

func (t *fileSourceTask) Close() error {
	for _, tf := range t.files {
		tf.f.Close()
	}
	return nil
}
