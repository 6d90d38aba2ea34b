package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWorkerTable(t *testing.T) {
	cfg, err := Parse("k.toml", []byte("[worker]\nid = \"box-1\"\ngroup = \"etl\"\nsession_timeout = \"6s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Worker.ID != "box-1" || cfg.Worker.Group != "etl" || cfg.Worker.SessionTimeout.Duration != 6*time.Second {
		t.Fatalf("worker = %+v", cfg.Worker)
	}
	shown, err := cfg.Redacted()
	if err != nil || !strings.Contains(shown, `group = "etl"`) || !strings.Contains(shown, `session_timeout = "6s"`) {
		t.Fatalf("config show lacks [worker]: %v\n%s", err, shown)
	}
	if d := (&Config{}).Worker.SessionTimeout.Or(DefaultWorkerSessionTimeout); d != 10*time.Second {
		t.Fatalf("default session timeout %v, want 10s", d)
	}
}

func TestWorkerTableErrors(t *testing.T) {
	src := "[worker]\ngroup = \"etl group\"\nid = \"a/b\"\nsession_timeout = \"200ms\"\nsesion_timeout = \"5s\"\n"
	_, err := Parse("k.toml", []byte(src))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`k.toml:2: worker.group: "etl group" is not a valid name`,
		`k.toml:3: worker.id: "a/b" is not a valid name`,
		`k.toml:4: worker.session_timeout: 200ms is out of range`,
		`k.toml:5: worker.sesion_timeout: unknown key; did you mean "session_timeout"?`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

// TestWorkerTopics: [worker] configs_topic and status_topic name the
// group's topics; a bad name, or one topic for both, is an error naming
// the key.
func TestWorkerTopics(t *testing.T) {
	cfg, err := Parse("k.toml", []byte("[worker]\ngroup = \"etl\"\nconfigs_topic = \"etl-configs\"\nstatus_topic = \"etl-status\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Worker.ConfigsTopic != "etl-configs" || cfg.Worker.StatusTopic != "etl-status" {
		t.Fatalf("worker = %+v", cfg.Worker)
	}
	_, err = Parse("k.toml", []byte("[worker]\ngroup = \"etl\"\nconfigs_topic = \"a b\"\nstatus_topic = \"x\"\n"))
	if err == nil || !strings.Contains(err.Error(), `k.toml:3: worker.configs_topic: "a b" is not a valid topic name`) {
		t.Fatalf("a bad configs_topic: %v", err)
	}
	_, err = Parse("k.toml", []byte("[worker]\ngroup = \"etl\"\nconfigs_topic = \"t\"\nstatus_topic = \"t\"\n"))
	if err == nil || !strings.Contains(err.Error(), `worker.status_topic: "t" is also the configs_topic`) {
		t.Fatalf("one topic for both: %v", err)
	}
}
