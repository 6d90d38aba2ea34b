package mirror

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kdeck/kdeck/jobstate"
)

// coordinatorTransient reports whether err is a group coordinator error that
// goes away by itself. Apache Kafka answers COORDINATOR_NOT_AVAILABLE to the
// first group request of a fresh cluster while it creates __consumer_offsets
// and loads its partitions, COORDINATOR_LOAD_IN_PROGRESS while a coordinator
// loads, and NOT_COORDINATOR after a coordinator moved. franz-go's sharded
// group requests (kadm's FetchOffsets, CommitOffsets, DescribeGroups) return
// these errors without retrying them.
func coordinatorTransient(err error) bool {
	return errors.Is(err, kerr.CoordinatorNotAvailable) ||
		errors.Is(err, kerr.CoordinatorLoadInProgress) ||
		errors.Is(err, kerr.NotCoordinator)
}

// retryCoordinator calls fn until it returns anything but a transient
// coordinator error (coordinatorTransient) or ctx ends, backing off from 50ms
// to 1s between calls. It returns fn's last result. Give ctx a deadline: a
// cluster whose coordinator never comes back keeps it waiting until then.
func retryCoordinator[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	b := jobstate.Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	for {
		v, err := fn()
		if err == nil || !coordinatorTransient(err) {
			return v, err
		}
		if jobstate.Sleep(ctx, b.Next()) != nil {
			return v, err
		}
	}
}
