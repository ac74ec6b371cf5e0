package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const adminEmail = "Admin@Acme.test"

// exekractl runs the admin CLI and returns its standard output.
func exekractl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "exekractl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("exekractl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// vendor makes a signing key pair and issues licenses with it, as the vendor would.
type vendor struct {
	t   testing.TB
	dir string
	pub string
}

func newVendor(t testing.TB) *vendor {
	dir := t.TempDir()
	exekractl(t, "license", "keygen", "--out", dir)
	pub, err := os.ReadFile(filepath.Join(dir, "license.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return &vendor{t: t, dir: dir, pub: strings.TrimSpace(string(pub))}
}

// issue returns a license file's text for email allowing runners.
func (v *vendor) issue(email, runners string) string {
	out := filepath.Join(v.dir, "license-"+runners+".txt")
	exekractl(v.t, "license", "issue", "--key", filepath.Join(v.dir, "license.key"), "--licensee", "Acme Test",
		"--admin-email", email, "--max-runners", runners, "--expires", time.Now().AddDate(1, 0, 0).Format("2006-01-02"),
		"--mode", "offline", "--out", out)
	data, err := os.ReadFile(out)
	if err != nil {
		v.t.Fatal(err)
	}
	return string(data)
}

// licensedHub starts a pilot trusting v, activates a license and bootstraps
// the first admin, checking each step of the setup contract on the way.
func licensedHub(t *testing.T, v *vendor) (*hub, string) {
	return licensed(t, v, newHub(t))
}

// licensed is licensedHub for a prepared hub h (its programs, its settings).
func licensed(t *testing.T, v *vendor, h *hub) (*hub, string) {
	t.Helper()
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.start()
	anon := h.as("")
	st := anon.must(http.StatusOK, "GET", "/api/v1/setup", nil)
	if st["licensed"] != false || st["bootstrapped"] != false {
		t.Fatalf("fresh setup = %v", st)
	}
	body := map[string]string{"email": strings.ToLower(adminEmail), "password": "correct horse battery", "name": "First Admin"}
	if code := errCode(anon.must(http.StatusForbidden, "POST", "/api/v1/setup/bootstrap", body)); code != "license_required" {
		t.Fatalf("bootstrap before a license: %s", code)
	}
	if code := errCode(anon.must(http.StatusBadRequest, "POST", "/api/v1/license", map[string]string{"license": "garbage"})); code != "invalid_license" {
		t.Fatalf("garbage license: %s", code)
	}
	lic := anon.must(http.StatusOK, "POST", "/api/v1/license", map[string]string{"license": v.issue(adminEmail, "5")})
	if lic["status"] != "active" || lic["admin_email"] != adminEmail {
		t.Fatalf("activation = %v", lic)
	}
	if code := errCode(anon.must(http.StatusBadRequest, "POST", "/api/v1/setup/bootstrap",
		map[string]string{"email": "other@acme.test", "password": "correct horse battery", "name": "X"})); code != "email_mismatch" {
		t.Fatalf("mismatched email: %s", code)
	}
	raceBootstrap(t, anon, body)
	return h, login(t, h, body["email"], body["password"])
}

// raceBootstrap fires 20 bootstraps at once: exactly one wins.
func raceBootstrap(t *testing.T, anon *api, body map[string]string) {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			status, _ := anon.call("POST", "/api/v1/setup/bootstrap", body)
			mu.Lock()
			codes[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusCreated] != 1 || codes[http.StatusConflict] != 19 {
		t.Fatalf("20 concurrent bootstraps: %v, want one 201 and nineteen 409", codes)
	}
}

func login(t testing.TB, h *hub, email, password string) string {
	t.Helper()
	out := h.as("").must(http.StatusOK, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	tok, _ := out["token"].(string)
	user, _ := out["user"].(map[string]any)
	if tok == "" || user["email"] == nil || out["expires_at"] == nil {
		t.Fatalf("login answer = %v", out)
	}
	return tok
}
