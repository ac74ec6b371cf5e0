package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Normalize prepares an event for the log: UTC time at microsecond precision
// (what PostgreSQL keeps), control characters in text replaced so nothing can
// forge a line in a log or an export, and details as a plain JSON object: the
// values encoding/json decodes into (float64 for every number).
func Normalize(ev Event) (Event, error) {
	ev.At = ev.At.UTC().Truncate(time.Microsecond)
	for _, s := range []*string{&ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Email, &ev.Actor.Name, &ev.Actor.Role,
		&ev.Action, &ev.Target.Type, &ev.Target.ID, &ev.Outcome, &ev.Reason, &ev.SourceIP, &ev.RequestID, &ev.Service, &ev.Version} {
		*s = cleanText(*s)
	}
	if flat, ok := flatDetails(ev.Details); ok {
		ev.Details = flat
		return ev, nil
	}
	details := map[string]any{}
	if ev.Details != nil {
		raw, err := json.Marshal(ev.Details)
		if err != nil {
			return ev, fmt.Errorf("audit details: %w", err)
		}
		if err := json.Unmarshal(raw, &details); err != nil {
			return ev, fmt.Errorf("audit details: %w", err)
		}
	}
	ev.Details = cleanValue(details).(map[string]any)
	return ev, nil
}

// flatDetails is what a JSON round trip and cleanValue make of details whose
// keys and strings are valid UTF-8 and whose values are text, booleans, null
// or finite numbers of the common kinds (most events' details), without the
// round trip. ok is false for anything else, which takes the round trip.
func flatDetails(in map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if !utf8.ValidString(k) {
			return nil, false
		}
		switch x := v.(type) {
		case string:
			if !utf8.ValidString(x) {
				return nil, false
			}
			v = cleanText(x)
		case bool, nil:
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, false // json.Marshal refuses it: the round trip says so
			}
		default:
			return nil, false
		}
		out[cleanText(k)] = v
	}
	return out, true
}

// cleanValue cleans every string inside a decoded JSON value.
func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return cleanText(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[cleanText(k)] = cleanValue(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = cleanValue(x[i])
		}
		return x
	}
	return v
}

func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// Canonical is the event's canonical JSON: object keys sorted at every level,
// the time in RFC 3339 with microseconds, no insignificant white space.
// It is the event's JSON encoding decoded into generic values and encoded
// again (maps encode with sorted keys), built here from the normalized event
// directly: its details are generic values already, and every text is valid
// UTF-8 (the two Normalize leaves as they are, the id and the token id, as a
// round trip leaves them), so the result is the same bytes.
func Canonical(ev Event) ([]byte, error) {
	ev, err := Normalize(ev)
	if err != nil {
		return nil, err
	}
	actor := map[string]any{"type": ev.Actor.Type, "id": ev.Actor.ID}
	optional(actor, "email", ev.Actor.Email) // omitempty in Actor's encoding
	optional(actor, "name", ev.Actor.Name)
	optional(actor, "role", ev.Actor.Role)
	optional(actor, "token_id", decodedText(ev.Actor.TokenID))
	generic := map[string]any{
		"id": decodedText(ev.ID), "at": ev.At.Format("2006-01-02T15:04:05.000000Z"), "actor": actor, "action": ev.Action,
		"target": map[string]any{"type": ev.Target.Type, "id": ev.Target.ID}, "outcome": ev.Outcome,
		"source_ip": ev.SourceIP, "request_id": ev.RequestID, "service": ev.Service, "version": ev.Version,
		"details": ev.Details,
	}
	optional(generic, "reason", ev.Reason)
	out, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("canonical event: %w", err)
	}
	return out, nil
}

// optional sets m[key] to v unless v is empty, as omitempty encodes.
func optional(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// decodedText is s after a JSON round trip: encoding/json writes every byte
// that is not valid UTF-8 as U+FFFD.
func decodedText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// ChainHash is hex(SHA-256(prev_hash || canonical JSON of the event)).
func ChainHash(prevHash string, ev Event) (string, error) {
	canon, err := Canonical(ev)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// GenesisHash is the prev_hash of the first record.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"
