package ops_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kdeck/kdeck/ops"
	"github.com/kdeck/kdeck/testing/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cutDialer dials until cut, then closes every connection it made and
// refuses new ones: its client is gone without leaving, as a killed
// process is.
type cutDialer struct {
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

var errCut = errors.New("connection cut by the test")

func (d *cutDialer) DialContext(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errCut
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cutDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	for _, c := range d.conns {
		c.Close()
	}
}

// Members of a classic group whose process died while they waited in
// JoinGroup are expired after their session timeout, as Apache Kafka does,
// and the survivor gets every partition. kfake alone kept such a member
// (when its JoinGroup reply could not be delivered) Stable with its
// partitions for as long as the cluster ran.
func TestEmbeddedExpiresDeadClassicMembers(t *testing.T) {
	e, err := ops.StartEmbedded(context.Background(), ops.EmbeddedOptions{Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const partitions, dead = 8, 6
	if err := e.Kfake().CreateTopic("work", partitions, nil); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	member := func(id string, d *cutDialer) *kgo.Client {
		opts := []kgo.Opt{kgo.SeedBrokers(e.Addr()), kgo.ClientID(id), kgo.ConsumerGroup("workers"), kgo.ConsumeTopics("work"),
			kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(2 * time.Second), kgo.DialTimeout(time.Second)}
		if d != nil {
			opts = append(opts, kgo.Dialer(d.DialContext))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for runCtx.Err() == nil {
				if cl.PollFetches(runCtx).Err() != nil {
					time.Sleep(50 * time.Millisecond) // a dead client's polls fail at once
				}
			}
		})
		return cl
	}
	survivor := member("survivor", nil)
	defer survivor.Close()
	info := func() *kfake.GroupInfo { return e.Kfake().GroupInfo("workers") }
	kafkatest.WaitFor(t, 20*time.Second, "the survivor alone, Stable", func() bool {
		gi := info()
		return gi != nil && gi.State == "Stable" && len(gi.Members) == 1
	})

	// Members join and die while they wait for the rebalance to complete.
	var dialers []*cutDialer
	for range dead {
		d := &cutDialer{}
		dialers = append(dialers, d)
		cl := member("doomed", d)
		defer cl.Close()
	}
	kafkatest.WaitFor(t, 20*time.Second, "a doomed member in JoinGroup", func() bool {
		gi := info()
		return gi != nil && len(gi.Members) > 1
	})
	kafkatest.WaitFor(t, 20*time.Second, "every doomed member in JoinGroup, or the rebalance over", func() bool {
		gi := info()
		return len(gi.Members) == dead+1 || gi.State != "PreparingRebalance"
	})
	gi := info()
	t.Logf("cutting %d doomed members' connections: group %s with %d members", dead, gi.State, len(gi.Members))
	for _, d := range dialers {
		d.kill()
	}

	// Within a few session timeouts the survivor holds every partition.
	kafkatest.WaitFor(t, 45*time.Second, "the survivor alone with every partition", func() bool {
		last := info()
		return last != nil && last.State == "Stable" && len(last.Members) == 1 &&
			last.Members[0].ClientID == "survivor" && len(last.Members[0].Assignment["work"]) == partitions
	})
}
