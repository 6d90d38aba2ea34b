package connect_test

import (
	"testing"

	"github.com/kdeck/kdeck/connect"
	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestStatusRatesAdvanceWithoutPolling: a task's rates are measured by its
// own meters, not from one Status call to the next, so the first Status
// after records flowed unobserved already shows them (before jobstate.Meter
// the first call answered 0 and later calls averaged since the previous
// call).
func TestStatusRatesAdvanceWithoutPolling(t *testing.T) {
	c := kafkatest.New(t)
	c.CreateTopic(t, "rates", 1)
	table := map[string]any{"name": "rates", "class": "datagen", "topic": "rates", "rate": float64(500), "tasks_max": int64(1), "seed": int64(1)}
	j, stop := runJob(t, c, table, connect.NewFileOffsetStore(t.TempDir()))
	defer stop()
	readAll(t, c, "rates", 750) // about 1.5s of records, Status not called
	st := j.Status()
	if len(st.Tasks) != 1 {
		t.Fatalf("tasks: %+v", st.Tasks)
	}
	m := st.Tasks[0].Metrics
	if m.RecordsOut == 0 || m.RecordsInPerSec <= 0 || m.RecordsOutPerSec <= 0 || m.BytesOutPerSec <= 0 {
		t.Fatalf("first Status after 750 records: %+v; want the rates of the records that flowed", m)
	}
}
