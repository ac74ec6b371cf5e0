package user

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// TokenPrefix starts every session token, so that a leaked one is easy to
// recognise (and for secret scanners to find).
const TokenPrefix = "exk_st_"

// tokenBytes is the randomness of a session token: 256 bits.
const tokenBytes = 32

var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh session token and the hash that is stored.
func newToken() (string, []byte) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails; see crypto/rand
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	return token, h[:]
}

// tokenHash returns the stored hash of token; ok is false for anything that
// is not shaped like a session token.
func tokenHash(token string) ([]byte, bool) {
	rest, found := strings.CutPrefix(token, TokenPrefix)
	if !found || len(token) != tokenLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(rest); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	return h[:], true
}

// EncodeCursor makes the opaque next_cursor of a page.
func EncodeCursor(c Cursor) string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "_" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reads what EncodeCursor wrote; nil for "".
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := errs.E(errs.InvalidArgument, "cursor is not one this service gave out; start from the first page")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	micros, id, ok := strings.Cut(string(raw), "_")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || !isUUID(id) {
		return nil, bad
	}
	return &Cursor{CreatedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// checkID refuses an id that is not a UUID before it reaches the store.
func checkID(id string) error {
	if !isUUID(id) {
		return errs.Ef(errs.InvalidArgument, "user id must be a UUID, not %q", Truncate(id, 64))
	}
	return nil
}

// Truncate shortens s to at most n bytes (and an ellipsis) for a message or
// an audit event, on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// isUUID accepts the canonical 36-character form only.
func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
