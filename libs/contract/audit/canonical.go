package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Normalize prepares an event for the log: UTC time at microsecond precision
// (what PostgreSQL keeps), control characters in text replaced so nothing can
// forge a line in a log or an export, and details as a plain JSON object.
func Normalize(ev Event) (Event, error) {
	ev.At = ev.At.UTC().Truncate(time.Microsecond)
	for _, s := range []*string{&ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Email, &ev.Actor.Name, &ev.Actor.Role,
		&ev.Action, &ev.Target.Type, &ev.Target.ID, &ev.Outcome, &ev.Reason, &ev.SourceIP, &ev.RequestID, &ev.Service, &ev.Version} {
		*s = cleanText(*s)
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
func Canonical(ev Event) ([]byte, error) {
	ev, err := Normalize(ev)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("canonical event: %w", err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("canonical event: %w", err)
	}
	generic["at"] = ev.At.Format("2006-01-02T15:04:05.000000Z")
	return json.Marshal(generic) // maps marshal with sorted keys
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
