package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	gossh "golang.org/x/crypto/ssh"
)

// SSH roles.
const (
	// RoleRead sees everything and changes nothing.
	RoleRead = "read"
	// RoleOperate may act: resets, replays, job verbs, all audited.
	RoleOperate = "operate"
)

// DefaultSSHListen is where 'kdeck serve --ssh' listens when neither the
// flag nor [ssh] listen says.
const DefaultSSHListen = "127.0.0.1:2222"

// SSHHostKeyFile is the host key's file name in the data dir.
const SSHHostKeyFile = "ssh_host_ed25519_key"

// SSH configures 'kdeck serve --ssh': the console served over SSH.
type SSH struct {
	// Listen is host:port; default 127.0.0.1:2222 (DefaultSSHListen).
	Listen string `toml:"listen"`
	// HostKey is the host key's path; default DATA_DIR/ssh_host_ed25519_key,
	// generated once.
	HostKey string `toml:"host_key"`
	// IdleTimeout closes a session without input for this long; default
	// 30m.
	IdleTimeout Duration `toml:"idle_timeout"`
	// Users are the people who may log in, by key.
	Users []SSHUser `toml:"users"`
}

// SSHUser is one [[ssh.users]] table: a person, their role and keys.
type SSHUser struct {
	// Name is written to the audit log with the key's fingerprint.
	Name string `toml:"name"`
	// Role is RoleRead or RoleOperate.
	Role string `toml:"role"`
	// PublicKeys are keys in authorized_keys format ("ssh-ed25519 AAAA...
	// comment").
	PublicKeys []string `toml:"public_keys"`
	// PublicKeysFile is a file in authorized_keys format, read at every
	// login, so keys added to it need no restart.
	PublicKeysFile string `toml:"public_keys_file"`
}

// KeysFile returns PublicKeysFile with a leading ~/ expanded.
func (u SSHUser) KeysFile() string { return expandHome(u.PublicKeysFile) }

// HostKeyPath returns [ssh] host_key, or the default in the data dir.
func (c *Config) HostKeyPath() string {
	if c.SSH.HostKey != "" {
		return expandHome(c.SSH.HostKey)
	}
	return filepath.Join(c.DataDir(), SSHHostKeyFile)
}

// validateSSH checks [ssh] and each [[ssh.users]] table.
func validateSSH(path string, s SSH, src *source) []*Error {
	var errs []*Error
	at := func(key string, msg string) {
		errs = append(errs, &Error{Path: path, Line: src.line(toml.Key{"ssh", key}), Key: "ssh." + key, Msg: msg})
	}
	if s.Listen != "" {
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			at("listen", fmt.Sprintf("%q is not host:port (for example 127.0.0.1:2222 or :2222)", s.Listen))
		}
	}
	seen := map[string]int{}
	for i, u := range s.Users {
		userAt := func(key, msg string) {
			errs = append(errs, &Error{Path: path, Line: src.userLine(i, key), Key: fmt.Sprintf("ssh.users[%d].%s", i, key), Msg: msg})
		}
		switch {
		case strings.TrimSpace(u.Name) == "":
			userAt("name", "missing: name the person this key belongs to (it is written to the audit log)")
		case strings.ContainsAny(u.Name, " \t\n()"):
			userAt("name", fmt.Sprintf("%q has spaces or parentheses: use a plain login name such as alice", u.Name))
		default:
			if j, dup := seen[u.Name]; dup {
				userAt("name", fmt.Sprintf("%q is also the name of ssh.users[%d]: give each person one table with all their keys", u.Name, j))
			}
			seen[u.Name] = i
		}
		if u.Role != RoleRead && u.Role != RoleOperate {
			userAt("role", fmt.Sprintf("%q is not a role: use %q (sees everything, changes nothing) or %q (may act)", u.Role, RoleRead, RoleOperate))
		}
		if len(u.PublicKeys) == 0 && u.PublicKeysFile == "" {
			userAt("public_keys", "missing: give public_keys (authorized_keys lines) or public_keys_file")
		}
		for k, line := range u.PublicKeys {
			if _, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line)); err != nil {
				userAt("public_keys", fmt.Sprintf("key %d is not in authorized_keys format (type, base64 key, optional comment, as in ~/.ssh/id_ed25519.pub): %v", k+1, err))
			}
		}
	}
	return errs
}

// userLine returns the line that sets key in the i-th [[ssh.users]] table,
// or the table's header line.
func (s *source) userLine(i int, key string) int {
	idx := fmt.Sprint(i)
	header := 0
	for _, lk := range s.lines {
		if len(lk.key) == 3 && lk.key[0] == "ssh" && lk.key[1] == "users" && lk.key[2] == idx {
			header = lk.line
		}
		if len(lk.key) == 4 && lk.key[0] == "ssh" && lk.key[1] == "users" && lk.key[2] == idx && lk.key[3] == key {
			return lk.line
		}
	}
	return header
}
