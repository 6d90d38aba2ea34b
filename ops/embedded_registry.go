package ops

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/schemaregistry"
)

// DemoPaymentsTopic holds Avro records in the Schema Registry wire format,
// so the console shows decoded records on first start.
const DemoPaymentsTopic = "demo.payments"

// DemoPaymentsSchema is the Avro schema of demo.payments values, registered
// under the subject demo.payments-value.
const DemoPaymentsSchema = `{"type":"record","name":"Payment","namespace":"kdeck.demo","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":"string"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"currency","type":{"type":"enum","name":"Currency","symbols":["EUR","USD","GBP"]}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"card","type":["null","string"],"default":null}
]}`

// ErrRegistryPortInUse reports that the embedded registry's port is taken;
// it also matches ErrPortInUse.
var ErrRegistryPortInUse = fmt.Errorf("registry %w", ErrPortInUse)

// RegistryURL returns the embedded Schema Registry's URL, "" when it does
// not serve one.
func (e *Embedded) RegistryURL() string {
	if e.registry == nil {
		return ""
	}
	return e.registry.URL()
}

// startRegistry serves the Schema Registry API on 127.0.0.1:port, storing
// subjects in the cluster's _schemas topic.
func (e *Embedded) startRegistry(ctx context.Context, port int) error {
	if port < 0 || port > 65535 {
		return invalidf("--registry-port %d is out of range: use 1-65535, or 0 for a free port", port)
	}
	srv, err := schemaregistry.New(ctx, schemaregistry.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), Brokers: []string{e.addr}, Logger: e.log})
	if errors.Is(err, schemaregistry.ErrPortInUse) {
		return &wrapped{msg: err.Error(), err: ErrRegistryPortInUse}
	}
	if err != nil {
		return err
	}
	e.registry = srv
	return nil
}

// runDemoPayments registers the demo.payments-value schema and produces
// Avro payments at a fifth of the demo rate until ctx is done.
func (e *Embedded) runDemoPayments(ctx context.Context, rate int) {
	rc, err := schema.NewClient(schema.Config{URLs: []string{e.registry.URL()}, Timeout: 5 * time.Second})
	if err != nil {
		e.log.Error("demo payments", "err", err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = rc.SR().CreateSchema(rctx, DemoPaymentsTopic+"-value", sr.Schema{Schema: DemoPaymentsSchema})
	var enc *schema.Encoder
	if err == nil {
		enc, err = rc.NewEncoder(rctx, DemoPaymentsTopic+"-value", schema.Latest)
	}
	cancel()
	if err != nil {
		e.log.Error("demo payments: registering the schema", "err", err)
		return
	}
	cl, err := e.client(kgo.DefaultProduceTopic(DemoPaymentsTopic), kgo.ProducerLinger(10*time.Millisecond), kgo.AllowAutoTopicCreation())
	if err != nil {
		e.log.Error("demo payments", "err", err)
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
					e.log.Error("demo payments: encoding", "err", err)
					return
				}
				cl.Produce(ctx, &kgo.Record{Key: []byte(cust), Value: v}, nil)
			}
		}
	}
}

func (e *Embedded) closeRegistry() {
	if e.registry != nil {
		e.registry.Close()
	}
}
