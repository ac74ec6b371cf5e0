package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/pgcluster"
	"github.com/exekra/hub/pilot/programs"
	"github.com/jackc/pgx/v5"
)

// auditWriterRole is the role the audit service works as (its migration
// 0002 creates it and grants it to the owner). Roles belong to the cluster,
// not to a schema, so a dump of schema audit holds the grants to it but not
// the role: restore creates it first, as the migration would.
const auditWriterRole = "exekra_audit_writer"

// dbTarget is the database one service uses.
type dbTarget struct {
	service, schema string
	url             string // as the service gets it; holds the password
}

// databaseTargets resolves each service's connection string as the
// supervisor hands it out: the service's own, else database.url, else the
// private cluster's (privateURL, asked for only when needed).
func databaseTargets(cfg *config.Config, privateURL func() (string, error)) ([]dbTarget, error) {
	var out []dbTarget
	private := ""
	for _, s := range services {
		u := cfg.DatabaseURL(s.service)
		if u == "" {
			if private == "" {
				var err error
				if private, err = privateURL(); err != nil {
					return nil, err
				}
			}
			u = private
		}
		out = append(out, dbTarget{service: s.service, schema: s.schema, url: u})
	}
	return out, nil
}

// storedPrivateURL reaches a running pilot's private cluster.
func storedPrivateURL(cfg *config.Config) func() (string, error) {
	return func() (string, error) { return pgcluster.StoredURL(cfg.Path("var"), cfg.Database.PrivateListen) }
}

// pgxOnly are connection parameters of pgx (and pgxpool) that libpq refuses.
var pgxOnly = map[string]bool{
	"statement_cache_capacity": true, "description_cache_capacity": true, "default_query_exec_mode": true,
	"min_read_buffer_size": true, "prefer_simple_protocol": true,
}

func isPgxOnly(param string) bool { return pgxOnly[param] || strings.HasPrefix(param, "pool_") }

// forPgx drops pgxpool's parameters, which a single connection refuses.
func forPgx(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// forLibpq turns a service's connection string into one for pg_dump and
// pg_restore: the password moves to PGPASSWORD (so it is not on a command
// line) and pgx's own parameters are dropped. A key=value string is passed
// as it is.
func forLibpq(dsn string) (conn string, env []string) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn, nil
	}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		if isPgxOnly(k) {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env
}

// describe names a database without credentials: host:port/name.
func describe(dsn string) string {
	cfg, err := pgx.ParseConfig(forPgx(dsn))
	if err != nil {
		return "(unparsable connection string)"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// pgTool finds pg_dump or pg_restore: in pgBin when given, else beside the
// PostgreSQL server programs the supervisor would run (so the tools match
// the private cluster), else on PATH.
func pgTool(name, pgBin, pathList string) (string, error) {
	if pgBin != "" {
		if p, ok := programs.InDir(pgBin, name); ok {
			return p, nil
		}
		return "", fmt.Errorf("--pg-bin %s holds no %s", pgBin, name)
	}
	if progs, err := pgcluster.FindPrograms(pathList, pgcluster.DebianRoot); err == nil {
		if p, ok := programs.InDir(filepath.Dir(progs.Postgres), name); ok {
			return p, nil
		}
	}
	p, err := programs.Find(name, pathList)
	if err != nil {
		return "", fmt.Errorf("%s not found beside the PostgreSQL server programs or on PATH: "+
			"install the PostgreSQL client (apt-get install postgresql-client) or pass --pg-bin DIR", name)
	}
	return p, nil
}

// toolEnv is the environment of pg_dump and pg_restore: without the Hub's
// settings (they may hold secrets), with the connection's password.
func toolEnv(environ, extra []string) []string {
	env := make([]string, 0, len(environ)+len(extra)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, config.EnvPrefix) && !strings.HasPrefix(kv, "PGPASSWORD=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PGCONNECT_TIMEOUT=10")
	return append(env, extra...)
}

// runTool runs a PostgreSQL client program; its stderr explains a failure.
func runTool(ctx context.Context, program string, args, env []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(program), err, msg)
	}
	return stdout.Bytes(), nil
}

func toolVersion(ctx context.Context, program string, environ []string) (string, error) {
	out, err := runTool(ctx, program, []string{"--version"}, toolEnv(environ, nil))
	return strings.TrimSpace(string(out)), err
}

// schemasPresent lists which of names exist in the database of conn.
func schemasPresent(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, names []string) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname", names)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// migrations reads <schema>.schema_migrations.
func migrations(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, schema string) ([]Migration, error) {
	rows, err := q.Query(ctx, fmt.Sprintf("SELECT version, name FROM %s.schema_migrations ORDER BY version",
		pgx.Identifier{schema}.Sanitize()))
	if err != nil {
		return nil, fmt.Errorf("read %s.schema_migrations: %w", schema, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Migration, error) {
		var m Migration
		err := r.Scan(&m.Version, &m.Name)
		return m, err
	})
}

// ensureAuditWriter creates the audit service's role when the cluster lacks
// it and grants it to the connecting user (the owner), as migration 0002
// does; the restored grants name it.
func ensureAuditWriter(ctx context.Context, conn *pgx.Conn) error {
	var exists, member bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", auditWriterRole).Scan(&exists)
	if err != nil {
		return err
	}
	if !exists {
		_, err := conn.Exec(ctx, "CREATE ROLE "+auditWriterRole+" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
		if err != nil {
			return fmt.Errorf("create role %s (or have the DBA create it, see docs/operations.md, Backup and disaster recovery): %w", auditWriterRole, err)
		}
	}
	if err := conn.QueryRow(ctx, "SELECT pg_has_role(current_user, $1, 'MEMBER')", auditWriterRole).Scan(&member); err != nil {
		return err
	}
	if !member {
		if _, err := conn.Exec(ctx, "GRANT "+auditWriterRole+" TO CURRENT_USER"); err != nil {
			return fmt.Errorf("grant role %s to the audit service's user: %w", auditWriterRole, err)
		}
	}
	return nil
}

// sameMigrations reports whether two lists hold the same versions.
func sameMigrations(a, b []Migration) bool {
	va, vb := versionsOf(a), versionsOf(b)
	if len(va) != len(vb) {
		return false
	}
	for i := range va {
		if va[i] != vb[i] {
			return false
		}
	}
	return true
}

var errSchemasExist = errors.New("the target database already holds the Hub's schemas")
