package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/exekra/hub/pilot/natsembed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsURL is the NATS the install's services use: nats.url, or the
// supervisor's embedded server on nats.listen.
func natsURL(cfg *config.Config) (string, error) {
	if cfg.NATS.URL != "" {
		return cfg.NATS.URL, nil
	}
	addr, err := listenaddr.DialAddr(cfg.NATS.Listen)
	if err != nil {
		return "", fmt.Errorf("nats.listen: %w", err)
	}
	return "nats://" + addr, nil
}

// connectNATS connects as exekractl's principal (busauth.Admin), whose key
// is in credsDir, which may only copy the package store; caFile is the CA of
// tls:// servers ("": the system's roots).
func connectNATS(url, credsDir, caFile, name string) (*nats.Conn, jetstream.JetStream, error) {
	auth, _, err := busauth.ClientOptions(busauth.Admin, credsDir)
	if err != nil {
		return nil, nil, err
	}
	opts := append(auth, nats.Name(name), nats.Timeout(5*time.Second), nats.MaxReconnects(-1))
	if caFile != "" {
		opts = append(opts, nats.RootCAs(caFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// exportPackages copies every object of the package store into dir,
// checking that its bytes hash to its name. No bucket (nothing was ever
// published) is no packages.
func exportPackages(ctx context.Context, url, credsDir, caFile, dir string) ([]Package, []staged, string, error) {
	nc, js, err := connectNATS(url, credsDir, caFile, "exekractl backup")
	if err != nil {
		return nil, nil, "", fmt.Errorf("NATS at %s is unreachable: %w; a backup needs the Hub running (the package bytes live in its JetStream)", redactNATS(url), err)
	}
	defer nc.Close()
	version := nc.ConnectedServerVersion()
	obj, err := js.ObjectStore(ctx, pkgstore.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil, version, nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("package store %s: %w", pkgstore.Bucket, err)
	}
	infos, err := obj.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil, version, nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("list the package store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", err
	}
	var pkgs []Package
	var files []staged
	for _, info := range infos {
		if info.Deleted {
			continue
		}
		p, err := exportObject(ctx, obj, info.Name, dir)
		if err != nil {
			return nil, nil, "", err
		}
		pkgs = append(pkgs, p)
		files = append(files, staged{name: p.File, file: filepath.Join(dir, info.Name+".zip"), mode: 0o600})
	}
	return pkgs, files, version, nil
}

func exportObject(ctx context.Context, obj jetstream.ObjectStore, name, dir string) (Package, error) {
	if err := pkgstore.ValidSHA256(name); err != nil {
		return Package{}, fmt.Errorf("package store object %q is not named by a SHA-256", name)
	}
	res, err := obj.Get(ctx, name)
	if err != nil {
		return Package{}, fmt.Errorf("read package %s: %w", name, err)
	}
	defer res.Close()
	f, err := os.OpenFile(filepath.Join(dir, name+".zip"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Package{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), res) // the reader checks the store's digest at its end
	if err != nil {
		return Package{}, fmt.Errorf("read package %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != name {
		return Package{}, fmt.Errorf("package %s: its bytes hash to %s", name, got)
	}
	return Package{SHA256: name, Size: n, File: dirPackages + name + ".zip"}, f.Close()
}

// missingPackages lists digests the runners schema names that the export lacks.
func missingPackages(named []string, pkgs []Package) []string {
	have := map[string]bool{}
	for _, p := range pkgs {
		have[p.SHA256] = true
	}
	var out []string
	for _, s := range named {
		if !have[s] {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// packageTarget is the object store restore writes into.
type packageTarget struct {
	url      string
	credsDir string // exekractl's key to url
	caFile   string // the CA of a tls:// url
	stop     func() error
}

// openPackageTarget reaches the install's NATS: nats.url when set (that
// NATS must be running), else the install's embedded JetStream store,
// which restore runs itself, in-process, on a free loopback port.
func openPackageTarget(cfg *config.Config) (*packageTarget, error) {
	if cfg.NATS.URL != "" {
		return &packageTarget{url: cfg.NATS.URL, credsDir: cfg.Path(cfg.Hub.CredentialsDir), caFile: cfg.Path(cfg.NATS.CAFile),
			stop: func() error { return nil }}, nil
	}
	// Keys of this run only: the install's own credentials dir is the
	// Hub's to create, owned by its user.
	credsDir, err := os.MkdirTemp("", "exekractl-restore-keys-")
	if err != nil {
		return nil, fmt.Errorf("restore's NATS keys: %w", err)
	}
	keys, err := busauth.EnsureKeys(credsDir)
	if err != nil {
		os.RemoveAll(credsDir)
		return nil, err
	}
	store := cfg.Path(cfg.NATS.StoreDir)
	srv, err := natsembed.Start(slog.New(slog.DiscardHandler), natsembed.Options{Listen: "127.0.0.1:0", StoreDir: store, Keys: keys})
	if err != nil {
		os.RemoveAll(credsDir)
		return nil, fmt.Errorf("start the install's JetStream store %s: %w", store, err)
	}
	stop := func() error {
		srv.Shutdown()
		os.RemoveAll(credsDir)
		return chownTreeLike(store, filepath.Dir(store))
	}
	return &packageTarget{url: srv.URL(), credsDir: credsDir, stop: stop}, nil
}

// importPackages puts every package of the archive into the store (one the
// store already holds is left as it is).
func importPackages(ctx context.Context, cfg *config.Config, extracted string, pkgs []Package) error {
	target, err := openPackageTarget(cfg)
	if err != nil {
		return err
	}
	err = putPackages(ctx, cfg, target, extracted, pkgs)
	if serr := target.stop(); err == nil && serr != nil {
		err = fmt.Errorf("hand the JetStream store to the Hub's user: %w", serr)
	}
	return err
}

func putPackages(ctx context.Context, cfg *config.Config, target *packageTarget, extracted string, pkgs []Package) error {
	url := target.url
	nc, js, err := connectNATS(url, target.credsDir, target.caFile, "exekractl restore")
	if err != nil {
		return fmt.Errorf("NATS at %s is unreachable: %w", redactNATS(url), err)
	}
	defer nc.Close()
	store, err := pkgstore.Open(ctx, js, cfg.Audit.StreamReplicas)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		if err := putPackage(ctx, store, memberFile(extracted, p.File), p); err != nil {
			return err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return nc.FlushWithContext(fctx)
}

func putPackage(ctx context.Context, store *pkgstore.Store, file string, p Package) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := store.Put(ctx, p.SHA256, p.Size, f); err != nil {
		return fmt.Errorf("restore package %s: %w", p.SHA256, err)
	}
	return nil
}

// redactNATS names the first server of a NATS URL list, without credentials.
func redactNATS(list string) string {
	first, _, _ := strings.Cut(list, ",")
	if u, err := url.Parse(strings.TrimSpace(first)); err == nil && u.Host != "" {
		return u.Host
	}
	return "(nats.url)"
}
