package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// loadHostKey reads the host key at path, generating an Ed25519 key there
// (mode 0600, its directory 0700) the first time. A key that others may
// read is refused, as sshd refuses one.
func loadHostKey(path string) (gossh.Signer, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := generateHostKey(path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("cannot read the SSH host key %s: %w", path, err)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("the SSH host key %s is readable by others (mode %04o): run 'chmod 600 %s'", path, st.Mode().Perm(), path)
	}
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the SSH host key %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("the SSH host key %s is not an unencrypted OpenSSH private key (%v): remove it to have kdeck generate one, or set [ssh] host_key", path, err)
	}
	return signer, nil
}

// generateHostKey writes a new Ed25519 key in OpenSSH format to path. It
// never overwrites a file (O_EXCL).
func generateHostKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("cannot create the directory of the SSH host key %s: %w", path, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the SSH host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "kdeck host key")
	if err != nil {
		return fmt.Errorf("encoding the SSH host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the SSH host key %s: %w", path, err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("cannot write the SSH host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("cannot write the SSH host key %s: %w", path, err)
	}
	return nil
}
