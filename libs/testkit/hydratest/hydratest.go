// Package hydratest runs Ory Hydra, a real OpenID Connect provider, for
// sign-in tests: in memory, on free ports, with a login and consent app that
// signs in whichever user the test sets. The binary comes from
// deploy/scripts/test-hydra.sh, which builds it once into a cache directory.
package hydratest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/freeport"
)

// User is who the login app signs in next, and the ID token claims it
// grants (email, email_verified, name, groups...).
type User struct {
	Subject string
	Claims  map[string]any
}

// Provider is a running Hydra with its login and consent app.
type Provider struct {
	Issuer string // http://127.0.0.1:<port>/
	admin  string

	mu   sync.Mutex
	next User
}

// Client is an OAuth 2.0 client registered at the provider.
type Client struct {
	ID, Secret string
}

// Start runs Hydra until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	bin := binary(t)
	app := &http.Server{ReadHeaderTimeout: 5 * time.Second}
	appLn := listen(t)
	pub, adm := strconv.Itoa(freeport.Port(t)), strconv.Itoa(freeport.Port(t))
	p := &Provider{Issuer: "http://127.0.0.1:" + pub + "/", admin: "http://127.0.0.1:" + adm}
	appURL := "http://" + appLn.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", p.login)
	mux.HandleFunc("/consent", p.consent)
	app.Handler = mux
	go app.Serve(appLn)
	t.Cleanup(func() { app.Close() })

	cmd := exec.Command(bin, "serve", "all", "--dev")
	cmd.Env = append(os.Environ(), "DSN=memory", "LOG_LEVEL=warn", "URLS_SELF_ISSUER="+p.Issuer,
		"URLS_LOGIN="+appURL+"/login", "URLS_CONSENT="+appURL+"/consent",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+pub, "SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+adm,
		"SECRETS_SYSTEM=exekra-hub-test-system-secret-0001", "SQA_OPT_OUT=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hydra: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.Issuer + ".well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hydra did not answer within a minute: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// binary runs deploy/scripts/test-hydra.sh from the repository root.
func binary(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		if dir == filepath.Dir(dir) {
			t.Fatal("hydratest: no go.work above the test's directory")
		}
	}
	cmd := exec.Command(filepath.Join(dir, "deploy", "scripts", "test-hydra.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/scripts/test-hydra.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// NewClient registers a confidential client that may redirect to redirectURL.
func (p *Provider) NewClient(t testing.TB, redirectURL string) Client {
	t.Helper()
	req := map[string]any{"client_secret": "exekra-test-client-secret", "redirect_uris": []string{redirectURL},
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
		"scope": "openid profile email", "token_endpoint_auth_method": "client_secret_basic"}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := p.adminCall(http.MethodPost, "/admin/clients", req, &c); err != nil {
		t.Fatalf("register client: %v", err)
	}
	return Client{ID: c.ID, Secret: c.Secret}
}

// SignInAs makes the login app sign in u from now on.
func (p *Provider) SignInAs(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = u
}

func (p *Provider) user() User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}

// login accepts Hydra's login request as the user set by SignInAs.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	p.accept(w, r, "/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge),
		map[string]any{"subject": p.user().Subject})
}

// consent grants what the client asked for, with the user's claims in the ID token.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	challenge := url.QueryEscape(r.URL.Query().Get("consent_challenge"))
	var req struct {
		Scope    []string `json:"requested_scope"`
		Audience []string `json:"requested_access_token_audience"`
	}
	if err := p.adminCall(http.MethodGet, "/admin/oauth2/auth/requests/consent?consent_challenge="+challenge, nil, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.accept(w, r, "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+challenge, map[string]any{
		"grant_scope": req.Scope, "grant_access_token_audience": req.Audience,
		"session": map[string]any{"id_token": p.user().Claims}})
}

// accept sends an accept call and redirects the browser where Hydra says.
func (p *Provider) accept(w http.ResponseWriter, r *http.Request, path string, body any) {
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := p.adminCall(http.MethodPut, path, body, &out); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

func (p *Provider) adminCall(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.admin+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hydra %s %s: %s: %s", method, path, resp.Status, data)
	}
	return json.Unmarshal(data, out)
}

// Browser is a client that keeps cookies, as a browser does.
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

// Authorize follows authURL through the provider's login and consent with
// browser and returns the code and state it sends to redirectURL (which is
// not visited).
func Authorize(t testing.TB, browser *http.Client, authURL, redirectURL string) (code, state string) {
	t.Helper()
	c := *browser
	var landed *url.URL
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURL) {
			landed = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("follow the provider: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if landed == nil {
		t.Fatalf("the provider did not redirect back to %s: %s %s", redirectURL, resp.Status, body)
	}
	return landed.Query().Get("code"), landed.Query().Get("state")
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
