// Package pkgstore keeps package bytes in the NATS JetStream object store,
// content-addressed by their SHA-256, and validates package zips and their
// exekra.json manifest. The gateway and the tools share it.
package pkgstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the object store holding package bytes.
const Bucket = "EXEKRA_PACKAGES"

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 checks a lower-case hex SHA-256.
func ValidSHA256(s string) error {
	if !sha256RE.MatchString(s) {
		return errs.E(errs.InvalidArgument, "sha256 must be 64 lower-case hex digits")
	}
	return nil
}

// Store is the package object store.
type Store struct {
	obj    jetstream.ObjectStore
	stream jetstream.Stream // the bucket's stream, read chunk by chunk (read.go)
}

// OpenWait bounds how long Open asks again when JetStream does not answer.
// Gateways that start together on a new NATS cluster create the bucket at
// the same moment, and nats-server 2.9 may answer none of those concurrent
// creations; asked again once the bucket exists, it answers at once.
const OpenWait = 30 * time.Second

// Open creates (or updates) the bucket with file storage and replicas
// (0 means 1) and returns the store. A request JetStream leaves unanswered
// (each bounded by ctx's deadline, else js's default timeout), or answered
// with the bucket's stream not found, is sent again for up to OpenWait; any
// other error is returned at once.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Store, error) {
	cfg := jetstream.ObjectStoreConfig{
		Bucket:      Bucket,
		Description: "Exekra package zips, named by their SHA-256 (hex)",
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
	giveUp := time.Now().Add(OpenWait)
	for {
		obj, err := js.CreateOrUpdateObjectStore(ctx, cfg)
		if err == nil {
			var stream jetstream.Stream
			if stream, err = js.Stream(ctx, "OBJ_"+Bucket); err == nil {
				return &Store{obj: obj, stream: stream}, nil
			}
		}
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders)
		// Gateways creating the bucket at the same moment on a new cluster
		// may be told that its stream, being created, is not found.
		racing := errors.Is(err, jetstream.ErrStreamNotFound)
		if !(unanswered || racing) || ctx.Err() != nil || time.Now().After(giveUp) {
			return nil, fmt.Errorf("open object store %s: %w", Bucket, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("open object store %s: %w", Bucket, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// digest is how the object store writes a SHA-256.
func digest(sha string) (string, error) {
	raw, err := hex.DecodeString(sha)
	if err != nil {
		return "", err
	}
	return "SHA-256=" + base64.URLEncoding.EncodeToString(raw), nil
}

// Has reports whether the store holds the object sha with size bytes.
func (s *Store) Has(ctx context.Context, sha string, size int64) (bool, error) {
	info, err := s.obj.GetInfo(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, errs.Wrap(errs.Unavailable, "the package store is unavailable", err)
	}
	want, _ := digest(sha)
	return !info.Deleted && int64(info.Size) == size && info.Digest == want, nil
}

// Put streams r (size bytes whose SHA-256 is sha) into the store under sha,
// unless the store already holds it. The object store's own digest of what
// it received must equal sha, otherwise the object is deleted and Put fails.
func (s *Store) Put(ctx context.Context, sha string, size int64, r io.Reader) error {
	if err := ValidSHA256(sha); err != nil {
		return err
	}
	if ok, err := s.Has(ctx, sha, size); err != nil || ok {
		return err
	}
	info, err := s.obj.Put(ctx, jetstream.ObjectMeta{Name: sha, Description: "package zip"}, r)
	if err != nil {
		return errs.Wrap(errs.Unavailable, "the package could not be stored", err)
	}
	want, _ := digest(sha)
	if info.Digest != want || int64(info.Size) != size {
		_ = s.obj.Delete(ctx, sha)
		return fmt.Errorf("store package %s: stored %d bytes with digest %s, want %d bytes with %s", sha, info.Size, info.Digest, size, want)
	}
	return nil
}

// Object is a package being read; Close it.
type Object struct {
	io.ReadCloser
	Size int64
}

// Get opens the object sha. A missing object is not_found. The reader
// fails at its end if the bytes do not match the object's digest. The
// chunks are read one by one (read.go), from any replica of the bucket.
func (s *Store) Get(ctx context.Context, sha string) (*Object, error) {
	if err := ValidSHA256(sha); err != nil {
		return nil, err
	}
	info, err := s.obj.GetInfo(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, errs.E(errs.NotFound, "the package's bytes are not in the package store")
	}
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, "the package store is unavailable", err)
	}
	if want, _ := digest(sha); info.Digest != want {
		return nil, fmt.Errorf("package object %s has digest %s, want %s", sha, info.Digest, want)
	}
	return &Object{ReadCloser: s.chunks(ctx, sha, info), Size: int64(info.Size)}, nil
}

// Delete removes the object sha (tests and future garbage collection).
func (s *Store) Delete(ctx context.Context, sha string) error {
	err := s.obj.Delete(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	return err
}
