// Package text checks text where it enters the Hub (HTTP bodies, query
// strings, paths, bus requests), before it reaches PostgreSQL, a log or a
// person's screen. PostgreSQL's text and jsonb refuse NUL and invalid UTF-8
// (SQLSTATE 22P05, 22021) and jsonb refuses lone UTF-16 surrogates (22P02):
// let through, they surface as internal errors, and invalid bytes that pass
// through Go's JSON become U+FFFD, so what is stored is not what was sent.
// Errors are invalid_argument and start with the field's name.
package text

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/exekra/hub/libs/errs"
)

// Check refuses s unless it is valid UTF-8 without NUL.
func Check(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return errs.Ef(errs.InvalidArgument, "%s must be valid UTF-8 text", field)
	case strings.IndexByte(s, 0) >= 0:
		return errs.Ef(errs.InvalidArgument, "%s must not contain NUL (U+0000)", field)
	}
	return nil
}

// CheckName refuses s unless it is text (Check) a person can read as it is:
// no control characters (C0, C1, tab and newline included), no line or
// paragraph separators, and no format characters — among them the
// bidirectional embeddings, overrides, isolates and marks (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), with which "admin\u202egnp.exe"
// shows as "adminexe.png", and invisible ones such as U+200B and U+FEFF.
// The zero-width joiner and non-joiner are kept: scripts and emoji need them.
// It is for names people tell apart by sight (users, runners) and emails.
func CheckName(field, s string) error {
	if err := Check(field, s); err != nil {
		return err
	}
	if i := strings.IndexFunc(s, hidden); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return errs.Ef(errs.InvalidArgument, "%s must not contain control, format or bidirectional characters (it holds %U)", field, r)
	}
	return nil
}

// hidden reports whether r changes how the text around it shows, or does
// not show at all.
func hidden(r rune) bool {
	switch {
	case r == '\u200c', r == '\u200d': // zero-width non-joiner, joiner
		return false
	case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
		return true
	}
	return unicode.Is(unicode.Bidi_Control, r)
}

// CheckJSON refuses a JSON document (already known to be valid JSON) whose
// strings, keys included, are not valid text: invalid UTF-8, NUL, raw or
// escaped (\u0000), and escaped lone surrogates (\ud800 without its pair),
// which Go's decoder would turn into U+FFFD while the raw document kept them.
func CheckJSON(field string, doc []byte) error {
	if !utf8.Valid(doc) {
		return errs.Ef(errs.InvalidArgument, "%s must be valid UTF-8 text", field)
	}
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case 0:
			return errs.Ef(errs.InvalidArgument, "%s must not contain NUL (U+0000)", field)
		case '\\': // only inside a string in valid JSON
			i++
			if i < len(doc) && doc[i] == 'u' {
				n, err := checkEscape(field, doc[i-1:])
				if err != nil {
					return err
				}
				i += n - 2
			}
		}
	}
	return nil
}

// checkEscape checks the \uXXXX escape (and its pair, for a surrogate) at
// the start of doc and returns its length in bytes.
func checkEscape(field string, doc []byte) (int, error) {
	r := escaped(doc)
	switch {
	case r == 0:
		return 0, errs.Ef(errs.InvalidArgument, "%s must not contain NUL (\\u0000)", field)
	case !utf16.IsSurrogate(r):
		return 6, nil
	case r < 0xDC00 && utf16.DecodeRune(r, escaped(doc[min(6, len(doc)):])) != utf8.RuneError:
		return 12, nil
	}
	return 0, errs.Ef(errs.InvalidArgument, "%s must not contain a lone UTF-16 surrogate such as \\ud800", field)
}

// escaped is the code unit of the \uXXXX escape at the start of doc, or -1.
func escaped(doc []byte) rune {
	if len(doc) < 6 || doc[0] != '\\' || doc[1] != 'u' {
		return -1
	}
	n, err := strconv.ParseUint(string(doc[2:6]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// Mend replaces invalid UTF-8 and NUL in s with U+FFFD. It is for what a
// runner relays from the programs it runs (log lines, a failure's message),
// kept with its bytes mended rather than refused: the program chose them,
// not the runner.
func Mend(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
