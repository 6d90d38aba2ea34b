package streams

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Guarantee is a job's processing guarantee.
type Guarantee string

// Guarantees.
const (
	// AtLeastOnce commits input offsets only after every output and
	// changelog record of a batch was acknowledged: a crash may repeat a
	// batch, never lose one. It is the default.
	AtLeastOnce Guarantee = "at_least_once"
	// ExactlyOnce writes outputs, changelog records and input offsets in
	// one Kafka transaction (franz-go's GroupTransactSession).
	ExactlyOnce Guarantee = "exactly_once"
)

// Opt configures a Job.
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

type cfg struct {
	dataDir        string
	guarantee      Guarantee
	logger         *slog.Logger
	resetOffset    kgo.Offset
	maxPoll        int
	onError        ErrorMode
	dlqTopic       string
	cacheBytes     int64
	instanceID     string
	sessionTimeout time.Duration
	commitInterval time.Duration
}

// DataDir sets the directory holding local state, overriding the default
// of $TMPDIR/kdeck-streams. A job's stores live in DIR/APP/STORE/PARTITION.
func DataDir(dir string) Opt { return optFunc(func(c *cfg) { c.dataDir = dir }) }

// WithGuarantee sets the processing guarantee, overriding the default
// AtLeastOnce.
func WithGuarantee(g Guarantee) Opt { return optFunc(func(c *cfg) { c.guarantee = g }) }

// WithLogger sets the logger, overriding the default of discarding logs.
func WithLogger(l *slog.Logger) Opt { return optFunc(func(c *cfg) { c.logger = l }) }

// ResetOffset sets where the group starts reading a partition that has no
// committed offset, overriding the default of the log start offset. (kgo's
// own default rewinds one minute, so it is always set explicitly.)
func ResetOffset(o kgo.Offset) Opt { return optFunc(func(c *cfg) { c.resetOffset = o }) }

// MaxPollRecords bounds the records processed per batch (per commit),
// overriding the default of 10000.
func MaxPollRecords(n int) Opt { return optFunc(func(c *cfg) { c.maxPoll = n }) }

// CommitInterval sets how long a batch may gather records after its first
// one before it is processed and committed, overriding the default of
// 100ms (Kafka Streams' default under exactly once). A batch also ends at
// MaxPollRecords. Zero processes whatever one poll returns.
func CommitInterval(d time.Duration) Opt { return optFunc(func(c *cfg) { c.commitInterval = d }) }

// StoreCacheBytes sets the size of the block cache shared by the job's
// Pebble stores, overriding the default of 32 MiB.
func StoreCacheBytes(n int64) Opt { return optFunc(func(c *cfg) { c.cacheBytes = n }) }

// InstanceID makes the job a static member of its group (group.instance.id)
// with this id, and uses it in the transactional id under exactly once. A
// restarted instance with the same id takes its partitions back without a
// rebalance and fences its previous incarnation's transaction at once. A
// stopped job (Run returned) leaves the group explicitly so that the other
// instances take its partitions at once. Ids
// must be unique among the running instances. By default membership is
// dynamic and the transactional id comes from an id kept in the data dir.
func InstanceID(id string) Opt { return optFunc(func(c *cfg) { c.instanceID = id }) }

// SessionTimeout sets the group session timeout of the job's consumer: how
// long the group waits for a silent instance before it gives the
// instance's partitions to the others. The default is franz-go's (45s).
func SessionTimeout(d time.Duration) Opt { return optFunc(func(c *cfg) { c.sessionTimeout = d }) }
