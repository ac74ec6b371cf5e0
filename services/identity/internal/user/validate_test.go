package user

import (
	"strings"
	"testing"

	"github.com/exekra/hub/libs/errs"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		valid bool
	}{
		{"a plain address is kept with its case", "Ada@Example.test", "Ada@Example.test", true},
		{"surrounding spaces are trimmed", "  ada@example.test ", "ada@example.test", true},
		{"an empty email is refused", "", "", false},
		{"an address without @ is refused", "ada.example.test", "", false},
		{"a display name is refused", "Ada <ada@example.test>", "", false},
		{"an inner space is refused", "ada lovelace@example.test", "", false},
		{"an address over 254 characters is refused", strings.Repeat("a", 250) + "@x.test", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if tt.valid && (err != nil || got != tt.want) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if !tt.valid && !errs.Is(err, errs.InvalidArgument) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want invalid_argument", tt.in, got, err)
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"a short name is fine", "Ada", true},
		{"200 characters of any script are fine", strings.Repeat("é", 200), true},
		{"201 characters are too many", strings.Repeat("a", 201), false},
		{"blank is refused", "   ", false},
		{"a control character is refused", "Ada\nLovelace", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NormalizeName(tt.in)
			if (err == nil) != tt.valid {
				t.Fatalf("NormalizeName(%q) = %v; valid %v", tt.in, err, tt.valid)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantMsg string // "" when valid
	}{
		{"eight characters of anything are enough", "kq7#vb2x", ""},
		{"seven characters in fourteen bytes are too few", "ééééééé", "at least 8"},
		{"eight characters of any script are enough", "ééééééèè", ""},
		{"no composition rules apply", "correct horse battery staple", ""},
		{"seven characters are too few", "kq7#vb2", "at least 8"},
		{"256 characters are fine", strings.Repeat("z", 256), ""},
		{"257 characters are too many", strings.Repeat("z", 257), "at most 256"},
		{"a common password is refused", "password123", "commonly used"},
		{"a common password in another case is refused", "PassWord123", "commonly used"},
		{"a season and year pattern is refused", "Summer2024!", "commonly used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.in)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("CheckPassword = %v, want nil", err)
				}
				return
			}
			_, msg := errs.Public(err)
			if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(msg, tt.wantMsg) {
				t.Fatalf("CheckPassword = %v, want invalid_argument with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCommonPasswordList(t *testing.T) {
	t.Run("the embedded list has between 100 and 1000 entries", func(t *testing.T) {
		if n := len(commonPasswords); n < 100 || n > 1000 {
			t.Fatalf("%d entries", n)
		}
	})
	t.Run("comments are not entries", func(t *testing.T) {
		for p := range commonPasswords {
			if strings.HasPrefix(p, "#") {
				t.Fatalf("entry %q", p)
			}
		}
	})
}

func TestCheckRole(t *testing.T) {
	for _, r := range []string{RoleOperator, RoleDeveloper, RoleAdmin} {
		if err := CheckRole(r); err != nil {
			t.Errorf("CheckRole(%s) = %v", r, err)
		}
	}
	for _, r := range []string{"", "admin", "ROOT"} {
		if err := CheckRole(r); !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("CheckRole(%q) = %v, want invalid_argument", r, err)
		}
	}
}
