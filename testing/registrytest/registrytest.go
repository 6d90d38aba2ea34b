// Package registrytest starts kdeck's Schema Registry on a test's cluster,
// stopped at the end of the test, and a client for it.
//
//	c := kafkatest.New(t)
//	url, rc := registrytest.Start(t, c.Addrs())
//	_, err := rc.SR().CreateSchema(ctx, "orders-value", sr.Schema{Schema: avsc})
package registrytest

import (
	"context"
	"testing"
	"time"

	"github.com/kdeck/kdeck/schema"
	"github.com/kdeck/kdeck/schemaregistry"
)

// Start serves a registry on a free loopback port storing _schemas on the
// cluster at brokers, and returns its URL and a client with a 5 s request
// timeout. Both stop with the test.
func Start(t testing.TB, brokers []string) (string, *schema.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := schemaregistry.New(ctx, schemaregistry.Options{Addr: "127.0.0.1:0", Brokers: brokers})
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	t.Cleanup(srv.Close)
	rc, err := schema.NewClient(schema.Config{URLs: []string{srv.URL()}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return srv.URL(), rc
}
