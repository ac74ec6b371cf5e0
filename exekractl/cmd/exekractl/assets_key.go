package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/pilot/pgcluster"
	"github.com/jackc/pgx/v5/pgxpool"
)

const assetsUsage = `usage: exekractl assets rotate-key [--home DIR] [--wait 60s]
       exekractl assets retire-keys [--home DIR]`

// runAssets dispatches the asset key commands.
func runAssets(ctx context.Context, args, environ []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no assets command\n%s", assetsUsage)
	}
	switch args[0] {
	case "rotate-key":
		return runRotateKey(ctx, args[1:], environ, stdout)
	case "retire-keys":
		return runRetireKeys(ctx, args[1:], environ, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, assetsUsage)
		return nil
	}
	return fmt.Errorf("unknown assets command %q\n%s", args[0], assetsUsage)
}

// keyEnv is the key file and the runners database of an install.
type keyEnv struct {
	path string
	pool *pgxpool.Pool
}

func openKeyEnv(ctx context.Context, home string, environ []string) (*keyEnv, error) {
	cfg, err := config.Load(home, environ)
	if err != nil {
		return nil, err
	}
	path := cfg.Path(cfg.Runners.AssetKeyFile)
	// The runners service's database, else the running pilot's own.
	url := cfg.DatabaseURL("runners")
	if url == "" {
		if url, err = pgcluster.StoredURL(cfg.Path("var"), cfg.Database.PrivateListen); err != nil {
			return nil, fmt.Errorf("the runners database: no database.url (EXEKRA_DATABASE_URL) and no running pilot database: %w", err)
		}
	}
	pool, err := sqldb.Open(ctx, url, "runners", 2, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("the runners database: %w", err)
	}
	return &keyEnv{path: path, pool: pool}, nil
}

// countByKey counts asset values by the key their data key is wrapped under.
func (e *keyEnv) countByKey(ctx context.Context) (map[string]int, error) {
	rows, err := e.pool.Query(ctx, `SELECT kek_id, count(*) FROM asset_values GROUP BY kek_id`)
	if err != nil {
		return nil, fmt.Errorf("count asset values by key: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count asset values by key: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count asset values by key: %w", err)
	}
	return out, nil
}

func runRotateKey(ctx context.Context, args, environ []string, stdout io.Writer) error {
	set := flag.NewFlagSet("exekractl assets rotate-key", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	home := set.String("home", config.DefaultHome(), "install dir of the Hub")
	wait := set.Duration("wait", 60*time.Second, "how long to wait for the runners service to re-wrap every value")
	if help, err := parseFlags(set, args, assetsUsage, stdout); help || err != nil {
		return err
	}
	env, err := openKeyEnv(ctx, *home, environ)
	if err != nil {
		return err
	}
	defer env.pool.Close()
	counts, err := env.countByKey(ctx)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	ring, err := envelope.LoadKeyring(env.path)
	if errors.Is(err, fs.ErrNotExist) {
		if total > 0 {
			return fmt.Errorf("the asset key file %s is missing while %s asset values exist; restore it from your copy first (it is not in backups)",
				env.path, thousands(total))
		}
		ring, err = envelope.NewKeyring()
		if err != nil {
			return err
		}
		if err := ring.Save(env.path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created the asset key file %s with primary key %s; keep a copy of it apart from backups\n", env.path, ring.PrimaryID())
		return nil
	}
	if err != nil {
		return err
	}
	olds := ring.IDs()
	newID, err := ring.Rotate()
	if err != nil {
		return err
	}
	if err := ring.Save(env.path); err != nil {
		return err
	}
	start := time.Now()
	deadline := start.Add(*wait)
	for {
		counts, err := env.countByKey(ctx)
		if err != nil {
			return err
		}
		left := 0
		total = 0
		for id, n := range counts {
			total += n
			if id != newID {
				left += n
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("new primary key %s is in %s, but after %s %s of %s asset values are still under older keys: is the runners service running with this key file? It re-wraps them when it reads the file; retire the old keys (exekractl assets retire-keys) only once none is left",
				newID, env.path, wait.String(), thousands(left), thousands(total))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	fmt.Fprintf(stdout, "new primary key %s; %s values re-wrapped under it by the Hub in %.1f s; old keys %s can be retired with exekractl assets retire-keys\n",
		newID, thousands(total), time.Since(start).Seconds(), strings.Join(olds, ", "))
	fmt.Fprintf(stdout, "copy %s to your safe place now (backups do not carry it)\n", env.path)
	return nil
}

func runRetireKeys(ctx context.Context, args, environ []string, stdout io.Writer) error {
	set := flag.NewFlagSet("exekractl assets retire-keys", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	home := set.String("home", config.DefaultHome(), "install dir of the Hub")
	if help, err := parseFlags(set, args, assetsUsage, stdout); help || err != nil {
		return err
	}
	env, err := openKeyEnv(ctx, *home, environ)
	if err != nil {
		return err
	}
	defer env.pool.Close()
	ring, err := envelope.LoadKeyring(env.path)
	if err != nil {
		return err
	}
	counts, err := env.countByKey(ctx)
	if err != nil {
		return err
	}
	var retire, busy []string
	for _, id := range ring.IDs() {
		if id == ring.PrimaryID() {
			continue
		}
		if n := counts[id]; n > 0 {
			busy = append(busy, fmt.Sprintf("%s (%s values)", id, thousands(n)))
			continue
		}
		retire = append(retire, id)
	}
	if len(busy) > 0 {
		return fmt.Errorf("refusing: asset values still use older keys %s; the runners service re-wraps them under the primary key %s when it reads the key file (wait, or check it runs with %s), then run this again",
			strings.Join(busy, ", "), ring.PrimaryID(), env.path)
	}
	if len(retire) == 0 {
		fmt.Fprintf(stdout, "no key to retire: %s holds only the primary key %s\n", env.path, ring.PrimaryID())
		return nil
	}
	if err := ring.Retire(retire...); err != nil {
		return err
	}
	if err := ring.Save(env.path); err != nil {
		return err
	}
	slices.Sort(retire)
	fmt.Fprintf(stdout, "retired keys %s; %s now holds only the primary key %s: copy it to your safe place (backups do not carry it)\n",
		strings.Join(retire, ", "), env.path, ring.PrimaryID())
	return nil
}

// thousands formats n with commas: 1,234.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
