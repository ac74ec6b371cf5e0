package console_test

import (
	"net/http"
	"testing"

	"github.com/exekra/hub/libs/buildinfo"
)

func TestFooterShowsVersionAndCommit(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	wantPage(t, h.get("/runners", opToken), http.StatusOK,
		`Exekra Hub <span id="hub-version">`+buildinfo.Version+`</span> (commit <span id="hub-commit">`+buildinfo.Commit+`</span>)`)
}
