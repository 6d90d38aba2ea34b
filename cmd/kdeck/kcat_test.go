package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// topicReader reads every record value of a topic from its start, with
// read_committed when committed is set, and names the tool that read them.
type topicReader func(topic string, committed bool) (values []string, tool string)

// consoleTotal is the count Apache Kafka's console consumer prints on exit.
var consoleTotal = regexp.MustCompile(`Processed a total of (\d+) messages`)

// independentReader returns a reader of c's topics that shares no code with
// kdeck, for tests that account for every record: Apache Kafka's console
// consumer (kafka-console-consumer's class, run with java on the jars the
// real tier resolved) on the real tier, kcat (librdkafka) on the embedded
// tier. It checks the tool is there before the test does any work.
func independentReader(t *testing.T, c *kafkatest.Cluster) topicReader {
	t.Helper()
	run := func(name string, args ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(name), err, stderr.String())
		}
		return string(out), stderr.String()
	}
	if !c.IsReal() {
		kcat := needKcat(t)
		return func(topic string, committed bool) ([]string, string) {
			args := []string{"-b", c.Addr(), "-C", "-t", topic, "-e", "-q", "-f", "%s\n"}
			if committed {
				args = append(args, "-X", "isolation.level=read_committed")
			}
			out, _ := run(kcat, args...)
			return strings.Fields(out), "kcat"
		}
	}
	lib := kafkatest.KafkaLib()
	if lib == "" {
		t.Fatalf("%s is not set: start the real tier's clusters with testing/realkafka/kafka.sh", kafkatest.EnvLib)
	}
	return func(topic string, committed bool) ([]string, string) {
		// It reads until no record came for --timeout-ms, then exits 0
		// and prints how many it processed.
		args := []string{"-Xmx128m", "-cp", filepath.Join(lib, "*"), "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
			"org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", c.Addr(),
			"--topic", topic, "--from-beginning", "--timeout-ms", "5000"}
		if committed {
			args = append(args, "--isolation-level", "read_committed")
		}
		out, errOut := run("java", args...)
		values := strings.Fields(out)
		m := consoleTotal.FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("kafka-console-consumer did not say how many records it read:\n%s", errOut)
		}
		if n, _ := strconv.Atoi(m[1]); n != len(values) {
			t.Fatalf("kafka-console-consumer processed %d records but printed %d values", n, len(values))
		}
		return values, "kafka-console-consumer"
	}
}

// needKcat returns kcat's path. kcat is a third-party client users have; CI
// installs it (.ci/run), so there a missing kcat fails the test.
func needKcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed; .ci/run installs it with apt-get")
		}
		t.Skip("kcat is not installed (apt-get install kcat); CI runs this test")
	}
	return p
}

// TestKcatInterop: records produced and a group committed by kcat (a
// librdkafka client) show up in kdeck with the right lag.
func TestKcatInterop(t *testing.T) {
	kcat := needKcat(t)
	isolate(t)
	c := kafkatest.New(t)
	c.CreateTopic(t, "kc", 2)
	var lines strings.Builder
	for i := range 100 {
		lines.WriteString("k")
		lines.WriteString(itoa(i % 7))
		lines.WriteString(":v")
		lines.WriteString(itoa(i))
		lines.WriteString("\n")
	}
	p := exec.Command(kcat, "-b", c.Addr(), "-P", "-t", "kc", "-K:")
	p.Stdin = strings.NewReader(lines.String())
	if out, err := p.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	g := exec.Command(kcat, "-b", c.Addr(), "-G", "kcat-group", "-o", "beginning", "-e", "-c", "40", "kc")
	if out, err := g.CombinedOutput(); err != nil {
		t.Fatalf("kcat -G: %v\n%s", err, out)
	}
	committed := c.Committed(t, "kcat-group")
	var sum int64
	for _, o := range committed["kc"] {
		sum += o
	}
	if sum != 40 {
		t.Fatalf("kcat committed %v, want 40 records in total", committed)
	}
	r := kdeck(t, "", "-b", c.Addr(), "groups", "describe", "kcat-group", "-o", "json")
	var d struct {
		Lag     int64
		Offsets []struct {
			Committed, LogEndOffset, Lag int64
		} `json:"offsets"`
	}
	if err := json.Unmarshal([]byte(r.out), &d); err != nil {
		t.Fatalf("%v: %+v", err, r)
	}
	// Lag counts the partitions kcat committed: 100 records in all, 40 read.
	ends := map[int32]int64{}
	var total int64
	for p := range int32(2) {
		recs := kdeck(t, "", "-b", c.Addr(), "tail", "kc", "-p", itoa(int(p)), "--format", "value")
		ends[p] = int64(strings.Count(recs.out, "\n"))
		total += ends[p]
	}
	var want int64
	for p, o := range committed["kc"] {
		want += ends[p] - o
	}
	if total != 100 || d.Lag != want || len(d.Offsets) != len(committed["kc"]) {
		t.Errorf("kdeck sees lag %d over %d partitions, want %d over %d: %s", d.Lag, len(d.Offsets), want, len(committed["kc"]), r.out)
	}
	// And kcat reads what kdeck produced, keys included.
	if r := kdeck(t, "a:1\nb:2\n", "-b", c.Addr(), "produce", "fromkdeck", "-K", ":"); r.code != 0 {
		t.Fatalf("produce: %+v", r)
	}
	out, err := exec.Command(kcat, "-b", c.Addr(), "-C", "-t", "fromkdeck", "-e", "-f", "%k=%s\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != 2 || !strings.Contains(string(out), "a=1") || !strings.Contains(string(out), "b=2") {
		t.Errorf("kcat read %q", out)
	}
}
