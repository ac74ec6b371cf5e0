package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// KeySize is the size of key-encryption keys and data keys (AES-256).
const KeySize = 32

const nonceSize = 12

var (
	// ErrUnknownKey means a sealed value names a key-encryption key the
	// keyring does not hold.
	ErrUnknownKey = errors.New("envelope: unknown key-encryption key")
	// ErrOpen means a sealed value failed authentication: it was changed,
	// moved to other associated data, or sealed under other key bytes.
	ErrOpen = errors.New("envelope: sealed value does not open")
)

// Sealed is a value sealed by a Keyring: KeyID names the key-encryption
// key that wrapped the data key; WrappedKey and Ciphertext each hold a
// nonce followed by the AES-GCM output.
type Sealed struct {
	KeyID      string
	WrappedKey []byte
	Ciphertext []byte
}

type kek struct {
	id        string
	key       []byte
	createdAt time.Time
	aead      cipher.AEAD
}

// Keyring holds key-encryption keys by id, one of them primary. It is safe
// for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	primary string
	keys    map[string]*kek
}

// NewKeyring returns a keyring with one fresh primary key.
func NewKeyring() (*Keyring, error) {
	k := &Keyring{keys: map[string]*kek{}}
	if _, err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

func newKEK(id string, key []byte, createdAt time.Time) (*kek, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key %s is %d bytes, want %d", id, len(key), KeySize)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", id, err)
	}
	return &kek{id: id, key: slices.Clone(key), createdAt: createdAt, aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: gcm: %w", err)
	}
	return aead, nil
}

// newKeyID is k-<UTC yyyymmddhhmmss>-<4 hex digits>.
func newKeyID(now time.Time) (string, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("envelope: random key id: %w", err)
	}
	return "k-" + now.UTC().Format("20060102150405") + "-" + hex.EncodeToString(b[:]), nil
}

// Rotate adds a fresh key and makes it the primary; the old keys stay so
// values sealed under them still open.
func (k *Keyring) Rotate() (newID string, err error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("envelope: random key: %w", err)
	}
	defer clear(key)
	now := time.Now().UTC().Truncate(time.Second)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = map[string]*kek{}
	}
	var id string
	for {
		if id, err = newKeyID(now); err != nil {
			return "", err
		}
		if _, taken := k.keys[id]; !taken {
			break
		}
	}
	e, err := newKEK(id, key, now)
	if err != nil {
		return "", err
	}
	k.keys[id] = e
	k.primary = id
	return id, nil
}

// Retire removes keys from the ring. It refuses the primary and ids the
// ring does not hold, and then removes nothing.
func (k *Keyring) Retire(ids ...string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		if id == k.primary {
			return fmt.Errorf("envelope: key %s is the primary key and cannot be retired", id)
		}
		if _, ok := k.keys[id]; !ok {
			return fmt.Errorf("envelope: key %s is not in the keyring", id)
		}
	}
	for _, id := range ids {
		if e := k.keys[id]; e != nil {
			clear(e.key)
		}
		delete(k.keys, id)
	}
	return nil
}

// PrimaryID is the id of the key Seal and Rewrap use.
func (k *Keyring) PrimaryID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.primary
}

// IDs lists the ids of every key in the ring, oldest first.
func (k *Keyring) IDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := k.keys[a].createdAt.Compare(k.keys[b].createdAt); c != 0 {
			return c
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return ids
}

// Has reports whether the ring holds key id.
func (k *Keyring) Has(id string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	_, ok := k.keys[id]
	return ok
}

func (k *Keyring) get(id string) (*kek, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	return e, nil
}

func (k *Keyring) primaryKEK() (*kek, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	e, ok := k.keys[k.primary]
	if !ok {
		return nil, errors.New("envelope: the keyring has no primary key")
	}
	return e, nil
}

// wrapAAD binds a wrapped data key to the value's associated data and to
// the id of the key-encryption key.
func wrapAAD(keyID string, aad []byte) []byte {
	b := []byte("exekra-envelope-v1/wrap")
	b = appendField(b, []byte(keyID))
	return appendField(b, aad)
}

func seal(aead cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("envelope: random nonce: %w", err)
	}
	return aead.Seal(out, out[:nonceSize], plaintext, aad), nil
}

func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

func (e *kek) wrap(dataKey, aad []byte) ([]byte, error) {
	return seal(e.aead, dataKey, wrapAAD(e.id, aad))
}

func (e *kek) unwrap(wrapped, aad []byte) ([]byte, error) {
	dk, err := open(e.aead, wrapped, wrapAAD(e.id, aad))
	if err != nil {
		return nil, err
	}
	if len(dk) != KeySize {
		clear(dk)
		return nil, ErrOpen
	}
	return dk, nil
}

// Seal encrypts plaintext under a fresh data key bound to aad, and wraps
// the data key under the primary key.
func (k *Keyring) Seal(plaintext, aad []byte) (Sealed, error) {
	e, err := k.primaryKEK()
	if err != nil {
		return Sealed{}, err
	}
	dk := make([]byte, KeySize)
	defer clear(dk)
	if _, err := rand.Read(dk); err != nil {
		return Sealed{}, fmt.Errorf("envelope: random data key: %w", err)
	}
	aead, err := newAEAD(dk)
	if err != nil {
		return Sealed{}, err
	}
	ct, err := seal(aead, plaintext, aad)
	if err != nil {
		return Sealed{}, err
	}
	wk, err := e.wrap(dk, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyID: e.id, WrappedKey: wk, Ciphertext: ct}, nil
}

// Open decrypts s with the associated data it was sealed with. It fails
// with ErrUnknownKey when the ring lacks s.KeyID and with ErrOpen when s
// does not authenticate (changed, other aad, other key bytes).
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	e, err := k.get(s.KeyID)
	if err != nil {
		return nil, err
	}
	dk, err := e.unwrap(s.WrappedKey, aad)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	aead, err := newAEAD(dk)
	if err != nil {
		return nil, err
	}
	return open(aead, s.Ciphertext, aad)
}

// Rewrap returns s with its data key wrapped under the primary key; the
// ciphertext stays the same. It fails as Open does when the data key does
// not unwrap.
func (k *Keyring) Rewrap(s Sealed, aad []byte) (Sealed, error) {
	old, err := k.get(s.KeyID)
	if err != nil {
		return Sealed{}, err
	}
	dk, err := old.unwrap(s.WrappedKey, aad)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(dk)
	p, err := k.primaryKEK()
	if err != nil {
		return Sealed{}, err
	}
	wk, err := p.wrap(dk, aad)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KeyID: p.id, WrappedKey: wk, Ciphertext: slices.Clone(s.Ciphertext)}, nil
}

// AAD is the associated data of an asset value: its asset, scope, scope
// key and version, so a sealed value only opens where it was written.
func AAD(assetID, scope, scopeKey string, version int) []byte {
	b := []byte("exekra-asset-value-v1")
	b = appendField(b, []byte(assetID))
	b = appendField(b, []byte(scope))
	b = appendField(b, []byte(scopeKey))
	return binary.BigEndian.AppendUint64(b, uint64(int64(version)))
}

// appendField appends a length-prefixed field, so no two field lists
// encode alike.
func appendField(b, field []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(field)))
	return append(b, field...)
}
