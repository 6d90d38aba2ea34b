package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
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

// recordJSON is the stable JSON form of a record (appendRecordJSON writes
// the same without reflection; a test holds them equal): key and value as UTF-8
// strings, or base64 in key_base64/value_base64 when they are not UTF-8.
// A key or value decoded through the Schema Registry is its JSON (an object,
// not a string), with key_schema/value_schema naming the schema; one that
// did not decode keeps its bytes and says why in key_error/value_error.
type recordJSON struct {
	Topic       string       `json:"topic"`
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	Timestamp   string       `json:"timestamp"`
	Key         any          `json:"key"`
	KeyBase64   string       `json:"key_base64,omitempty"`
	KeySchema   *schemaRef   `json:"key_schema,omitempty"`
	KeyError    string       `json:"key_error,omitempty"`
	Value       any          `json:"value"`
	ValueBase64 string       `json:"value_base64,omitempty"`
	ValueSchema *schemaRef   `json:"value_schema,omitempty"`
	ValueError  string       `json:"value_error,omitempty"`
	Headers     []headerJSON `json:"headers"`
}

// schemaRef names the schema a key or value was decoded with.
type schemaRef struct {
	Format   string `json:"format"`
	Subject  string `json:"subject,omitempty"`
	Version  int    `json:"version,omitempty"`
	SchemaID int    `json:"schema_id"`
}

type headerJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func toRecordJSON(r ops.Record) recordJSON {
	j := recordJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UTC().Format(time.RFC3339Nano), Headers: []headerJSON{}}
	set := func(b []byte, d *ops.Decoded, v *any, b64 *string, ref **schemaRef, reason *string) {
		if d != nil && d.Error == "" {
			*v = d.JSON
			*ref = &schemaRef{Format: d.Format, Subject: d.Subject, Version: d.Version, SchemaID: d.SchemaID}
			return
		}
		if d != nil {
			*reason = d.Error
		}
		switch {
		case b == nil:
		case utf8.Valid(b):
			*v = string(b)
		default:
			*b64 = base64.StdEncoding.EncodeToString(b)
		}
	}
	set(r.Key, r.KeyDecoded, &j.Key, &j.KeyBase64, &j.KeySchema, &j.KeyError)
	set(r.Value, r.ValueDecoded, &j.Value, &j.ValueBase64, &j.ValueSchema, &j.ValueError)
	for _, h := range r.Headers {
		j.Headers = append(j.Headers, headerJSON{Key: h.Key, Value: string(h.Value)})
	}
	return j
}

// appendRecordJSON appends r's JSON line (the shape of recordJSON, field
// for field) to dst without reflection: tail -o json writes one per record,
// and a decoded value is already JSON, which encoding/json would re-scan.
func appendRecordJSON(dst []byte, r ops.Record) []byte {
	dst = append(dst, `{"topic":`...)
	dst = appendJSONString(dst, r.Topic)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":"`...)
	dst = r.Timestamp.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	field := func(name string, b []byte, d *ops.Decoded) {
		dst = append(dst, `,"`...)
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		switch {
		case d != nil && d.Error == "":
			dst = append(dst, d.JSON...)
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `_schema":{"format":`...)
			dst = appendJSONString(dst, d.Format)
			if d.Subject != "" {
				dst = append(dst, `,"subject":`...)
				dst = appendJSONString(dst, d.Subject)
				dst = append(dst, `,"version":`...)
				dst = strconv.AppendInt(dst, int64(d.Version), 10)
			}
			dst = append(dst, `,"schema_id":`...)
			dst = strconv.AppendInt(dst, int64(d.SchemaID), 10)
			dst = append(dst, '}')
			return
		case b == nil:
			dst = append(dst, "null"...)
		case utf8.Valid(b):
			dst = appendJSONString(dst, string(b))
		default:
			dst = append(dst, `null,"`...)
			dst = append(dst, name...)
			dst = append(dst, `_base64":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, b)
			dst = append(dst, '"')
		}
		if d != nil {
			dst = append(dst, `,"`...)
			dst = append(dst, name...)
			dst = append(dst, `_error":`...)
			dst = appendJSONString(dst, d.Error)
		}
	}
	field("key", r.Key, r.KeyDecoded)
	field("value", r.Value, r.ValueDecoded)
	dst = append(dst, `,"headers":[`...)
	for i, h := range r.Headers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = appendJSONString(dst, h.Key)
		dst = append(dst, `,"value":`...)
		dst = appendJSONString(dst, string(h.Value))
		dst = append(dst, '}')
	}
	return append(dst, "]}\n"...)
}

// appendJSONString appends s as a JSON string as encoding/json writes it
// without HTML escaping (invalid UTF-8 becomes U+FFFD).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// shown returns a key or value as text: its decoded JSON, or its bytes
// (with the reason it did not decode).
func shown(b []byte, d *ops.Decoded) string {
	switch {
	case d != nil && d.Error == "":
		return string(d.JSON)
	case d != nil:
		return fmt.Sprintf("%q (not decoded: %s)", b, d.Error)
	}
	return string(b)
}

func newTailCmd(a *app) *cobra.Command {
	var from, format, decode string
	var count int
	var follow, prettyTime bool
	var partitions []int32
	cmd := &cobra.Command{
		Use:   "tail TOPIC",
		Short: "Read records from a topic (from earliest, latest, an offset, -N or a time)",
		Long: `Read records from a topic. --from takes earliest (default), latest, an offset,
-N (the last N records of each partition, as kcat's -o -N), or a time: RFC 3339,
YYYY-MM-DDTHH:mm:SS[.sss] (UTC when no zone), or a duration ago such as 15m.
Without -f, reading stops at the end of the log as it was at start.

--format text prints "partition/offset timestamp key value"; value prints the
value only (as kcat does); json prints one JSON object per line (also -o json).

--decode auto (the default) decodes keys and values in the Schema Registry
wire format (magic byte 0 and a schema id the cluster's registry knows) as
JSON, with subject, version and schema id in JSON output; anything else is
shown as read. avro, protobuf and json-schema require that format; none shows
bytes. A record that does not decode shows its bytes and the reason, and the
read goes on. --pretty-time prints Avro timestamps as RFC 3339.`,
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
			req.Decode, req.PrettyTime = decode, prettyTime
			svc, err := a.service(cmd.Context())
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(a.out, 64<<10)
			defer w.Flush()
			return svc.ReadRecords(cmd.Context(), "", req, recordPrinter(w, format, follow))
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "earliest", "where to start: earliest, latest, OFFSET, -N, or a time")
	f.IntVarP(&count, "count", "n", 0, "stop after N records (0: no limit)")
	f.BoolVarP(&follow, "follow", "f", false, "keep reading new records until interrupted")
	f.Int32SliceVarP(&partitions, "partition", "p", nil, "read only these partitions (repeatable or comma separated)")
	f.StringVar(&format, "format", "text", "output: text, value or json (one object per line)")
	f.StringVar(&decode, "decode", "auto", "decode keys and values through the Schema Registry: auto, avro, protobuf, json-schema or none")
	f.BoolVar(&prettyTime, "pretty-time", false, "print decoded Avro timestamps as RFC 3339")
	_ = cmd.RegisterFlagCompletionFunc("decode", cobra.FixedCompletions([]string{"auto", "avro", "protobuf", "json-schema", "none"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newProduceCmd(a *app) *cobra.Command {
	var pf produceFlags
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line of standard input",
		Long: `Produce one record per line of standard input. With -K SEP each line is split
at the first SEP into key and value, as kcat -K does; a line without SEP is a
value without a key. Records are acknowledged before kdeck exits.

With --schema SUBJECT[:VERSION] each value (one JSON document per line) is
encoded with that subject's schema (latest by default) in the Schema Registry
wire format: Avro takes Avro's JSON encoding with readable forms (a decimal as
a number or string, a timestamp as RFC 3339 or a number, a null-or-X union as
the plain value); Protobuf takes protobuf JSON (--message picks the message,
default the first); JSON Schema validates the line. --value-schema-file F
--subject S registers F under S first (audited). A line that does not encode
is reported with its line number and nothing after it is sent, unless
--skip-bad, which skips and reports it.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTopics,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.produce(cmd.Context(), args[0], pf)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&pf.keySep, "key-delimiter", "K", "", "split each line at the first SEP into key and value")
	f.Int32VarP(&pf.partition, "partition", "p", -1, "partition to produce to (default: by key hash)")
	f.StringArrayVarP(&pf.headers, "header", "H", nil, "header key=value, repeatable")
	f.StringVar(&pf.schemaRef, "schema", "", "encode values with this subject's schema: SUBJECT[:VERSION]")
	_ = cmd.RegisterFlagCompletionFunc("schema", a.completeSubjects)
	f.StringVar(&pf.schemaFile, "value-schema-file", "", "register this schema file under --subject first, then encode with it")
	f.StringVar(&pf.subject, "subject", "", "the subject to register --value-schema-file under, such as TOPIC-value")
	f.StringVar(&pf.schemaFormat, "schema-format", "", "format of --value-schema-file: avro, protobuf or json-schema (default: from its extension)")
	f.StringVar(&pf.message, "message", "", "Protobuf message to encode (default: the schema's first)")
	f.BoolVar(&pf.skipBad, "skip-bad", false, "skip lines that do not match the schema (reported on stderr) instead of stopping")
	return cmd
}

// produceFlags are the flags of 'kdeck produce'.
type produceFlags struct {
	keySep                                                string
	partition                                             int32
	headers                                               []string
	schemaRef, schemaFile, subject, schemaFormat, message string
	skipBad                                               bool
}

// produce sends standard input's lines to topic, encoded with a schema
// when pf asks for one, and prints what was acknowledged.
func (a *app) produce(ctx context.Context, topic string, pf produceFlags) error {
	hs, err := parseHeaders(pf.headers)
	if err != nil {
		return err
	}
	if pf.partition < -1 {
		return usagef("-p %d is not a partition", pf.partition)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if pf.partition >= 0 {
		td, err := svc.DescribeTopic(ctx, "", topic)
		if err != nil {
			return err
		}
		if int(pf.partition) >= len(td.Partitions) {
			return usagef("topic %q has no partition %d (it has %d)", topic, pf.partition, len(td.Partitions))
		}
	}
	enc, err := a.encodeRequest(pf.schemaRef, pf.schemaFile, pf.subject, pf.schemaFormat, pf.message, pf.skipBad)
	if err != nil {
		return err
	}
	lines := stdinRecords(a.in, pf.keySep, pf.partition, hs)
	var res ops.ProduceResult
	if enc == nil {
		res, err = svc.Produce(ctx, "", topic, lines)
	} else {
		ss, serr := a.schemaService(ctx)
		if serr != nil {
			return serr
		}
		res, err = ss.ProduceEncoded(ctx, "", topic, *enc, lines)
		for _, sk := range res.Skipped {
			fmt.Fprintf(a.err, "kdeck: line %d skipped: %s\n", sk.Record, sk.Reason)
		}
		var re *ops.RecordEncodeError
		if errors.As(err, &re) {
			return fmt.Errorf("line %d does not match subject %s version %d: %s; nothing after it was sent (%d records before it were acknowledged; --skip-bad skips bad lines)", re.Record, res.Subject, res.Version, re.Reason, res.Records)
		}
	}
	if err != nil {
		return fmt.Errorf("%w (%d records were acknowledged before the error)", err, res.Records)
	}
	return a.printProduced(topic, res, enc != nil)
}

// recordPrinter returns ReadRecords' callback for 'tail': each record as a
// text line, its value only, or a JSON object, on w; flushed per record when
// following.
func recordPrinter(w *bufio.Writer, format string, follow bool) func(ops.Record) error {
	var line []byte
	return func(r ops.Record) error {
		switch format {
		case "json":
			line = appendRecordJSON(line[:0], r)
			if _, err := w.Write(line); err != nil {
				return err
			}
		case "value":
			if r.ValueDecoded != nil {
				w.WriteString(shown(r.Value, r.ValueDecoded))
			} else {
				w.Write(r.Value)
			}
			w.WriteByte('\n')
		default:
			key := "-"
			if r.Key != nil {
				key = shown(r.Key, r.KeyDecoded)
			}
			fmt.Fprintf(w, "%d/%d %s %s %s\n", r.Partition, r.Offset, r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"), key, shown(r.Value, r.ValueDecoded))
		}
		if follow {
			return w.Flush()
		}
		return nil
	}
}

// parseHeaders parses produce's -H key=value flags.
func parseHeaders(headers []string) ([]ops.Header, error) {
	var hs []ops.Header
	for _, h := range headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return nil, usagef("-H %q is not key=value", h)
		}
		hs = append(hs, ops.Header{Key: k, Value: []byte(v)})
	}
	return hs, nil
}

// stdinRecords yields one record per line of in (split at the first keySep
// into key and value when keySep is set), then a read error if any.
func stdinRecords(in io.Reader, keySep string, partition int32, hs []ops.Header) iter.Seq2[ops.ProduceRecord, error] {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	return func(yield func(ops.ProduceRecord, error) bool) {
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
	}
}

// printProduced reports a produce: a JSON object with -o json, else a line
// on stderr when it is a terminal.
func (a *app) printProduced(topic string, res ops.ProduceResult, encoded bool) error {
	if a.output == "json" {
		out := map[string]any{"topic": topic, "records": res.Records, "bytes": res.Bytes}
		if encoded {
			out["subject"], out["version"], out["schema_id"], out["skipped"] = res.Subject, res.Version, res.SchemaID, len(res.Skipped)
		}
		return writeJSON(a.out, out)
	}
	if isTerminal(a.err) {
		fmt.Fprintf(a.err, "produced %d records (%d bytes) to %s\n", res.Records, res.Bytes, topic)
	}
	return nil
}

// encodeRequest builds the schema encoding of 'produce' from its flags; nil
// when no schema is asked for.
func (a *app) encodeRequest(schemaRef, schemaFile, subject, format, message string, skipBad bool) (*ops.EncodeRequest, error) {
	switch {
	case schemaRef != "" && schemaFile != "":
		return nil, usagef("--schema and --value-schema-file exclude each other: encode with a registered subject, or register a file")
	case schemaRef == "" && schemaFile == "":
		if subject != "" || skipBad || message != "" || format != "" {
			return nil, usagef("--subject, --skip-bad, --message and --schema-format need --schema or --value-schema-file")
		}
		return nil, nil
	}
	req := &ops.EncodeRequest{Message: message, SkipBad: skipBad}
	if schemaRef != "" {
		s, v, err := parseSubjectVersion(schemaRef)
		if err != nil {
			return nil, err
		}
		req.Subject, req.Version = s, v
		return req, nil
	}
	sreq, err := readSchemaFile(schemaFile, format)
	if err != nil {
		return nil, err
	}
	if subject == "" {
		return nil, usagef("--value-schema-file needs --subject (for example TOPIC-value)")
	}
	req.Subject, req.Register = subject, &sreq
	return req, nil
}
