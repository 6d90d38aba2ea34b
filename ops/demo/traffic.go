// Package demo generates the embedded default's demo channel traffic: JSON
// orders produced at a steady rate, a reader group whose lag rises and
// falls, a stopped billing group with offsets to rewind, and Avro payments
// in the Schema Registry wire format, so every screen shows real, moving
// data within a second of start.
//
//	g := demo.Generators{Addr: "127.0.0.1:9092", Rate: 50, Log: logger}
//	go g.ProduceOrders(ctx) // until ctx is done
//	go g.ReadOrders(ctx)
//
// The generators are plain Kafka clients of the cluster at Addr; the caller
// (ops.Embedded) owns their goroutines and stops them by cancelling ctx.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
)

// Demo channel names.
const (
	OrdersTopic = "demo.orders"
	// ReaderGroup consumes demo.orders in bursts, so its lag rises and
	// falls.
	ReaderGroup = "demo-orders-reader"
	// BillingGroup has committed offsets but no members: a stopped
	// consumer whose lag grows, the one to rewind in a demo.
	BillingGroup = "demo-billing"
	// PaymentsTopic holds Avro records in the Schema Registry wire format,
	// so the console shows decoded records on first start.
	PaymentsTopic = "demo.payments"
)

// PaymentsSchema is the Avro schema of demo.payments values, registered
// under the subject demo.payments-value.
const PaymentsSchema = `{"type":"record","name":"Payment","namespace":"kdeck.demo","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":"string"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD","GBP"]}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"card","type":["null","string"],"default":null}
]}`

// Generators produce and consume the demo traffic on the cluster at Addr.
// Each method blocks until its ctx is done (SeedBilling until it is done
// seeding) and may run concurrently with the others.
type Generators struct {
	// Addr is the cluster's bootstrap address, host:port.
	Addr string
	// Rate is the orders' records per second (payments: a fifth of it).
	Rate int
	// Log receives the generators' errors; it must not be nil.
	Log *slog.Logger
}

func (g Generators) client(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(g.Addr), kgo.ClientID("kdeck-demo"), kgo.DialTimeout(time.Second)}, opts...)...)
}

// order is the value of a demo.orders record.
type order struct {
	ID       int64   `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Time     string  `json:"time"`
}

// ProduceOrders produces JSON orders into OrdersTopic at Rate records per
// second, keyed by customer, until ctx is done; it flushes (at most 2 s)
// before it returns.
func (g Generators) ProduceOrders(ctx context.Context) {
	rate := g.Rate
	cl, err := g.client(kgo.DefaultProduceTopic(OrdersTopic), kgo.ProducerLinger(10*time.Millisecond))
	if err != nil {
		g.Log.Error("demo producer", "err", err)
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
				v, _ := json.Marshal(order{ID: id, Customer: cust, Amount: float64(rand.IntN(20000)) / 100, Currency: "EUR", Time: now.UTC().Format(time.RFC3339Nano)})
				cl.Produce(ctx, &kgo.Record{Key: []byte(cust), Value: v}, nil)
			}
		}
	}
}

// ReadOrders consumes OrdersTopic in ReaderGroup at a rate that alternates
// between slower and faster than the producer, committing after each
// batch, until ctx is done.
func (g Generators) ReadOrders(ctx context.Context) {
	rate := g.Rate
	cl, err := g.client(
		kgo.ConsumerGroup(ReaderGroup),
		kgo.ConsumeTopics(OrdersTopic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		g.Log.Error("demo reader", "err", err)
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

// SeedBilling gives BillingGroup committed offsets near the start of
// OrdersTopic once: only when the group has none. On a restart the group
// keeps what it had, so a reset made by the user survives. It returns
// within about 2 s, or when ctx is done.
func (g Generators) SeedBilling(ctx context.Context) {
	has, err := g.hasCommits(ctx, BillingGroup)
	if err != nil {
		g.Log.Warn("demo: not seeding "+BillingGroup, "err", err)
		return
	}
	if has {
		return
	}
	cl, err := g.client(
		kgo.ConsumerGroup(BillingGroup),
		kgo.ConsumeTopics(OrdersTopic),
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
func (g Generators) hasCommits(ctx context.Context, group string) (bool, error) {
	cl, err := g.client()
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

// ProducePayments registers the demo.payments-value schema in the
// registry at registryURL and produces Avro payments into PaymentsTopic
// at a fifth of Rate until ctx is done; it flushes (at most 2 s) before it
// returns.
func (g Generators) ProducePayments(ctx context.Context, registryURL string) {
	rate := g.Rate
	rc, err := schema.NewClient(schema.Config{URLs: []string{registryURL}, Timeout: 5 * time.Second})
	if err != nil {
		g.Log.Error("demo payments", "err", err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = rc.SR().CreateSchema(rctx, PaymentsTopic+"-value", sr.Schema{Schema: PaymentsSchema})
	var enc *schema.Encoder
	if err == nil {
		enc, err = rc.NewEncoder(rctx, PaymentsTopic+"-value", schema.Latest)
	}
	cancel()
	if err != nil {
		g.Log.Error("demo payments: registering the schema", "err", err)
		return
	}
	cl, err := g.client(kgo.DefaultProduceTopic(PaymentsTopic), kgo.ProducerLinger(10*time.Millisecond), kgo.AllowAutoTopicCreation())
	if err != nil {
		g.Log.Error("demo payments", "err", err)
		return
	}
	defer cl.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	per := max(rate/5, 1)
	id := time.Now().UnixMilli()
	currencies := []string{"EUR", "USD", "GBP"}
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
				card := "null"
				if rand.IntN(3) > 0 {
					card = fmt.Sprintf(`"**** %04d"`, rand.IntN(10000))
				}
				line := fmt.Sprintf(`{"id":%d,"customer":%q,"amount":"%d.%02d","currency":%q,"at":%d,"card":%s}`,
					id, cust, rand.IntN(500), rand.IntN(100), currencies[rand.IntN(3)], now.UnixMilli(), card)
				v, err := enc.Encode([]byte(line))
				if err != nil {
					g.Log.Error("demo payments: encoding", "err", err)
					return
				}
				cl.Produce(ctx, &kgo.Record{Key: []byte(cust), Value: v}, nil)
			}
		}
	}
}
