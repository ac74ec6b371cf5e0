package user

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/exekra/hub/libs/errs"
	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's minimum for argon2id: 19 MiB, two passes, one lane.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// weaker reports whether p is below want in any respect.
func (p Params) weaker(want Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads ||
		p.SaltLen < want.SaltLen || p.KeyLen < want.KeyLen
}

// Hasher hashes and checks passwords with argon2id in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
// It runs at most a few hashes at once, so that a burst of sign-ins cannot
// take more memory than that many times Params.Memory.
type Hasher struct {
	params Params
	slots  chan struct{}
}

// NewHasher returns a hasher with p that runs up to concurrent hashes at once
// (0: the number of CPUs, at least 2).
func NewHasher(p Params, concurrent int) *Hasher {
	if concurrent <= 0 {
		concurrent = max(runtime.GOMAXPROCS(0), 2)
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrent)}
}

// Params are the parameters new hashes get.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt) // never fails; see crypto/rand
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time, and whether encoded should be replaced because its parameters are
// below the hasher's.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (match, rehash bool, err error) {
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	match = subtle.ConstantTimeCompare(got, want) == 1
	return match, match && p.weaker(h.params), nil
}

// derive runs argon2id once a slot is free.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, errs.Wrap(errs.Unavailable, "the service is busy; try again shortly", fmt.Errorf("wait to hash: %w", ctx.Err()))
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

var b64 = base64.RawStdEncoding

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("stored password hash is not an argon2id PHC string")

// decodePHC parses a PHC string, refusing parameters no sane hash has (a
// damaged row must not make the service allocate gigabytes).
func decodePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	_, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads)
	if err != nil || fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) != parts[3] {
		return Params{}, nil, nil, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err := errors.Join(err1, err2); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %v", errBadHash, err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.Memory < 8 || p.Memory > 4<<20 || p.Time < 1 || p.Time > 64 || p.Threads < 1 ||
		len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range", errBadHash)
	}
	return p, salt, key, nil
}
