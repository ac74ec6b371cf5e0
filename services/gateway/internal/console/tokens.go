package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/gin-gonic/gin"
)

func init() {
	flashes["token_revoked"] = "API token revoked; it stopped working at once."
}

// tokenExpiryDays are the expiries the create form offers, in days.
var tokenExpiryDays = []int{7, 30, 90, 180, 365}

// tokensPageSize is how many tokens one page of the table shows.
const tokensPageSize = 50

// tokenRow is an API token in the list.
type tokenRow struct {
	identity.APIToken
	State      string // active, expired or revoked
	ScopesText string
}

// tokenForm holds what was typed into the create form.
type tokenForm struct {
	Name   string
	Scopes map[string]bool
	Days   int
}

type tokensData struct {
	Rows        []tokenRow
	Next, First string
	Form        tokenForm
	Scopes      []string
	Days        []int
	Created     *identity.CreatedToken // the token just made, shown this once
	CreatedText string                 // its scopes
}

var freshTokenForm = tokenForm{Scopes: map[string]bool{identity.ScopeRead: true}, Days: 90}

// tokensPage lists the signed-in user's API tokens and the create form (GET /tokens).
func (con *Console) tokensPage(c *gin.Context) {
	con.showTokens(c, http.StatusOK, "", freshTokenForm, nil)
}

// showTokens renders the page; created, when set, is shown once.
func (con *Console) showTokens(c *gin.Context, status int, msg string, form tokenForm, created *identity.CreatedToken) {
	cursor := c.Query("cursor")
	list, err := call[identity.ListTokensResponse](c, con, identity.SubjectTokensList,
		identity.ListTokensRequest{Limit: tokensPageSize, Cursor: cursor})
	if err != nil {
		con.fail(c, err)
		return
	}
	d := tokensData{Form: form, Scopes: identity.Scopes, Days: tokenExpiryDays, Created: created}
	now := time.Now()
	for _, t := range list.Items {
		d.Rows = append(d.Rows, tokenRow{APIToken: t, State: t.State(now), ScopesText: strings.Join(t.Scopes, ", ")})
	}
	if list.NextCursor != "" {
		d.Next = "/tokens?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	if cursor != "" {
		d.First = "/tokens"
	}
	if created != nil {
		d.CreatedText = strings.Join(created.Info.Scopes, ", ")
		c.Header("Referrer-Policy", "no-referrer")
	}
	con.show(c, status, "tokens", page{Title: "API tokens", Error: msg, Data: d})
}

// createToken makes a token and shows it once, in the answer to the POST
// itself (show sends Cache-Control: no-store): it is in no URL, redirect or flash.
func (con *Console) createToken(c *gin.Context) {
	form := tokenForm{Name: strings.TrimSpace(c.PostForm("name")), Scopes: map[string]bool{}}
	req := identity.CreateTokenRequest{Name: form.Name, Scopes: []string{}}
	for _, sc := range c.PostFormArray("scope") {
		form.Scopes[sc] = true
		req.Scopes = append(req.Scopes, sc)
	}
	days, err := strconv.Atoi(c.PostForm("days"))
	if err != nil || days < 1 {
		form.Days = freshTokenForm.Days
		con.showTokens(c, http.StatusBadRequest, "Choose when the token expires.", form, nil)
		return
	}
	form.Days = days
	req.ExpiresAt = time.Now().Add(time.Duration(days) * 24 * time.Hour).UTC()
	created, err := call[identity.CreatedToken](c, con, identity.SubjectTokensCreate, req)
	if err != nil {
		con.showTokens(c, statusOf(err), con.inline(c, err), form, nil)
		return
	}
	con.showTokens(c, http.StatusCreated, "", freshTokenForm, &created)
}

// revokeToken revokes token :id (POST /tokens/:id/revoke).
func (con *Console) revokeToken(c *gin.Context) {
	if _, err := call[identity.APIToken](c, con, identity.SubjectTokensRevoke, identity.RevokeTokenRequest{ID: c.Param("id")}); err != nil {
		con.showTokens(c, statusOf(err), con.inline(c, err), freshTokenForm, nil)
		return
	}
	redirect(c, "/tokens?flash=token_revoked")
}
