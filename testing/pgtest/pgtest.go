// Package pgtest starts a real PostgreSQL server for a test, as kafkatest
// starts Kafka clusters: Debian's binaries (/usr/lib/postgresql/*/bin, or
// KDECK_PG_BIN), initdb in a temporary directory with wal_level = logical,
// a free loopback port, password authentication for the superuser, and the
// server stopped when the test ends (t.Cleanup).
//
//	func TestSink(t *testing.T) {
//		pg := pgtest.Start(t)
//		dsn := pg.CreateDB(t, "shop") // postgres://kdeck:...@127.0.0.1:PORT/shop
//		pg.Exec(t, dsn, "CREATE TABLE customers (id int PRIMARY KEY, name text)")
//		// ... point the code under test at dsn
//	}
//
// PostgreSQL refuses to run as root: under root the server runs as the
// system user "postgres" (Debian's package creates it) or, when that is
// missing, a system user "kdeck-pg" created on first use. When no
// PostgreSQL is installed the test fails under CI=true (CI installs it, see
// .ci/run) and is skipped with the reason otherwise.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timeout bounds every harness operation (start, stop, statements).
const Timeout = 30 * time.Second

// User and Password are the superuser's credentials.
const (
	User     = "kdeck"
	Password = "kdeck-test-secret"
)

// Server is a PostgreSQL server started for one test. Its methods are safe
// for concurrent use.
type Server struct {
	// Port is the loopback TCP port the server listens on.
	Port int
	// Dir is the data directory.
	Dir string
	bin string
	uid int
	gid int
	log string

	mu  sync.Mutex
	cmd *exec.Cmd
	res chan error // the postmaster's exit
}

// BinDir returns the directory of PostgreSQL's binaries: KDECK_PG_BIN, or
// the newest /usr/lib/postgresql/*/bin with initdb in it, or "" when none.
func BinDir() string {
	if d := os.Getenv("KDECK_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Require fails (under CI=true) or skips the test when PostgreSQL is not
// installed, and returns the binary directory otherwise.
func Require(t testing.TB) string {
	t.Helper()
	bin := BinDir()
	if bin != "" {
		return bin
	}
	msg := "PostgreSQL is not installed: no initdb under /usr/lib/postgresql/*/bin or on PATH (install the postgresql package, as .ci/run does, or set KDECK_PG_BIN)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start runs initdb in a new temporary directory and starts the server on a
// free loopback port; it is stopped and its directory removed when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Require(t)
	uid, gid, err := serverUser()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// t.TempDir's parents are private to root; the server's user must be
	// able to reach its directory.
	dir, err := os.MkdirTemp("", "kdeck-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Dir: filepath.Join(dir, "data"), bin: bin, uid: uid, gid: gid, log: filepath.Join(dir, "postgres.log")}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, pw} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatalf("pgtest: handing %s to the server's user: %v", p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*Timeout)
	defer cancel()
	initdb := s.command(ctx, "initdb", "-D", s.Dir, "-U", User, "--pwfile", pw,
		"--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	conf := strings.Join([]string{
		"wal_level = logical",
		"max_wal_senders = 20",
		"max_replication_slots = 20",
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = ''",
		"fsync = off",
		"synchronous_commit = on",
		"full_page_writes = off",
		"shared_buffers = 32MB",
		"max_connections = 60",
		"log_min_messages = warning",
	}, "\n") + "\n"
	f, err := os.OpenFile(filepath.Join(s.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("pgtest: %v", err)
		}
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: stopping PostgreSQL: %v", err)
		}
	})
	return s
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid)}
	}
	cmd.Env = []string{"LC_ALL=C.UTF-8", "PATH=/usr/bin:/bin"}
	return cmd
}

// start starts the postmaster and waits until it accepts connections.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("PostgreSQL is already running")
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// Not CommandContext: the server outlives this call.
	cmd := s.command(context.Background(), "postgres", "-D", s.Dir, "-p", strconv.Itoa(s.Port))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting postgres: %w", err)
	}
	res := make(chan error, 1)
	go func() { res <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(Timeout)
	for {
		select {
		case err := <-res:
			out, _ := os.ReadFile(s.log)
			return fmt.Errorf("postgres exited at start (%v):\n%s", err, tail(string(out), 2000))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			s.cmd, s.res = cmd, res
			return nil
		}
		cancel()
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-res
			return fmt.Errorf("postgres did not accept connections within %v: %v", Timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Stop stops the server (fast shutdown: open transactions roll back,
// connections end), waiting for it to exit; stopping a stopped server does
// nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-s.res:
	case <-time.After(Timeout):
		_ = s.cmd.Process.Kill()
		err = fmt.Errorf("postgres did not stop within %v; killed", Timeout)
		<-s.res
	}
	s.cmd = nil
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 0 {
		err = nil
	}
	return err
}

// Restart stops the server and starts it again on the same port and data
// directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: restarting: %v", err)
	}
}

// DSN returns the superuser's connection string for database db.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, Password, s.Port, db)
}

// CreateDB creates database name and returns its DSN.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	s.Exec(t, s.DSN("postgres"), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return s.DSN(name)
}

// Exec runs statements (separated by semicolons, in one simple-protocol
// call) on dsn and fails the test on error.
func (s *Server) Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connecting: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Query runs a query on dsn and returns its rows as strings (NULL as
// "<null>"), failing the test on error.
func (s *Server) Query(t testing.TB, dsn, sql string, args ...any) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connecting: %v", err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("pgtest: %s: %v", sql, err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "<null>"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
	return out
}

// serverUser returns the uid and gid the server runs as: the current user
// when not root, else "postgres" or a "kdeck-pg" system user (created when
// missing).
func serverUser() (int, int, error) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("kdeck-pg")
	}
	if err != nil {
		out, cerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "kdeck-pg").CombinedOutput()
		if cerr != nil && !strings.Contains(string(out), "already exists") {
			return 0, 0, fmt.Errorf("PostgreSQL refuses to run as root and creating the user kdeck-pg failed: %v: %s", cerr, out)
		}
		if u, err = user.Lookup("kdeck-pg"); err != nil {
			return 0, 0, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
