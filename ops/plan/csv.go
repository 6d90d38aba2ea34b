package plan

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseCSV reads a CSV plan in kafka-consumer-groups' format: rows of
// topic,partition,offset or group,topic,partition,offset, without a header
// (a header row naming those columns is accepted and skipped), blank lines
// ignored. name is the file name used in errors, which give the line of the
// first bad row (both lines of two rows for one partition) and match
// ops wraps them in ErrInvalid. It reads r to the end and does not
// close it.
func ParseCSV(r io.Reader, name string) ([]FileOffset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var out []FileOffset
	type rowKey struct {
		group, topic string
		partition    int32
	}
	seen := map[rowKey]int{} // the line of each (group, topic, partition)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s line %d: %v", name, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		if len(out) == 0 && isCSVHeader(rec) {
			continue
		}
		fo := FileOffset{Line: line}
		var ps, offs string
		switch len(rec) {
		case 3:
			fo.Topic, ps, offs = rec[0], rec[1], rec[2]
		case 4:
			fo.Group, fo.Topic, ps, offs = rec[0], rec[1], rec[2], rec[3]
			if fo.Group == "" {
				return nil, fmt.Errorf("%s line %d: the group column is empty", name, line)
			}
		default:
			return nil, fmt.Errorf("%s line %d: %d columns; want topic,partition,offset or group,topic,partition,offset", name, line, len(rec))
		}
		if fo.Topic == "" {
			return nil, fmt.Errorf("%s line %d: the topic column is empty", name, line)
		}
		p, err := strconv.ParseInt(ps, 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("%s line %d: partition %q is not a partition number (0 or more)", name, line, ps)
		}
		o, err := strconv.ParseInt(offs, 10, 64)
		if err != nil || o < 0 {
			return nil, fmt.Errorf("%s line %d: offset %q is not an offset (a number, 0 or more)", name, line, offs)
		}
		fo.Partition, fo.Offset = int32(p), o
		k := rowKey{fo.Group, fo.Topic, fo.Partition}
		if first, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s lines %d and %d: both set %s partition %d%s; keep one row per partition", name, first, line, fo.Topic, fo.Partition, ofGroup(fo.Group))
		}
		seen[k] = line
		out = append(out, fo)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no rows: want lines of topic,partition,offset or group,topic,partition,offset", name)
	}
	return out, nil
}

func ofGroup(g string) string {
	if g == "" {
		return ""
	}
	return fmt.Sprintf(" of group %q", g)
}

func isCSVHeader(rec []string) bool {
	want := map[int][]string{3: {"topic", "partition", "offset"}, 4: {"group", "topic", "partition", "offset"}}[len(rec)]
	if want == nil {
		return false
	}
	for i, w := range want {
		if !strings.EqualFold(rec[i], w) {
			return false
		}
	}
	return true
}

// WriteCSV writes a plan's new offsets in kafka-consumer-groups' CSV
// format, topic,partition,offset, or with withGroup group,topic,partition,offset
// as it exports several groups. Rows without a new offset (deleted commits)
// are left out. kafka-consumer-groups --reset-offsets --from-file reads it,
// and so does ParseCSV.
func WriteCSV(w io.Writer, p *Plan, withGroup bool) error {
	cw := csv.NewWriter(w)
	for _, r := range p.Rows {
		if r.New < 0 {
			continue
		}
		rec := []string{r.Topic, strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.New, 10)}
		if withGroup {
			rec = append([]string{p.Group}, rec...)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("cannot write the CSV plan: %w", err)
	}
	return nil
}
