package streams

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// prepareTopics checks the inputs and creates the internal topics.
func (j *Job) prepareTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(j.clientOpts...)
	if err != nil {
		return fmt.Errorf("stream job %s: client: %w", j.top.appID, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rctx, cancel := context.WithTimeout(ctx, netTimeout)
	defer cancel()
	details, err := adm.ListTopics(rctx, j.top.inputs...)
	if err != nil {
		return fmt.Errorf("stream job %s: list input topics: %w", j.top.appID, err)
	}
	var parts int32 = -1
	var errs []error
	for _, in := range j.top.inputs {
		d, ok := details[in]
		if !ok || d.Err != nil {
			errs = append(errs, fmt.Errorf("input topic %q does not exist: create it or fix the job's inputs", in))
			continue
		}
		n := int32(len(d.Partitions))
		if parts >= 0 && n != parts {
			errs = append(errs, fmt.Errorf("input topic %q has %d partitions where the other inputs have %d: inputs must be co-partitioned", in, n, parts))
		}
		parts = n
	}
	if len(j.top.sinks) > 0 || j.cfg.dlqTopic != "" {
		outs := append([]string(nil), j.top.sinks...)
		if j.cfg.dlqTopic != "" {
			outs = append(outs, j.cfg.dlqTopic)
		}
		sd, err := adm.ListTopics(rctx, outs...)
		if err != nil {
			return fmt.Errorf("stream job %s: list output topics: %w", j.top.appID, err)
		}
		for _, out := range j.top.sinks {
			if d, ok := sd[out]; !ok || d.Err != nil {
				errs = append(errs, fmt.Errorf("output topic %q does not exist: create it or fix the job's output", out))
			}
		}
		if d, ok := sd[j.cfg.dlqTopic]; j.cfg.dlqTopic != "" && (!ok || d.Err != nil) {
			errs = append(errs, fmt.Errorf("dead-letter topic %q does not exist: create it or fix the job's dlq_topic", j.cfg.dlqTopic))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("stream job %s: %w", j.top.appID, errors.Join(errs...))
	}
	j.parts = parts
	create := func(topic string, cfgs map[string]*string) error {
		resp, err := adm.CreateTopic(rctx, parts, -1, cfgs, topic)
		if err == nil {
			err = resp.Err
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			d, derr := adm.ListTopics(rctx, topic)
			if derr != nil {
				return derr
			}
			if got := int32(len(d[topic].Partitions)); got != parts {
				return fmt.Errorf("internal topic %q has %d partitions, the inputs %d: reset the job (kdeck streams reset) to recreate it", topic, got, parts)
			}
			return nil
		}
		return err
	}
	compact := "compact"
	for _, s := range j.top.stores {
		if err := create(s.changelog, map[string]*string{"cleanup.policy": &compact}); err != nil {
			return fmt.Errorf("stream job %s: create changelog %s: %w", j.top.appID, s.changelog, err)
		}
	}
	for _, r := range j.top.repartitions {
		if err := create(r, nil); err != nil {
			return fmt.Errorf("stream job %s: create repartition topic %s: %w", j.top.appID, r, err)
		}
	}
	return nil
}
