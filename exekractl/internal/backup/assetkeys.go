package backup

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/jackc/pgx/v5/pgconn"
)

// AssetKeyUse is how many asset values of the archive are sealed under one
// key-encryption key.
type AssetKeyUse struct {
	ID     string `json:"id"`
	Values int    `json:"values"`
}

// assetKeyFile is the install's asset key file (never put in an archive).
func assetKeyFile(cfg *config.Config) string {
	p := cfg.Path(cfg.Runners.AssetKeyFile)
	if p == "" {
		return ""
	}
	return filepath.Clean(p)
}

// assetKeyUses counts the runners schema's asset values by key. A database
// without asset_values (an older Hub) has none.
func assetKeyUses(ctx context.Context, targets []dbTarget) ([]AssetKeyUse, error) {
	url := ""
	for _, t := range targets {
		if t.service == "runners" {
			url = t.url
		}
	}
	if url == "" {
		return nil, nil
	}
	pool, err := sqldb.Open(ctx, url, "runners", 1, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("the runners database: %w", err)
	}
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT kek_id, count(*) FROM asset_values GROUP BY kek_id ORDER BY kek_id`)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
			return nil, nil
		}
		return nil, fmt.Errorf("count asset values by key: %w", err)
	}
	defer rows.Close()
	var out []AssetKeyUse
	for rows.Next() {
		var u AssetKeyUse
		if err := rows.Scan(&u.ID, &u.Values); err != nil {
			return nil, fmt.Errorf("count asset values by key: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// mergeKeyUses joins the counts taken before and after the dumps: the
// archive may need any key either saw (a rotation during the backup).
func mergeKeyUses(a, b []AssetKeyUse) []AssetKeyUse {
	by := map[string]int{}
	for _, u := range append(slices.Clone(a), b...) {
		by[u.ID] = max(by[u.ID], u.Values)
	}
	out := make([]AssetKeyUse, 0, len(by))
	for id, n := range by {
		out = append(out, AssetKeyUse{ID: id, Values: n})
	}
	slices.SortFunc(out, func(x, y AssetKeyUse) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// checkAssetKeys finds the key file a restore needs: given (flag) or the
// one at the target's configured path, holding every key the manifest
// lists. It returns nil when the archive has no asset value.
func checkAssetKeys(m *Manifest, given, target string) (*envelope.Keyring, error) {
	if len(m.AssetKeys) == 0 {
		return nil, nil
	}
	total, ids := 0, make([]string, 0, len(m.AssetKeys))
	for _, u := range m.AssetKeys {
		total += u.Values
		ids = append(ids, u.ID)
	}
	refuse := func(why string) error {
		return fmt.Errorf("this backup holds %d asset values sealed under key %s; give the key file from the original install with --asset-key-file (it is not in backups)%s",
			total, strings.Join(ids, ", "), why)
	}
	path := given
	if path == "" {
		path = target
	}
	ring, err := envelope.LoadKeyring(path)
	if err != nil {
		if given == "" {
			return nil, refuse("")
		}
		return nil, refuse(": " + err.Error())
	}
	var lacking []string
	for _, id := range ids {
		if !ring.Has(id) {
			lacking = append(lacking, id)
		}
	}
	if len(lacking) > 0 {
		return nil, refuse(fmt.Sprintf(": %s lacks key %s", path, strings.Join(lacking, ", ")))
	}
	return ring, nil
}
