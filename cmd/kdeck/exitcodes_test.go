package main

import (
	"strings"
	"testing"

	"github.com/kdeck/kdeck/testing/kafkatest"
)

// TestCLIExitCodes checks README's exit code table on the cases that
// disagreed: each row would have failed before (unknown command 1, a port
// out of range 1, -b "" silently 127.0.0.1:9092, a missing topic 1 for tail
// and delete but 2 for -p 999 and create, bad/name created, EOF for SASL).
func TestCLIExitCodes(t *testing.T) {
	dir := isolate(t)
	c := kafkatest.New(t)
	b := c.Addr()
	c.CreateTopic(t, "x", 1)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown command", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`, "kdeck --help"}},
		{"unknown subcommand", []string{"-b", b, "topics", "frobnicate"}, 2, []string{"frobnicate"}},
		{"port out of range", []string{"-b", "127.0.0.1:99999", "topics"}, 2, []string{"port 99999, out of range: use 1-65535"}},
		{"empty brokers", []string{"-b", "", "topics"}, 2, []string{"--brokers is empty"}},
		{"tail missing topic", []string{"-b", b, "tail", "nope"}, 2, []string{`topic "nope" not found`}},
		{"tail missing partition", []string{"-b", b, "tail", "x", "-p", "999"}, 2, []string{"no partition 999"}},
		{"create existing topic", []string{"-b", b, "topics", "create", "x"}, 2, []string{"already exists"}},
		{"delete missing topic", []string{"-b", b, "topics", "delete", "nope", "--execute"}, 2, []string{`topic "nope" not found`}},
		{"describe missing group", []string{"-b", b, "groups", "describe", "ghost"}, 2, []string{`group "ghost" not found`}},
		{"illegal topic name", []string{"-b", b, "topics", "create", "bad/name"}, 2, []string{`"bad/name" has the character '/'`, "a-z, A-Z, 0-9, '.', '_' and '-'"}},
		{"topic name too long", []string{"-b", b, "topics", "create", strings.Repeat("t", 250)}, 2, []string{"is 250 characters long"}},
		{"dot", []string{"-b", b, "topics", "create", ".."}, 2, []string{`".." is not legal`}},
		{"control bytes escaped", []string{"-b", b, "topics", "create", "red\x1b[31m"}, 2, []string{`red\x1b[31m`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := kdeck(t, "", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d: %+v", r.code, tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err, w) {
					t.Errorf("stderr lacks %q: %q", w, r.err)
				}
			}
			if strings.ContainsAny(r.err, "\x1b\t") || strings.Count(strings.TrimSpace(r.err), "\n") > 0 {
				t.Errorf("stderr is not one escaped line: %q", r.err)
			}
		})
	}
	if tds, err := c.Admin(t).ListTopics(t.Context()); err != nil || tds.Has("bad/name") {
		t.Errorf("bad/name was created (%v)", err)
	}

	// SASL against a listener without SASL: said, not "EOF" (Apache Kafka
	// 4.3 and kfake close the connection, 4.4 answers ILLEGAL_SASL_STATE).
	writeConfig(t, dir, c.TOML()+"[clusters.local.sasl]\nmechanism = \"PLAIN\"\nusername = \"u\"\npassword = \"p\"\n")
	r := kdeck(t, "", "topics")
	if r.code != 1 || !strings.Contains(r.err, "SASL handshake") || !strings.Contains(r.err, "does not use SASL") || !strings.Contains(r.err, "remove [clusters.local.sasl]") {
		t.Errorf("SASL on a plain listener: %+v", r)
	}
}
