package streams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// internalPartitioner writes changelog records to the record's partition
// (the task's) and hashes keys for every other topic.
type internalPartitioner struct {
	internal map[string]bool
	hash     kgo.Partitioner
	manual   kgo.Partitioner
}

func (p internalPartitioner) ForTopic(t string) kgo.TopicPartitioner {
	if p.internal[t] {
		return p.manual.ForTopic(t)
	}
	return p.hash.ForTopic(t)
}

func (j *Job) startClient() error {
	topics := append(append([]string(nil), j.top.inputs...), j.top.repartitions...)
	// A short fetch wait bounds latency on brokers that do not answer a
	// long poll as soon as data arrives (kfake); clientOpts may override it.
	opts := append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, j.clientOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(j.top.appID),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(j.cfg.resetOffset),
		kgo.Balancers(kgo.RangeBalancer()), // co-partitioned: partition p of every topic goes to one member
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(j.onAssigned),
		kgo.OnPartitionsRevoked(j.onRevoked),
		kgo.OnPartitionsLost(j.onLost),
		kgo.RecordPartitioner(internalPartitioner{internal: j.internal, hash: kgo.StickyKeyPartitioner(nil), manual: kgo.ManualPartitioner()}),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedRecords(4*j.cfg.maxPoll+10000),
		kgo.ProducerLinger(0),
		kgo.FetchMaxBytes(32<<20),
	)
	if j.cfg.instanceID != "" {
		opts = append(opts, kgo.InstanceID(j.cfg.instanceID))
	}
	if j.cfg.sessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(j.cfg.sessionTimeout))
	}
	if j.cfg.guarantee == ExactlyOnce {
		id, err := j.txnInstance()
		if err != nil {
			return err
		}
		opts = append(opts,
			kgo.TransactionalID(j.top.appID+"-"+id),
			kgo.TransactionTimeout(10*time.Second),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.RequireStableFetchOffsets(),
		)
		sess, err := kgo.NewGroupTransactSession(opts...)
		if err != nil {
			return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
		}
		j.sess, j.cl = sess, sess.Client()
		return nil
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
	}
	j.cl = cl
	return nil
}

// txnInstance returns the id that makes the transactional id: the
// instance id, else one kept in the data dir, so that a restarted instance
// fences the transaction its crashed predecessor left open instead of
// leaving it to time out.
func (j *Job) txnInstance() (string, error) {
	if j.cfg.instanceID != "" {
		return j.cfg.instanceID, nil
	}
	dir := StateDir(j.cfg.dataDir, j.top.appID)
	path := filepath.Join(dir, "instance-id")
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("stream job %s: %w", j.top.appID, err)
	}
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("stream job %s: %w", j.top.appID, err)
	}
	return id, nil
}

func (j *Job) stopClient() {
	j.cl.AllowRebalance() // a failed batch may have returned without allowing it
	if j.sess != nil {
		j.sess.Close()
	} else {
		j.cl.Close() // leaves the group; triggers onRevoked for a clean close
	}
	j.mu.Lock()
	j.closeTasks(nil, true)
	j.mu.Unlock()
	j.sess, j.cl = nil, nil
	j.leaveStatic()
}

// leaveStatic removes this instance from its group after a stop when it is
// a static member (a static member's Close does not leave): its state is
// flushed and its offsets committed, so the other instances take its
// partitions over at once instead of after the session timeout. A crashed
// instance never gets here and, restarted with the same instance id, takes
// its partitions back without a rebalance.
func (j *Job) leaveStatic() {
	if j.cfg.instanceID == "" {
		return
	}
	cl, err := kgo.NewClient(j.clientOpts...)
	if err == nil {
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = kadm.NewClient(cl).LeaveGroup(ctx, kadm.LeaveGroup(j.top.appID).InstanceIDs(j.cfg.instanceID).Reason("kdeck stream job stopping"))
	}
	if err != nil {
		j.log.Warn("could not leave the group; the others take this instance's partitions after the session timeout", "err", err)
	}
}
