package pgcluster

import (
	"strings"
	"testing"
)

func TestCheckOS(t *testing.T) {
	for _, goos := range []string{"linux", "freebsd", "darwin"} {
		if err := CheckOS(goos); err != nil {
			t.Errorf("CheckOS(%s) = %v, want nil", goos, err)
		}
	}
	err := CheckOS("windows")
	if err == nil || !strings.Contains(err.Error(), "database.url (EXEKRA_DATABASE_URL") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("CheckOS(windows) = %v, want one line telling the operator to set database.url", err)
	}
}
