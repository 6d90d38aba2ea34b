package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdeck/kdeck/schemaregistry"
)

// Demo channel names.
const (
	DemoOrdersTopic = "demo.orders"
	DemoClicksTopic = "demo.clicks"
	// DemoReaderGroup consumes demo.orders in bursts, so its lag rises and
	// falls.
	DemoReaderGroup = "demo-orders-reader"
	// DemoBillingGroup has committed offsets but no members: a stopped
	// consumer whose lag grows, the one to rewind in a demo.
	DemoBillingGroup = "demo-billing"
)

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// Port to listen on, on 127.0.0.1; 0 picks a free one. Default 9092
	// when DefaultPort is set, else 0.
	Port int
	// DataDir persists topics, records and offsets; "" keeps them in memory
	// (ephemeral).
	DataDir string
	// SyncWrites fsyncs every batch and group log entry before it is
	// acknowledged, so that data survives an OS crash or power loss too;
	// without it (the default) data survives the process being killed
	// (SIGKILL), not the machine. It costs ~2x produce throughput under
	// load and ~10x for one record at a time (BENCHMARKS.md).
	SyncWrites bool
	// Demo seeds the demo topics and runs the demo producer and consumers.
	Demo bool
	// DemoRate is the demo producer's records per second; default 50.
	DemoRate int
	// Registry serves a Schema Registry on 127.0.0.1:RegistryPort (0: a
	// free port) storing subjects in the cluster; see embedded_registry.go.
	Registry     bool
	RegistryPort int
	Logger       *slog.Logger
}

// Embedded is the embedded default: an in-process Kafka-protocol cluster
// (kfake) on 127.0.0.1 and, optionally, the demo channel. It owns the
// goroutines of the demo and stops them in Close.
type Embedded struct {
	cluster *kfake.Cluster
	addr    string
	dataDir string
	log     *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// demoRate is the demo's records per second (0: no demo);
	// stopProducer stops the hand-written demo producer once a datagen
	// connector takes over (see addDemoJobs).
	demoRate     int
	stopProducer context.CancelFunc

	// registry is the embedded Schema Registry, nil without one.
	registry *schemaregistry.Server

	// billingSeeded is closed once seedBilling is done (nil without the
	// demo).
	billingSeeded chan struct{}

	// dr is the demo's second embedded cluster, the target of the demo
	// mirror flow (DemoMirrorName); nil without the demo.
	dr *kfake.Cluster
}

// ErrPortInUse reports that the embedded cluster's port is taken.
var ErrPortInUse = errors.New("port in use")

// StartEmbedded starts the embedded cluster and, with Demo, the demo
// channel. It returns once the bootstrap address accepts connections.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if o.Port < 0 || o.Port > 65535 {
		return nil, invalidf("--port %d is out of range: use 1-65535, or 0 for a free port", o.Port)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(o.Port),
		kfake.ClusterID("kdeck-local"),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(3),
		kfake.SeedTopics(6, DemoOrdersTopic),
	}
	if !o.Demo {
		opts = opts[:len(opts)-1]
	}
	if o.DataDir != "" {
		dopts, err := prepareDataDir(o.DataDir, o.SyncWrites, o.Logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dopts...)
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			return nil, &wrapped{msg: fmt.Sprintf("port %d on 127.0.0.1 is already in use (another kdeck dev or a Kafka broker?): stop it, or pick another with --port (0 for any free port)", o.Port), err: ErrPortInUse}
		}
		return nil, fmt.Errorf("starting the embedded cluster: %w", err)
	}
	e := &Embedded{cluster: c, addr: c.ListenAddrs()[0], dataDir: o.DataDir, log: o.Logger}
	reaper := guard(c, e.addr, o.Logger)
	conn, err := net.DialTimeout("tcp", e.addr, time.Second)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("embedded cluster does not accept connections on %s: %w", e.addr, err)
	}
	conn.Close()
	if o.Registry {
		if err := e.startRegistry(ctx, o.RegistryPort); err != nil {
			c.Close()
			return nil, err
		}
	}
	dctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Go(func() { reaper.run(dctx) })
	if o.Demo {
		if err := e.startDR(o.DataDir, o.SyncWrites); err != nil {
			cancel()
			e.wg.Wait()
			e.closeRegistry()
			c.Close()
			return nil, err
		}
		drReaper := guard(e.dr, e.DRAddr(), o.Logger)
		e.wg.Go(func() { drReaper.run(dctx) })
		rate := o.DemoRate
		if rate <= 0 {
			rate = 50
		}
		pctx, stop := context.WithCancel(dctx)
		e.demoRate, e.stopProducer = rate, stop
		e.billingSeeded = make(chan struct{})
		e.wg.Go(func() { e.runDemoProducer(pctx, rate) })
		e.wg.Go(func() { e.runDemoReader(dctx, rate) })
		e.wg.Go(func() { e.seedBilling(dctx) })
		if e.registry != nil {
			e.wg.Go(func() { e.runDemoPayments(dctx, rate) })
		}
	}
	return e, nil
}

// Addr returns the bootstrap address, host:port.
func (e *Embedded) Addr() string { return e.addr }

// Kfake returns the underlying cluster, for tests and fault injection.
func (e *Embedded) Kfake() *kfake.Cluster { return e.cluster }

// Close stops the demo and the cluster, flushing persisted data. It is safe
// to call more than once.
func (e *Embedded) Close() {
	e.once.Do(func() {
		e.cancel()
		e.wg.Wait()
		e.closeRegistry()
		e.cluster.Close()
		if e.dr != nil {
			e.dr.Close()
		}
		if e.dataDir != "" {
			if err := secureDataDir(e.dataDir); err != nil {
				e.log.Warn("embedded cluster data dir", "err", err)
			}
		}
	})
}

func (e *Embedded) client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.addr), kgo.ClientID("kdeck-demo"), kgo.DialTimeout(time.Second)}, opts...)...)
}

// demoOrder is the value of a demo.orders record.
type demoOrder struct {
	ID       int64   `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Time     string  `json:"time"`
}

func (e *Embedded) runDemoProducer(ctx context.Context, rate int) {
	cl, err := e.client(kgo.DefaultProduceTopic(DemoOrdersTopic), kgo.ProducerLinger(10*time.Millisecond))
	if err != nil {
		e.log.Error("demo producer", "err", err)
		return
	}
	defer cl.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	per := max(rate/10, 1)
	var id int64 = time.Now().UnixMilli() * 1000
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = cl.Flush(fctx)
			cancel()
			return
		case now := <-tick.C:
			for range per {
				id++
				cust := fmt.Sprintf("customer-%02d", rand.IntN(20))
				v, _ := json.Marshal(demoOrder{ID: id, Customer: cust, Amount: float64(rand.IntN(20000)) / 100, Currency: "EUR", Time: now.UTC().Format(time.RFC3339Nano)})
				cl.Produce(ctx, &kgo.Record{Key: []byte(cust), Value: v}, nil)
			}
		}
	}
}

// runDemoReader consumes demo.orders in a group at a rate that alternates
// between slower and faster than the producer, committing after each batch.
func (e *Embedded) runDemoReader(ctx context.Context, rate int) {
	cl, err := e.client(
		kgo.ConsumerGroup(DemoReaderGroup),
		kgo.ConsumeTopics(DemoOrdersTopic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		e.log.Error("demo reader", "err", err)
		return
	}
	defer cl.Close()
	start := time.Now()
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, max(rate/10, 1))
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		// 40 s at 60% of the producer's rate, then 20 s at 200%.
		slow := int(time.Since(start).Seconds())%60 < 40
		perSec := float64(rate) * 2
		if slow {
			perSec = float64(rate) * 0.6
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(float64(len(recs)) / perSec * float64(time.Second))):
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = cl.CommitRecords(cctx, recs...)
		cancel()
	}
}

// seedBilling gives demo-billing committed offsets near the start of
// demo.orders once: only when the group has none. On a restart the group
// keeps what it had, so a reset made by the user survives.
func (e *Embedded) seedBilling(ctx context.Context) {
	defer close(e.billingSeeded)
	has, err := e.hasCommits(ctx, DemoBillingGroup)
	if err != nil {
		e.log.Warn("demo: not seeding "+DemoBillingGroup, "err", err)
		return
	}
	if has {
		return
	}
	cl, err := e.client(
		kgo.ConsumerGroup(DemoBillingGroup),
		kgo.ConsumeTopics(DemoOrdersTopic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return
	}
	defer cl.Close()
	// Read what there is for a moment, commit, and leave the group.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fs := cl.PollRecords(pctx, 200)
		cancel()
		if recs := fs.Records(); len(recs) > 0 {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = cl.CommitRecords(cctx, recs...)
			cancel()
		}
	}
	lctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = cl.LeaveGroupContext(lctx)
}

// hasCommits reports whether group has a committed offset on the embedded
// cluster.
func (e *Embedded) hasCommits(ctx context.Context, group string) (bool, error) {
	cl, err := e.client()
	if err != nil {
		return false, err
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(fctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) { // kfake's answer for a group it never saw
		return false, nil
	}
	if err != nil {
		return false, err
	}
	has := false
	offs.Each(func(o kadm.OffsetResponse) { has = has || (o.Err == nil && o.At >= 0) })
	return has, nil
}
