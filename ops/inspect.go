package ops

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Clusters implements Service.
func (l *Local) Clusters(ctx context.Context) ([]ClusterInfo, error) {
	names := l.names()
	out := make([]ClusterInfo, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			ci, err := l.Cluster(ctx, n)
			if err != nil {
				ci = ClusterInfo{Name: n, Error: err.Error(), Controller: -1}
				if c, ok := l.clusters[n]; ok {
					ci.Bootstrap = c.Brokers
				}
			}
			out[i] = ci
		})
	}
	wg.Wait()
	return out, nil
}

// Cluster implements Service.
func (l *Local) Cluster(ctx context.Context, name string) (ClusterInfo, error) {
	c, err := l.client(name)
	if err != nil {
		return ClusterInfo{}, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	ci := ClusterInfo{Name: c.cfg.Name, Bootstrap: c.cfg.Brokers, Controller: -1}
	md, err := c.adm.Metadata(ctx)
	if err != nil {
		return ci, l.err(c, err)
	}
	ci.Reachable = true
	ci.ClusterID = md.Cluster
	ci.Controller = md.Controller
	for _, b := range md.Brokers {
		ci.Brokers = append(ci.Brokers, Broker{ID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
	}
	sort.Slice(ci.Brokers, func(i, j int) bool { return ci.Brokers[i].ID < ci.Brokers[j].ID })
	for _, t := range md.Topics {
		if !t.IsInternal {
			ci.Topics++
		}
	}
	if gs, err := l.listGroupNames(ctx, c); err == nil {
		ci.Groups = len(gs)
	}
	return ci, nil
}

// ListTopics implements Service.
func (l *Local) ListTopics(ctx context.Context, cluster string, opts ListTopicsOptions) ([]TopicSummary, error) {
	c, err := l.client(cluster)
	if err != nil {
		return nil, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	var tds kadm.TopicDetails
	if opts.Internal {
		tds, err = c.adm.ListTopicsWithInternal(ctx)
	} else {
		tds, err = c.adm.ListTopics(ctx)
	}
	if err != nil {
		return nil, l.err(c, err)
	}
	starts, ends, err := l.watermarks(ctx, c, tds.Names()...)
	if err != nil {
		return nil, err
	}
	out := make([]TopicSummary, 0, len(tds))
	for _, td := range tds.Sorted() {
		if td.Err != nil {
			continue
		}
		ts := TopicSummary{Name: td.Topic, Partitions: len(td.Partitions), ReplicationFactor: td.Partitions.NumReplicas(), Internal: td.IsInternal}
		for p := range td.Partitions {
			s, ok1 := starts.Lookup(td.Topic, p)
			e, ok2 := ends.Lookup(td.Topic, p)
			if ok1 && ok2 && s.Err == nil && e.Err == nil {
				ts.Records += e.Offset - s.Offset
			}
		}
		out = append(out, ts)
	}
	return out, nil
}

// watermarks lists start and end offsets of topics, batched per broker.
func (l *Local) watermarks(ctx context.Context, c *clusterClient, topics ...string) (starts, ends kadm.ListedOffsets, err error) {
	if len(topics) == 0 {
		return kadm.ListedOffsets{}, kadm.ListedOffsets{}, nil
	}
	starts, err = c.adm.ListStartOffsets(ctx, topics...)
	if err != nil && !isShardErr(err) {
		return nil, nil, l.err(c, err)
	}
	ends, err = c.adm.ListEndOffsets(ctx, topics...)
	if err != nil && !isShardErr(err) {
		return nil, nil, l.err(c, err)
	}
	return starts, ends, nil
}

func isShardErr(err error) bool {
	var se *kadm.ShardErrors
	return errors.As(err, &se)
}

// DescribeTopic implements Service.
func (l *Local) DescribeTopic(ctx context.Context, cluster, topic string) (TopicDetail, error) {
	c, err := l.client(cluster)
	if err != nil {
		return TopicDetail{}, err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	tds, err := c.adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return TopicDetail{}, l.err(c, err)
	}
	td, ok := tds[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return TopicDetail{}, notFoundf(ErrTopicNotFound, "topic %q not found on cluster %q; list topics with 'kdeck topics'", topic, c.cfg.Name)
	}
	if td.Err != nil {
		return TopicDetail{}, l.err(c, td.Err)
	}
	starts, ends, err := l.watermarks(ctx, c, topic)
	if err != nil {
		return TopicDetail{}, err
	}
	d := TopicDetail{Name: topic, ReplicationFactor: td.Partitions.NumReplicas(), Internal: td.IsInternal, ID: base64.RawURLEncoding.EncodeToString(td.ID[:])}
	for _, p := range td.Partitions.Sorted() {
		pd := PartitionDetail{Partition: p.Partition, Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR, LogStartOffset: -1, LogEndOffset: -1}
		if p.Err != nil {
			pd.Error = p.Err.Error()
		}
		if s, ok := starts.Lookup(topic, p.Partition); ok && s.Err == nil {
			pd.LogStartOffset = s.Offset
		}
		if e, ok := ends.Lookup(topic, p.Partition); ok && e.Err == nil {
			pd.LogEndOffset = e.Offset
		}
		if pd.LogStartOffset >= 0 && pd.LogEndOffset >= 0 {
			d.Records += pd.LogEndOffset - pd.LogStartOffset
		}
		d.Partitions = append(d.Partitions, pd)
	}
	rcs, err := c.adm.DescribeTopicConfigs(ctx, topic)
	if err == nil {
		if rc, err := rcs.On(topic, nil); err == nil {
			for _, cv := range rc.Configs {
				ce := ConfigEntry{Name: cv.Key, Value: cv.MaybeValue(), Source: cv.Source.String(), Sensitive: cv.Sensitive}
				if cv.Sensitive {
					ce.Value = "<redacted>"
				}
				d.Configs = append(d.Configs, ce)
			}
			sort.Slice(d.Configs, func(i, j int) bool { return d.Configs[i].Name < d.Configs[j].Name })
		}
	}
	return d, nil
}

// CreateTopic implements Service.
func (l *Local) CreateTopic(ctx context.Context, cluster string, req CreateTopicRequest) error {
	if err := l.checkWritable(ctx, "create topic "+req.Name); err != nil {
		return err
	}
	if err := ValidateTopicName(req.Name); err != nil {
		return err
	}
	if req.Partitions < 0 {
		return invalidf("--partitions must be positive, got %d", req.Partitions)
	}
	if req.ReplicationFactor < 0 {
		return invalidf("--replication-factor must be positive, got %d", req.ReplicationFactor)
	}
	if req.Partitions == 0 {
		req.Partitions = -1 // broker default
	}
	if req.ReplicationFactor == 0 {
		req.ReplicationFactor = -1 // broker default
	}
	c, err := l.client(cluster)
	if err != nil {
		return err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	cfgs := map[string]*string{}
	for k, v := range req.Configs {
		cfgs[k] = &v
	}
	entry := AuditEntry{Action: "topics.create", Cluster: c.cfg.Name, Topic: req.Name, Details: map[string]string{
		"partitions": fmt.Sprint(req.Partitions), "replication_factor": fmt.Sprint(req.ReplicationFactor)}}
	if err := l.auditIntent(ctx, &entry); err != nil {
		return err
	}
	resp, err := c.adm.CreateTopic(ctx, req.Partitions, req.ReplicationFactor, cfgs, req.Name)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		entry.Details["partitions"], entry.Details["replication_factor"] = fmt.Sprint(resp.NumPartitions), fmt.Sprint(resp.ReplicationFactor)
	case errors.Is(err, kerr.TopicAlreadyExists):
		err = invalidf("topic %q already exists on cluster %q; nothing created", req.Name, c.cfg.Name)
	case errors.Is(err, kerr.InvalidReplicationFactor):
		err = invalidf("replication factor %d is invalid on cluster %q (more than its brokers?): lower --replication-factor", req.ReplicationFactor, c.cfg.Name)
	case errors.Is(err, kerr.InvalidPartitions):
		err = invalidf("partition count %d is invalid on cluster %q", req.Partitions, c.cfg.Name)
	case errors.Is(err, kerr.InvalidConfig), errors.Is(err, kerr.InvalidTopicException):
		err = invalidf("cluster %q rejected topic %q: %s", c.cfg.Name, req.Name, firstNonEmpty(resp.ErrMessage, err.Error()))
	default:
		err = l.err(c, err)
	}
	l.recordAudit(ctx, entry, err)
	return err
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// DeleteTopic implements Service.
func (l *Local) DeleteTopic(ctx context.Context, cluster, topic string) error {
	if err := l.checkWritable(ctx, "delete topic "+topic); err != nil {
		return err
	}
	c, err := l.client(cluster)
	if err != nil {
		return err
	}
	ctx, cancel := l.reqCtx(ctx, c)
	defer cancel()
	entry := AuditEntry{Action: "topics.delete", Cluster: c.cfg.Name, Topic: topic}
	if err := l.auditIntent(ctx, &entry); err != nil {
		return err
	}
	resp, err := c.adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		err = notFoundf(ErrTopicNotFound, "topic %q not found on cluster %q; nothing deleted", topic, c.cfg.Name)
	case err != nil:
		err = l.err(c, err)
	}
	l.recordAudit(ctx, entry, err)
	return err
}
