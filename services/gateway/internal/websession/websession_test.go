package websession

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestValid(t *testing.T) {
	pre := NewSecret()
	tests := []struct {
		name    string
		cookies map[string]string
		sent    string
		want    bool
	}{
		{"the session's token", map[string]string{SessionCookie: "tok-a"}, Token("tok-a"), true},
		{"another session's token", map[string]string{SessionCookie: "tok-a"}, Token("tok-b"), false},
		{"the pre-session cookie's token", map[string]string{CSRFCookie: pre}, Token(pre), true},
		{"the session wins over the pre-session cookie", map[string]string{SessionCookie: "tok-a", CSRFCookie: pre}, Token(pre), false},
		{"the cookie's value itself (plain double submit)", map[string]string{CSRFCookie: pre}, pre, false},
		{"a malformed pre-session cookie", map[string]string{CSRFCookie: "short"}, Token("short"), false},
		{"no cookie", nil, Token(""), false},
		{"nothing sent", map[string]string{SessionCookie: "tok-a"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			for n, v := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: n, Value: v})
			}
			if got := Valid(r, tt.sent); got != tt.want {
				t.Fatalf("Valid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCookiesFollowTheHostPrefixRules(t *testing.T) {
	w := httptest.NewRecorder()
	SetCookie(w, SessionCookie, "tok", time.Time{})
	ClearCookie(w, CSRFCookie)
	for _, ck := range w.Result().Cookies() {
		if !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %+v breaks the __Host- rules", ck)
		}
	}
}
