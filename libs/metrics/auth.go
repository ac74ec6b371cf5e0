package metrics

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/exekra/hub/libs/errs"
)

// TokenFileKey is the setting that names the token file.
const TokenFileKey = "metrics.token_file"

// Realm names the metrics ports in the WWW-Authenticate header of a refusal.
const Realm = "exekra-metrics"

// errNoTokenFile is why every scrape is refused when no file is set.
var errNoTokenFile = errors.New(TokenFileKey + " is not set")

// tokenSource is the bearer token /metrics and pprof require. The file is read
// on every such request (scrapes and profiles are rare), so a rotated token
// holds from the next request on, without a restart.
type tokenSource struct {
	path string
}

// read returns the token, or why there is none (the error names the file,
// never its content).
func (f tokenSource) read() ([]byte, error) {
	if f.path == "" {
		return nil, errNoTokenFile
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", TokenFileKey, err)
	}
	tok := bytes.TrimSpace(raw)
	if len(tok) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", TokenFileKey, f.path)
	}
	return tok, nil
}

// allows reports whether r carries "Authorization: Bearer <the token>". Both
// sides are hashed first, so the comparison takes the same time whatever the
// length or content of what the client sent; reason labels a refusal.
func (f tokenSource) allows(r *http.Request) (ok bool, reason string) {
	want, err := f.read()
	if err != nil {
		return false, "no_token_file"
	}
	scheme, got, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return false, "missing"
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256(want)
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return false, "invalid"
	}
	return true, ""
}

// guard lets through only requests that carry the token; endpoint labels
// the refusals it counts.
func (s *Server) guard(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, reason := s.token.allows(r); !ok {
			s.refused.WithLabelValues(endpoint, reason).Inc()
			refuse(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers 401 with the API's error body; it says the same whatever
// was wrong, so a client learns nothing about the token or the file.
func refuse(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(errs.Unauthenticated.HTTPStatus())
	var body struct {
		Error struct {
			Code    errs.Kind `json:"code"`
			Message string    `json:"message"`
		} `json:"error"`
	}
	body.Error.Code = errs.Unauthenticated
	body.Error.Message = "this metrics port needs Authorization: Bearer <the token of " + TokenFileKey + ">"
	json.NewEncoder(w).Encode(body)
}

// warnUnusableToken logs once, at start, when no scrape can succeed.
func (s *Server) warnUnusableToken(log *slog.Logger) {
	if _, err := s.token.read(); err != nil {
		log.Warn("the metrics port refuses every /metrics and pprof request until "+TokenFileKey+" names a file holding a token",
			"key", TokenFileKey, "err", err)
	}
}
