package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/kdeck/kdeck/schemaregistry"
)

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

func (e *Embedded) closeRegistry() {
	if e.registry != nil {
		e.registry.Close()
	}
}
