package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kdeck/kdeck/ops/demo"
	"github.com/kdeck/kdeck/schemaregistry"
)

// Demo channel names (see package demo).
const (
	DemoOrdersTopic   = demo.OrdersTopic
	DemoReaderGroup   = demo.ReaderGroup
	DemoBillingGroup  = demo.BillingGroup
	DemoPaymentsTopic = demo.PaymentsTopic
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

	// billingSeeded is closed once demo.Generators.SeedBilling is done (nil without the
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
		g := demo.Generators{Addr: e.addr, Rate: rate, Log: o.Logger}
		e.wg.Go(func() { g.ProduceOrders(pctx) })
		e.wg.Go(func() { g.ReadOrders(dctx) })
		e.wg.Go(func() { defer close(e.billingSeeded); g.SeedBilling(dctx) })
		if e.registry != nil {
			e.wg.Go(func() { g.ProducePayments(dctx, e.registry.URL()) })
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
