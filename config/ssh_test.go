package config

import (
	"strings"
	"testing"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"

func TestParseSSH(t *testing.T) {
	src := `
[ssh]
listen = ":2222"
idle_timeout = "10m"

[[ssh.users]]
name = "alice"
role = "operate"
public_keys = ["` + testKey + `"]

[[ssh.users]]
name = "bob"
role = "read"
public_keys_file = "/etc/kdeck/bob.keys"
`
	cfg, err := Parse("k.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SSH
	if s.Listen != ":2222" || s.IdleTimeout.Minutes() != 10 || len(s.Users) != 2 {
		t.Fatalf("parsed %+v", s)
	}
	if s.Users[0].Role != RoleOperate || s.Users[1].PublicKeysFile != "/etc/kdeck/bob.keys" {
		t.Fatalf("users %+v", s.Users)
	}
	cfg.Ops.DataDir = "/var/lib/kdeck"
	if got := cfg.HostKeyPath(); got != "/var/lib/kdeck/"+SSHHostKeyFile {
		t.Errorf("HostKeyPath = %q", got)
	}
}

// TestParseSSHErrors: every problem of [ssh] at once, each with its line and
// key.
func TestParseSSHErrors(t *testing.T) {
	src := `[ssh]
listen = "2222"
idle_tmeout = "5m"

[[ssh.users]]
name = "alice"
role = "admin"
public_keys = ["ssh-ed25519 notbase64"]

[[ssh.users]]
name = "alice"
role = "read"

[[ssh.users]]
role = "read"
public_keys = ["` + testKey + `"]
`
	_, err := Parse("bad.toml", []byte(src))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`bad.toml:2: ssh.listen: "2222" is not host:port`,
		`bad.toml:3: ssh.idle_tmeout: unknown key; did you mean "idle_timeout"?`,
		`bad.toml:7: ssh.users[0].role: "admin" is not a role`,
		`bad.toml:8: ssh.users[0].public_keys: key 1 is not in authorized_keys format`,
		`bad.toml:11: ssh.users[1].name: "alice" is also the name of ssh.users[0]`,
		`bad.toml:10: ssh.users[1].public_keys: missing`,
		`bad.toml:14: ssh.users[2].name: missing`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}
