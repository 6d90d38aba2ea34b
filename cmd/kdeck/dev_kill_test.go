package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// devProcess is one 'kdeck dev' run of the kill loop.
type devProcess struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// freePort returns a loopback port that was free a moment ago: the kill
// loop restarts 'kdeck dev' on the same port so that its clients reconnect.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDev starts 'kdeck dev' on dir and port and waits (up to 15 s) for its
// listening line.
func startDev(t *testing.T, bin, home, dir string, port int) *devProcess {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--no-demo", "--data-dir", dir, "--port", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home, "KDECK_CONFIG=")
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if listenLine.MatchString(sc.Text()) {
				up <- true
				break
			}
		}
		for sc.Scan() { // drain so that the process never blocks on stdout
		}
		up <- false
	}()
	select {
	case ok := <-up:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("kdeck dev exited before listening: %s", stderr)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("kdeck dev did not listen within 15 s: %s", stderr)
	}
	return &devProcess{cmd: cmd, stderr: stderr}
}

func (p *devProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// killLoad is the independent client's work: a producer whose acknowledged
// records are remembered, and a group consumer whose acknowledged commits
// are remembered.
type killLoad struct {
	mu      sync.Mutex
	topics  []string                   // produced to, round robin
	acked   map[string]map[string]bool // topic → acknowledged values
	commits map[string]map[int32]int64 // topic → partition → highest acknowledged commit
}

func (l *killLoad) addTopic(topic string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.topics = append(l.topics, topic)
	l.acked[topic] = map[string]bool{}
}

func (l *killLoad) produce(ctx context.Context, cl *kgo.Client) {
	inflight := make(chan struct{}, 500)
	for seq := 0; ctx.Err() == nil; seq++ {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		l.mu.Lock()
		topic := l.topics[seq%len(l.topics)]
		l.mu.Unlock()
		v := fmt.Sprintf("%s/%d", topic, seq)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}, func(r *kgo.Record, err error) {
			<-inflight
			if err == nil {
				l.mu.Lock()
				l.acked[r.Topic][string(r.Value)] = true
				l.mu.Unlock()
			}
		})
		if seq%50 == 0 {
			time.Sleep(2 * time.Millisecond) // a steady load, not a flood the 2 cores drown in
		}
	}
}

func (l *killLoad) consume(ctx context.Context, cl *kgo.Client) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollRecords(pctx, 500)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := cl.CommitRecords(cctx, recs...)
		cancel()
		if err != nil {
			continue
		}
		l.mu.Lock()
		for _, r := range recs {
			ps := l.commits[r.Topic]
			if ps == nil {
				ps = map[int32]int64{}
				l.commits[r.Topic] = ps
			}
			ps[r.Partition] = max(ps[r.Partition], r.Offset+1)
		}
		l.mu.Unlock()
	}
}

func (l *killLoad) commitSnapshot() map[string]map[int32]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[int32]int64{}
	for t, ps := range l.commits {
		out[t] = map[int32]int64{}
		for p, o := range ps {
			out[t][p] = o
		}
	}
	return out
}

// checkCommits asserts, on a freshly restarted cluster, that no
// acknowledged commit was lost and that no committed offset is past its
// partition's log end (a reader of the group would wait there forever).
func checkCommits(t *testing.T, adm *kadm.Client, group string, before map[string]map[int32]int64) (checked int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch committed offsets of %s: %v", group, err)
	}
	var topics []string
	for topic := range before {
		topics = append(topics, topic)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if !slices.Contains(topics, o.Topic) {
			topics = append(topics, o.Topic)
		}
	})
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatalf("list end offsets: %v", err)
	}
	for topic, ps := range before {
		for p, want := range ps {
			got, ok := committed.Lookup(topic, p)
			if !ok || got.At < want {
				t.Errorf("commit lost: %s/%d acknowledged at %d, committed now %d (found %v)", topic, p, want, got.At, ok)
			}
			checked++
		}
	}
	committed.Each(func(o kadm.OffsetResponse) {
		end, ok := ends.Lookup(o.Topic, o.Partition)
		if !ok || end.Err != nil {
			t.Errorf("%s/%d has a committed offset %d but no log end (%v)", o.Topic, o.Partition, o.At, end.Err)
			return
		}
		if o.At > end.Offset {
			t.Errorf("%s/%d committed offset %d is past the log end %d", o.Topic, o.Partition, o.At, end.Offset)
		}
	})
	return checked
}

// TestDevSurvivesSIGKILLLoop kills 'kdeck dev' (the built binary, its data
// dir kept) 20 times under produce-and-commit load from an independent
// client, on topics auto-created by their first produce (some created just
// before a kill) and one created by 'kdeck topics create'. It asserts that
// no acknowledged record and no acknowledged commit is lost, that no
// committed offset is past a log end, and that reads end (kcat -C -e, each
// read bounded by a timeout); it reports duplicates.
func TestDevSurvivesSIGKILLLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-process test; runs without -short")
	}
	kcat := needKcat(t)
	bin := buildKdeck(t)
	home, dir := t.TempDir(), filepath.Join(t.TempDir(), "embedded")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))

	dev := startDev(t, bin, home, dir, port)
	defer func() { dev.kill() }()
	if out, err := exec.Command(bin, "-b", addr, "topics", "create", "made", "-p", "3").CombinedOutput(); err != nil {
		t.Fatalf("kdeck topics create: %v\n%s", err, out)
	}
	load := &killLoad{acked: map[string]map[string]bool{}, commits: map[string]map[int32]int64{}}
	load.addTopic("made")
	load.addTopic("auto.0")

	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DialTimeout(time.Second), kgo.MetadataMinAge(100 * time.Millisecond), kgo.MetadataMaxAge(time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond })}
	prod, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(60*time.Second), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const group = "killers"
	cons, err := kgo.NewClient(append(opts, kgo.ConsumerGroup(group), kgo.ConsumeRegex(), kgo.ConsumeTopics(`^(made|auto\..*)$`),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	admCl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { load.produce(ctx, prod) })
	wg.Go(func() { load.consume(ctx, cons) })
	defer func() { stopLoad(); wg.Wait() }()

	const kills = 20
	commitsChecked := 0
	for i := range kills {
		if i > 0 {
			dev = startDev(t, bin, home, dir, port)
			commitsChecked += checkCommits(t, adm, group, load.commitSnapshot())
		}
		if i%4 == 3 { // a topic auto-created by its first produce, shortly before a kill
			load.addTopic(fmt.Sprintf("auto.%d", i/4+1))
		}
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		dev.kill()
	}
	dev = startDev(t, bin, home, dir, port)
	commitsChecked += checkCommits(t, adm, group, load.commitSnapshot())

	// Stop the load, let the producer deliver what it still holds.
	stopLoad()
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := prod.Flush(fctx); err != nil {
		t.Logf("flush: %v (records not delivered are not counted as acknowledged)", err)
	}
	cancel()
	commitsChecked += checkCommits(t, adm, group, load.commitSnapshot())

	// Every acknowledged record is there, read by kcat (librdkafka) to the
	// end of each topic within a bounded time.
	var acked, lost, dups, read int
	load.mu.Lock()
	defer load.mu.Unlock()
	for _, topic := range load.topics {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		kc := exec.CommandContext(rctx, kcat, "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n")
		out, err := kc.Output()
		hung := rctx.Err() != nil
		cancel()
		if hung {
			t.Fatalf("kcat -C -e on %s did not end within 30 s (a read hangs)", topic)
		}
		if err != nil {
			t.Fatalf("kcat -C -e on %s: %v", topic, err)
		}
		seen := map[string]int{}
		for _, v := range strings.Fields(string(out)) {
			seen[v]++
			read++
			if seen[v] == 2 {
				dups++
			}
		}
		for v := range load.acked[topic] {
			acked++
			if seen[v] == 0 {
				lost++
				if lost <= 5 {
					t.Errorf("acknowledged record %s is gone", v)
				}
			}
		}
	}
	t.Logf("kills %d, topics %d, acknowledged %d, lost %d, duplicates %d (records read %d), commits checked %d",
		kills, len(load.topics), acked, lost, dups, read, commitsChecked)
	if acked < kills*100 {
		t.Errorf("only %d records acknowledged: the load did not run", acked)
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged records lost", lost, acked)
	}
	if commitsChecked < kills {
		t.Errorf("only %d commits checked: the consumer did not commit", commitsChecked)
	}
}
