// Package assetkey holds the runners service's asset keyring: the
// key-encryption keys of runners.asset_key_file (libs/envelope) that seal
// asset values.
//
// At start Load reads the key file. When the file is missing and the
// database holds no sealed value and no key id, it creates the file (0600);
// when it is missing while values or key ids exist, assets are unavailable
// until the file is put back (creating a new key would leave every value
// unreadable). Every key id seen is recorded in runners.asset_keys (ids
// only, never key bytes).
//
// Run then looks at the file every runners.AssetKeyReloadInterval and
// reads it again when it changed. When a new primary key comes into use,
// one instance at a time (PostgreSQL advisory lock LockName) re-wraps the
// data key of every value not under the primary and audits
// asset.key.rotate once per primary key (asset_keys.primary_since is the
// record that it happened).
//
// The service wires it as:
//
//	keys, err := assetkey.Load(ctx, pool, cfg.Runners.AssetKeyFile (made absolute), outbox.Writer{Service: "runners"}, log)
//	keys.RegisterMetrics(reg)
//	go keys.Run(ctx)
//	// asset.Service{Keys: keys, ...}
package assetkey

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/outbox"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// LockName names the PostgreSQL advisory lock (pg_advisory_lock(hashtext(
// LockName))) under which the key file is created and values are re-wrapped,
// so that one runners instance at a time does either.
const LockName = "exekra.runners.asset_keys"

// RewrapBatch is how many values one re-wrap transaction moves.
const RewrapBatch = 200

// SweepInterval is how often Run checks, even when the file did not change,
// whether some value is still under an older key (an instance that crashed
// mid-way, or one that wrote with an older file).
const SweepInterval = time.Minute

// TargetType is the audit target type of asset.key.rotate.
const TargetType = "asset_key"

// Holder holds the current keyring of one runners instance. It is safe for
// concurrent use.
type Holder struct {
	pool   *pgxpool.Pool
	path   string
	events outbox.Events
	log    *slog.Logger

	mu          sync.RWMutex
	ring        *envelope.Keyring
	unavailable error       // set while the file is missing and values exist
	seen        os.FileInfo // the file as last read; nil when missing
	staleFor    string      // the primary whose staleness was last logged
}

// Load reads the key file at path (absolute, or relative to the working
// directory) and returns the Holder of this instance; see the package doc.
// pool's search_path is the runners schema; events receive asset.key.rotate.
// A file that exists but cannot be read or parsed is an error: the service
// should not start with a key file it cannot use.
func Load(ctx context.Context, pool *pgxpool.Pool, path string, events outbox.Events, log *slog.Logger) (*Holder, error) {
	if log == nil {
		log = slog.Default()
	}
	h := &Holder{pool: pool, path: path, events: events, log: log}
	ring, info, err := h.read()
	switch {
	case err == nil:
		h.set(ring, info)
		if err := h.register(ctx, ring); err != nil {
			return nil, err
		}
		h.checkPermissions()
		h.checkCoverage(ctx, ring)
		return h, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	created, err := h.create(ctx)
	if err != nil {
		return nil, err
	}
	if !created {
		h.setUnavailable()
	}
	return h, nil
}

// Path is the key file's path.
func (h *Holder) Path() string { return h.path }

// Keyring returns the current keyring, or an errs.Unavailable error while
// the key file is missing although values exist.
func (h *Holder) Keyring() (*envelope.Keyring, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.ring == nil {
		if h.unavailable != nil {
			return nil, h.unavailable
		}
		return nil, errs.E(errs.Unavailable, "the asset keys are not loaded yet")
	}
	return h.ring, nil
}

func (h *Holder) missingMessage() string {
	return fmt.Sprintf("the asset key file %s is missing on this runners instance; restore it from your copy (it is not in backups)", h.path)
}

func (h *Holder) setUnavailable() {
	msg := h.missingMessage()
	h.mu.Lock()
	h.unavailable = errs.E(errs.Unavailable, msg)
	h.mu.Unlock()
	h.log.Error(msg + "; asset values cannot be read or written until it is back")
}

func (h *Holder) set(ring *envelope.Keyring, info os.FileInfo) {
	h.mu.Lock()
	h.ring, h.seen, h.unavailable = ring, info, nil
	h.mu.Unlock()
}

// read loads the file with its FileInfo (taken before the read, so a change
// during the read is seen again at the next look).
func (h *Holder) read() (*envelope.Keyring, os.FileInfo, error) {
	info, err := os.Stat(h.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("the asset key file %s: %w", h.path, err)
	}
	ring, err := envelope.LoadKeyring(h.path)
	if err != nil {
		return nil, nil, err
	}
	return ring, info, nil
}

// create makes the key file when neither it nor any sealed value or key id
// exists, under the advisory lock so instances starting together agree.
// It reports false when values or key ids exist (the file must come back).
func (h *Holder) create(ctx context.Context) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", LockName); err != nil {
			return err
		}
		// Another instance on this host may have made it meanwhile.
		ring, info, err := h.read()
		if err == nil {
			h.set(ring, info)
			created = true
			return registerIDs(ctx, tx, ring, false)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		var used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM asset_values) OR EXISTS (SELECT 1 FROM asset_keys)`).Scan(&used); err != nil {
			return err
		}
		if used {
			return nil
		}
		ring, err = envelope.NewKeyring()
		if err != nil {
			return err
		}
		if err := ring.Save(h.path); err != nil {
			return err
		}
		// The first key is primary from the start: no rotation to audit.
		if err := registerIDs(ctx, tx, ring, true); err != nil {
			return err
		}
		info, err = os.Stat(h.path)
		if err != nil {
			return err
		}
		h.set(ring, info)
		created = true
		h.log.Info("created the asset key file "+h.path+"; keep a copy of it apart from backups, which do not carry it",
			"key_id", ring.PrimaryID())
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("asset key file %s: %w", h.path, err)
	}
	return created, nil
}

// register records every key id of ring in asset_keys.
func (h *Holder) register(ctx context.Context, ring *envelope.Keyring) error {
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error { return registerIDs(ctx, tx, ring, false) })
	if err != nil {
		return fmt.Errorf("record the asset key ids: %w", err)
	}
	return nil
}

func registerIDs(ctx context.Context, tx pgx.Tx, ring *envelope.Keyring, primaryNow bool) error {
	for _, id := range ring.IDs() {
		var since *time.Time
		if primaryNow && id == ring.PrimaryID() {
			now := time.Now().UTC()
			since = &now
		}
		if _, err := tx.Exec(ctx, `INSERT INTO asset_keys (id, first_seen_at, primary_since) VALUES ($1, now(), $2)
			ON CONFLICT (id) DO NOTHING`, id, since); err != nil {
			return fmt.Errorf("record asset key id %s: %w", id, err)
		}
	}
	return nil
}

// checkPermissions warns when the key file is readable by others.
func (h *Holder) checkPermissions() {
	if open, err := envelope.OpenToOthers(h.path); err == nil && open {
		h.log.Warn("the asset key file " + h.path + " can be read by other users; make it mode 0600 (chmod 600)")
	}
}

// checkCoverage logs values sealed under keys the file lacks.
func (h *Holder) checkCoverage(ctx context.Context, ring *envelope.Keyring) {
	rows, err := h.pool.Query(ctx, `SELECT kek_id, count(*) FROM asset_values GROUP BY kek_id`)
	if err != nil {
		h.log.Warn("count asset values by key", "err", err)
		return
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
		id string
		n  int64
	}, error) {
		var c struct {
			id string
			n  int64
		}
		err := r.Scan(&c.id, &c.n)
		return c, err
	})
	if err != nil {
		h.log.Warn("count asset values by key", "err", err)
		return
	}
	for _, c := range counts {
		if !ring.Has(c.id) {
			h.log.Error(fmt.Sprintf("the asset key file %s lacks key %s, which %d asset values use: they cannot be read; put back a key file that holds it",
				h.path, c.id, c.n))
		}
	}
}

// RegisterMetrics registers exekra_runners_asset_keys{state="primary|other"}
// (how many keys the loaded file holds) with reg.
func (h *Holder) RegisterMetrics(reg prometheus.Registerer) error {
	count := func(primary bool) func() float64 {
		return func() float64 {
			h.mu.RLock()
			ring := h.ring
			h.mu.RUnlock()
			if ring == nil {
				return 0
			}
			if primary {
				return 1
			}
			return float64(len(ring.IDs()) - 1)
		}
	}
	const help = "Key-encryption keys of asset values in the loaded key file (primary: 1, or 0 while it is missing)."
	for _, state := range []string{"primary", "other"} {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exekra_runners_asset_keys", Help: help,
			ConstLabels: prometheus.Labels{"state": state}}, count(state == "primary"))
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("register exekra_runners_asset_keys: %w", err)
		}
	}
	return nil
}

// Run looks at the key file every runners.AssetKeyReloadInterval until ctx
// ends, reads it again when it changed, and re-wraps values when a new
// primary came into use (and every SweepInterval when some value is still
// under an older key).
func (h *Holder) Run(ctx context.Context) {
	h.settle(ctx)
	tick := time.NewTicker(runners.AssetKeyReloadInterval)
	defer tick.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		changed := h.reload(ctx)
		if changed || time.Since(lastSweep) >= SweepInterval {
			h.settle(ctx)
			lastSweep = time.Now()
		}
	}
}

// reload reads the file when it changed since last read, and reports
// whether the keyring changed.
func (h *Holder) reload(ctx context.Context) bool {
	info, err := os.Stat(h.path)
	h.mu.RLock()
	seen, had := h.seen, h.ring != nil
	h.mu.RUnlock()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && seen != nil {
			h.mu.Lock()
			h.seen = nil
			h.mu.Unlock()
			h.log.Error("the asset key file " + h.path + " was removed; this instance keeps the keys it had read, but restore the file from your copy before a restart")
		}
		return false
	}
	if seen != nil && os.SameFile(seen, info) && seen.ModTime().Equal(info.ModTime()) && seen.Size() == info.Size() {
		return false
	}
	ring, info, err := h.read()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			// Remember the bad file so the error is logged once per change.
			if st, serr := os.Stat(h.path); serr == nil {
				h.mu.Lock()
				h.seen = st
				h.mu.Unlock()
			}
			h.log.Error("cannot use the changed asset key file; keeping the keys read before", "err", err)
		}
		return false
	}
	var old string
	if had {
		r, _ := h.Keyring()
		old = r.PrimaryID()
	}
	if err := h.register(ctx, ring); err != nil {
		h.log.Error("cannot record the asset key ids; will read the file again", "err", err)
		return false
	}
	h.set(ring, info)
	h.checkPermissions()
	if !had {
		h.log.Info("the asset key file "+h.path+" is back; asset values are available again", "primary", ring.PrimaryID())
		h.checkCoverage(ctx, ring)
	} else if old != ring.PrimaryID() {
		h.log.Info("the asset key file "+h.path+" has a new primary key", "primary", ring.PrimaryID(), "previous", old)
	} else {
		h.log.Info("read the changed asset key file "+h.path, "primary", ring.PrimaryID(), "keys", len(ring.IDs()))
	}
	return true
}
