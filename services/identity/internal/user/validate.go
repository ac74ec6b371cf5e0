package user

import (
	_ "embed"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
)

// Limits on what a user may be given.
const (
	MaxEmailLen    = 254
	MaxNameLen     = 200
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords holds the embedded list, lower case.
var commonPasswords = parseList(commonPasswordsFile)

func parseList(text string) map[string]struct{} {
	set := map[string]struct{}{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	return set
}

// NormalizeEmail trims s and checks it is a plain address (no display name)
// of at most MaxEmailLen bytes. Case is kept; comparisons ignore it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.E(errs.InvalidArgument, "email is required")
	}
	if len(s) > MaxEmailLen {
		return "", errs.Ef(errs.InvalidArgument, "email must be at most %d characters", MaxEmailLen)
	}
	if err := text.CheckName("email", s); err != nil {
		return "", err
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || strings.ContainsFunc(s, unicode.IsSpace) {
		return "", errs.E(errs.InvalidArgument, "email must be a plain address like name@example.com")
	}
	return s, nil
}

// NormalizeName trims s and checks it has 1 to MaxNameLen characters that
// show as they are (text.CheckName).
func NormalizeName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := text.CheckName("name", s); err != nil {
		return "", err
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", errs.E(errs.InvalidArgument, "name is required")
	case n > MaxNameLen:
		return "", errs.Ef(errs.InvalidArgument, "name must be at most %d characters", MaxNameLen)
	}
	return s, nil
}

// CheckRole checks role is one of the three roles.
func CheckRole(role string) error {
	switch role {
	case RoleOperator, RoleDeveloper, RoleAdmin:
		return nil
	}
	return errs.Ef(errs.InvalidArgument, "role must be one of %s, %s or %s", RoleOperator, RoleDeveloper, RoleAdmin)
}

// CheckPassword applies the password policy: MinPasswordLen to MaxPasswordLen
// characters, any composition, not one of the most common passwords.
func CheckPassword(p string) error {
	n := utf8.RuneCountInString(p)
	switch {
	case n < MinPasswordLen:
		return errs.Ef(errs.InvalidArgument, "password must be at least %d characters", MinPasswordLen)
	case n > MaxPasswordLen:
		return errs.Ef(errs.InvalidArgument, "password must be at most %d characters", MaxPasswordLen)
	}
	if _, common := commonPasswords[strings.ToLower(p)]; common {
		return errs.E(errs.InvalidArgument, "this password is one of the most commonly used and easily guessed; choose another")
	}
	return nil
}
