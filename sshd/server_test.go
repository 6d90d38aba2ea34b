package sshd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/kdeck/kdeck/config"
	"github.com/kdeck/kdeck/ops"
)

const (
	aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
	bobKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGf3i2VrJ3BvhkG8p5y6vZZ0kqrTDCoIEnVHZ2mQ0VXR bob@laptop"
)

// TestNewRefusesBadConfiguration: New says what is wrong before it starts
// anything.
func TestNewRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	var svc ops.Service = ops.ForActor(nil, ops.Actor{}) // never called
	for _, tt := range []struct {
		name string
		cfg  config.SSH
		want string
	}{
		{"no users", config.SSH{}, "no SSH users are configured"},
		{"missing keys file", config.SSH{Users: []config.SSHUser{{Name: "bob", Role: "read", PublicKeysFile: filepath.Join(dir, "nope")}}}, "cannot read public_keys_file"},
		{"bad inline key", config.SSH{Users: []config.SSHUser{{Name: "eve", Role: "read", PublicKeys: []string{"ssh-ed25519 !!"}}}}, "ssh user eve: public key 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(svc, tt.cfg, filepath.Join(dir, "key"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAuthorize: inline keys and keys files name their user; a key added to
// a keys file is accepted without a restart; other keys are refused.
func TestAuthorize(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "bob.keys")
	if err := os.WriteFile(keys, []byte("# bob\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(ops.ForActor(nil, ops.Actor{}), config.SSH{Users: []config.SSHUser{
		{Name: "alice", Role: "operate", PublicKeys: []string{aliceKey}},
		{Name: "bob", Role: "read", PublicKeysFile: keys},
	}}, filepath.Join(dir, "host_key"))
	if err != nil {
		t.Fatal(err)
	}
	parse := func(line string) gossh.PublicKey {
		k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if u, ok := s.authorize(parse(aliceKey)); !ok || u.Name != "alice" {
		t.Fatalf("alice's inline key: %v %v", u.Name, ok)
	}
	if _, ok := s.authorize(parse(bobKey)); ok {
		t.Fatal("bob's key accepted before it was in his keys file")
	}
	if err := os.WriteFile(keys, []byte("# bob\n"+bobKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, ok := s.authorize(parse(bobKey)); !ok || u.Name != "bob" || u.Role != "read" {
		t.Fatalf("bob's key added to his file: %v %v", u.Name, ok)
	}
}
