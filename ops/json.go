package ops

import "encoding/json"

// partitionOffsetJSON is PartitionOffset's JSON form: committed, lag and
// time lag are null for a partition without a committed offset, as
// kafka-consumer-groups prints "-" for them.
type partitionOffsetJSON struct {
	Topic          string   `json:"topic"`
	Partition      int32    `json:"partition"`
	Committed      *int64   `json:"committed"`
	LogStartOffset int64    `json:"log_start_offset"`
	LogEndOffset   int64    `json:"log_end_offset"`
	Lag            *int64   `json:"lag"`
	TimeLag        *float64 `json:"time_lag_seconds"`
	MemberID       string   `json:"member_id,omitempty"`
	ClientID       string   `json:"client_id,omitempty"`
	Host           string   `json:"host,omitempty"`
	Status         string   `json:"status,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// MarshalJSON writes committed, lag and time_lag_seconds as null when the
// group has no committed offset on the partition (Committed < 0).
func (o PartitionOffset) MarshalJSON() ([]byte, error) {
	j := partitionOffsetJSON{Topic: o.Topic, Partition: o.Partition, LogStartOffset: o.LogStartOffset, LogEndOffset: o.LogEndOffset,
		MemberID: o.MemberID, ClientID: o.ClientID, Host: o.Host, Status: o.Status, Error: o.Error}
	if o.Committed >= 0 {
		c, l, t := o.Committed, o.Lag, o.TimeLag
		j.Committed, j.Lag, j.TimeLag = &c, &l, &t
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes; a null committed offset
// becomes -1.
func (o *PartitionOffset) UnmarshalJSON(b []byte) error {
	var j partitionOffsetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = PartitionOffset{Topic: j.Topic, Partition: j.Partition, Committed: -1, LogStartOffset: j.LogStartOffset, LogEndOffset: j.LogEndOffset,
		MemberID: j.MemberID, ClientID: j.ClientID, Host: j.Host, Status: j.Status, Error: j.Error}
	if j.Committed != nil {
		o.Committed = *j.Committed
	}
	if j.Lag != nil {
		o.Lag = *j.Lag
	}
	if j.TimeLag != nil {
		o.TimeLag = *j.TimeLag
	}
	return nil
}
