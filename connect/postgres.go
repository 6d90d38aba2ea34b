package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Keys shared by postgres-cdc and postgres-sink.
const (
	fieldDSN     = "dsn"
	fieldDSNEnv  = "dsn_env"
	fieldDSNFile = "dsn_file"
)

// pgTimeout bounds every single PostgreSQL call that has no deadline of its
// own (connect, catalog queries, one batch's transaction).
const pgTimeout = 30 * time.Second

// dsnFields are the connection keys of both PostgreSQL connectors.
func dsnFields() []*Field {
	return []*Field{
		NewField(fieldDSN, TypeString).Optional().Description("PostgreSQL connection string, such as postgres://kdeck@127.0.0.1:5432/shop; set exactly one of dsn, dsn_env and dsn_file (prefer those two: a password in dsn sits in the configuration file)."),
		NewField(fieldDSNEnv, TypeString).Optional().Description("Environment variable holding the connection string."),
		NewField(fieldDSNFile, TypeString).Optional().Description("File holding the connection string (trailing newline ignored)."),
	}
}

// checkDSNFields reports a configuration that does not set exactly one of
// dsn, dsn_env and dsn_file, or whose string does not parse.
func checkDSNFields(p *Parsed) []FieldError {
	n := 0
	for _, f := range []string{fieldDSN, fieldDSNEnv, fieldDSNFile} {
		if p.String(f) != "" {
			n++
		}
	}
	if n != 1 {
		return []FieldError{{Path: fieldDSN, Msg: "set exactly one of dsn, dsn_env and dsn_file"}}
	}
	if d := p.String(fieldDSN); d != "" {
		if _, err := pgconn.ParseConfig(d); err != nil {
			return []FieldError{{Path: fieldDSN, Msg: "is not a PostgreSQL connection string (postgres://user@host:port/db): " + redactDSNError(err)}}
		}
	}
	return nil
}

// redactDSNError returns the cause of a parse error without the
// connection string (which may hold the password).
func redactDSNError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "cannot parse"
}

// resolveDSN reads the connection string from dsn, dsn_env or dsn_file.
func resolveDSN(c Conf) (string, error) {
	p := ParsedConf(c)
	switch {
	case p.String(fieldDSN) != "":
		return p.String(fieldDSN), nil
	case p.String(fieldDSNEnv) != "":
		v := os.Getenv(p.String(fieldDSNEnv))
		if v == "" {
			return "", fmt.Errorf("environment variable %s (dsn_env) is not set: export the PostgreSQL connection string in it", p.String(fieldDSNEnv))
		}
		return v, nil
	default:
		b, err := os.ReadFile(p.String(fieldDSNFile))
		if err != nil {
			return "", fmt.Errorf("cannot read dsn_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
}

// pgConnect opens one connection; extra runtime parameters (such as
// replication=database) go in params.
func pgConnect(ctx context.Context, dsn string, params map[string]string) (*pgconn.PgConn, *pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("the PostgreSQL connection string does not parse: %s", redactDSNError(err))
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	c, err := pgconn.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, nil, pgConnError(cfg, err)
	}
	return c, cfg, nil
}

// pgConnectSQL opens a pgx connection for ordinary statements.
func pgConnectSQL(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL connection string does not parse: %s", redactDSNError(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	c, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, pgConnError(&cfg.Config, err)
	}
	return c, nil
}

// pgConnError says which server refused and why, without the password; a
// refused or dropped connection is retriable, a rejected login is not.
func pgConnError(cfg *pgconn.Config, err error) error {
	where := fmt.Sprintf("PostgreSQL at %s:%d (database %s, user %s)", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fmt.Errorf("%s refused the login: %s: check the user and password in the connection string", where, pe.Message)
		case "3D000":
			return fmt.Errorf("%s: %s: create the database or fix the connection string", where, pe.Message)
		}
		return pgErr(fmt.Errorf("connecting to %s: %w", where, err))
	}
	return Retriable(fmt.Errorf("cannot connect to %s: %w", where, err))
}

// pgErr marks err retriable when PostgreSQL or the network says a retry may
// succeed: a lost connection, a server shutting down, a serialization
// failure or deadlock.
func pgErr(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "40"), strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "53"):
			return Retriable(err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") {
		return Retriable(err)
	}
	return err
}

// quoteTable quotes a table name, schema-qualified when it has a dot.
func quoteTable(name string) string {
	return pgx.Identifier(strings.SplitN(name, ".", 2)).Sanitize()
}

// quoteIdent quotes one identifier.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
