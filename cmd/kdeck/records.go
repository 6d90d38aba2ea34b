package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/timespec"
)

// parseFrom reads --from: earliest, latest, OFFSET, -N (N before the end,
// as kcat's -o -N), or a time (RFC 3339, YYYY-MM-DDTHH:mm:SS, a duration ago).
func parseFrom(s string, now time.Time) (ops.ReadRequest, error) {
	var r ops.ReadRequest
	switch {
	case s == "" || s == "earliest" || s == "beginning" || s == "start":
		r.From = ops.FromEarliest
	case s == "latest" || s == "end":
		r.From = ops.FromLatest
	case strings.HasPrefix(s, "-") && isDigits(s[1:]):
		n, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			return r, usagef("--from %q: %v", s, err)
		}
		r.From, r.Offset = ops.FromTail, n
	case isDigits(s):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return r, usagef("--from %q: %v", s, err)
		}
		r.From, r.Offset = ops.FromOffset, n
	default:
		t, err := timespec.ParseTime(s, now)
		if err != nil {
			return r, usagef("--from: %v; or use earliest, latest, an offset or -N", err)
		}
		r.From, r.Time = ops.FromTime, t
	}
	return r, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// recordJSON is the stable JSON form of a record: key and value as UTF-8
// strings, or base64 in key_base64/value_base64 when they are not UTF-8.
type recordJSON struct {
	Topic       string       `json:"topic"`
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	Timestamp   string       `json:"timestamp"`
	Key         *string      `json:"key"`
	KeyBase64   string       `json:"key_base64,omitempty"`
	Value       *string      `json:"value"`
	ValueBase64 string       `json:"value_base64,omitempty"`
	Headers     []headerJSON `json:"headers"`
}

type headerJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func toRecordJSON(r ops.Record) recordJSON {
	j := recordJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UTC().Format(time.RFC3339Nano), Headers: []headerJSON{}}
	set := func(b []byte, s **string, b64 *string) {
		switch {
		case b == nil:
		case utf8.Valid(b):
			v := string(b)
			*s = &v
		default:
			*b64 = base64.StdEncoding.EncodeToString(b)
		}
	}
	set(r.Key, &j.Key, &j.KeyBase64)
	set(r.Value, &j.Value, &j.ValueBase64)
	for _, h := range r.Headers {
		j.Headers = append(j.Headers, headerJSON{Key: h.Key, Value: string(h.Value)})
	}
	return j
}

func newTailCmd(a *app) *cobra.Command {
	var from, format string
	var count int
	var follow bool
	var partitions []int32
	cmd := &cobra.Command{
		Use:   "tail TOPIC",
		Short: "Read records from a topic (from earliest, latest, an offset, -N or a time)",
		Long: `Read records from a topic. --from takes earliest (default), latest, an offset,
-N (the last N records of each partition, as kcat's -o -N), or a time: RFC 3339,
YYYY-MM-DDTHH:mm:SS[.sss] (UTC when no zone), or a duration ago such as 15m.
Without -f, reading stops at the end of the log as it was at start.

--format text prints "partition/offset timestamp key value"; value prints the
value only (as kcat does); json prints one JSON object per line (also -o json).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTopics,
		RunE: func(cmd *cobra.Command, args []string) error {
			if count < 0 {
				return usagef("-n %d is negative: give a count of records, or 0 for no limit", count)
			}
			if a.output == "json" && !cmd.Flags().Changed("format") {
				format = "json"
			}
			switch format {
			case "text", "json", "value":
			default:
				return usagef("--format %q is not a format: use text, value or json", format)
			}
			req, err := parseFrom(from, time.Now())
			if err != nil {
				return err
			}
			req.Topic, req.Count, req.Follow, req.Partitions = args[0], count, follow, partitions
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(a.out, 64<<10)
			defer w.Flush()
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			err = svc.ReadRecords(cmd.Context(), "", req, func(r ops.Record) error {
				switch format {
				case "json":
					if err := enc.Encode(toRecordJSON(r)); err != nil {
						return err
					}
				case "value":
					w.Write(r.Value)
					w.WriteByte('\n')
				default:
					key := "-"
					if r.Key != nil {
						key = string(r.Key)
					}
					fmt.Fprintf(w, "%d/%d %s %s %s\n", r.Partition, r.Offset, r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), key, r.Value)
				}
				if follow {
					return w.Flush()
				}
				return nil
			})
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "earliest", "where to start: earliest, latest, OFFSET, -N, or a time")
	f.IntVarP(&count, "count", "n", 0, "stop after N records (0: no limit)")
	f.BoolVarP(&follow, "follow", "f", false, "keep reading new records until interrupted")
	f.Int32SliceVarP(&partitions, "partition", "p", nil, "read only these partitions (repeatable or comma separated)")
	f.StringVar(&format, "format", "text", "output: text, value or json (one object per line)")
	return cmd
}

func newProduceCmd(a *app) *cobra.Command {
	var keySep string
	var partition int32
	var headers []string
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line of standard input",
		Long: `Produce one record per line of standard input. With -K SEP each line is split
at the first SEP into key and value, as kcat -K does; a line without SEP is a
value without a key. Records are acknowledged before kdeck exits.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTopics,
		RunE: func(cmd *cobra.Command, args []string) error {
			var hs []ops.Header
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok || k == "" {
					return usagef("-H %q is not key=value", h)
				}
				hs = append(hs, ops.Header{Key: k, Value: []byte(v)})
			}
			if partition < -1 {
				return usagef("-p %d is not a partition", partition)
			}
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			if partition >= 0 {
				td, err := svc.DescribeTopic(cmd.Context(), "", args[0])
				if err != nil {
					return err
				}
				if int(partition) >= len(td.Partitions) {
					return usagef("topic %q has no partition %d (it has %d)", args[0], partition, len(td.Partitions))
				}
			}
			sc := bufio.NewScanner(a.in)
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			line := 0
			res, err := svc.Produce(cmd.Context(), "", args[0], func(yield func(ops.ProduceRecord, error) bool) {
				for sc.Scan() {
					line++
					text := sc.Bytes()
					r := ops.ProduceRecord{Partition: partition, Headers: hs}
					if keySep != "" {
						if k, v, ok := strings.Cut(string(text), keySep); ok {
							r.Key, r.Value = []byte(k), []byte(v)
						} else {
							r.Value = append([]byte(nil), text...)
						}
					} else {
						r.Value = append([]byte(nil), text...)
					}
					if !yield(r, nil) {
						return
					}
				}
				if err := sc.Err(); err != nil {
					yield(ops.ProduceRecord{}, fmt.Errorf("reading standard input at line %d: %w", line+1, err))
				}
			})
			if err != nil {
				return fmt.Errorf("%w (%d records were acknowledged before the error)", err, res.Records)
			}
			if a.output == "json" {
				return writeJSON(a.out, map[string]any{"topic": args[0], "records": res.Records, "bytes": res.Bytes})
			}
			if isTerminal(a.err) {
				fmt.Fprintf(a.err, "produced %d records (%d bytes) to %s\n", res.Records, res.Bytes, args[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&keySep, "key-delimiter", "K", "", "split each line at the first SEP into key and value")
	f.Int32VarP(&partition, "partition", "p", -1, "partition to produce to (default: by key hash)")
	f.StringArrayVarP(&headers, "header", "H", nil, "header key=value, repeatable")
	return cmd
}
