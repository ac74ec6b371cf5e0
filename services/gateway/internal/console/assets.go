package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// assetsPageSize is how many assets one page of the list shows.
const assetsPageSize = 50

// writeOnlyText stands in for the value of a credential or secret asset.
const writeOnlyText = "write-only"

func init() {
	flashes["asset_created"] = "Asset created; set its values below."
	flashes["asset_updated"] = "Description saved."
	flashes["asset_value_set"] = "Value saved."
	flashes["asset_value_deleted"] = "Value deleted."
	flashes["asset_deleted"] = "Asset deleted with all its values."
}

// assetRow is an asset in the list.
type assetRow struct {
	runners.Asset
	Scopes  string // the scopes that have a value, "—" when none
	Updated string
}

// assetForm holds what was typed into the new-asset form.
type assetForm struct {
	Name, Type, Description string
	Invalid                 string // the field just refused
}

// Bad reports whether field was just refused.
func (f assetForm) Bad(field string) bool { return f.Invalid == field }

type assetsData struct {
	Rows        []assetRow
	Type        string // the type filter, "" for any
	Types       []string
	Next, First string
	CanCreate   bool
	Form        assetForm
}

// assetsPage lists the assets (GET /assets).
func (con *Console) assetsPage(c *gin.Context) {
	con.showAssets(c, http.StatusOK, "", assetForm{Type: runners.AssetText})
}

// showAssets shows the list with the new-asset form holding f.
func (con *Console) showAssets(c *gin.Context, status int, msg string, f assetForm) {
	typ, cursor := c.Query("type"), c.Query("cursor")
	list, err := call[runners.ListAssetsResponse](c, con, runners.SubjectAssetList,
		runners.ListAssetsRequest{Limit: assetsPageSize, Cursor: cursor, Type: typ})
	switch {
	case err == nil:
	case errs.Is(err, errs.InvalidArgument):
		if msg == "" {
			status, msg = statusOf(err), con.inline(c, err)
		}
	default:
		con.fail(c, err)
		return
	}
	d := assetsData{Type: typ, Types: runners.AssetTypes, Form: f, CanCreate: con.may(c, http.MethodPost, "/assets")}
	for _, a := range list.Items {
		row := assetRow{Asset: a, Scopes: none, Updated: when(a.UpdatedAt)}
		var scopes []string
		for _, v := range a.Values {
			scopes = append(scopes, scopeLabel(v))
		}
		if len(scopes) > 0 {
			row.Scopes = strings.Join(scopes, ", ")
		}
		d.Rows = append(d.Rows, row)
	}
	filter := url.Values{}
	if typ != "" {
		filter.Set("type", typ)
	}
	if list.NextCursor != "" {
		d.Next = "/assets?" + url.Values{"cursor": {list.NextCursor}, "type": filter["type"]}.Encode()
	}
	if cursor != "" {
		d.First = strings.TrimSuffix("/assets?"+filter.Encode(), "?")
	}
	con.show(c, status, "assets", page{Title: "Assets", Error: msg, Data: d})
}

// scopeLabel names a value's scope: global, the environment, or the runner.
func scopeLabel(v runners.AssetValue) string {
	switch v.Scope {
	case runners.ScopeEnvironment:
		return v.Environment
	case runners.ScopeRunner:
		if v.RunnerName != nil && *v.RunnerName != "" {
			return "runner " + *v.RunnerName
		}
		return "runner " + v.RunnerID
	}
	return v.Scope
}

// assetField is the form field a service's message names first, "" when none.
func assetField(msg string) string {
	for _, field := range []string{"name", "type", "description"} {
		if strings.HasPrefix(msg, field+" ") {
			return field
		}
	}
	if strings.Contains(msg, "asset named") {
		return "name"
	}
	return ""
}

// createAsset creates an asset from the list's form (POST /assets).
func (con *Console) createAsset(c *gin.Context) {
	f := assetForm{Name: strings.TrimSpace(c.PostForm("name")), Type: c.PostForm("type"),
		Description: strings.TrimSpace(c.PostForm("description"))}
	a, err := call[runners.Asset](c, con, runners.SubjectAssetCreate,
		runners.CreateAssetRequest{Name: f.Name, Type: f.Type, Description: f.Description})
	if err != nil {
		msg := con.inline(c, err)
		f.Invalid = assetField(msg)
		con.showAssets(c, statusOf(err), msg, f)
		return
	}
	redirect(c, assetPath(a.Name)+"?flash=asset_created")
}

func assetPath(name string) string { return "/assets/" + url.PathEscape(name) }

// assetValueRow is one scope's value, formatted.
type assetValueRow struct {
	runners.AssetValue
	Key       string // unique among the rows: global, environment-<env>, runner-<id>
	Label     string
	Shown     string // the value, or writeOnlyText
	Updated   string
	UpdatedBy string
}

// valueForm is one set-value form: its scope and, for an environment or a
// runner, which one.
type valueForm struct {
	Scope   string
	Label   string
	Choices []choice // nil for the global scope
}

type choice struct{ Value, Label string }

type assetData struct {
	Asset       runners.Asset
	Created     string
	Updated     string
	CreatedBy   string // the user's email when known
	UpdatedBy   string
	Values      []assetValueRow
	Forms       []valueForm
	Description string // in the description form
	CanAuthor   bool
}

// assetPage shows an asset, its values and (DEVELOPER and up) its forms (GET /assets/:name).
func (con *Console) assetPage(c *gin.Context) { con.showAsset(c, http.StatusOK, "", nil) }

// showAsset shows asset :name; description, when not nil, is what was typed.
func (con *Console) showAsset(c *gin.Context, status int, msg string, description *string) {
	a, err := call[runners.Asset](c, con, runners.SubjectAssetGet, runners.AssetRequest{Name: c.Param("name")})
	if err != nil {
		con.fail(c, err)
		return
	}
	n := con.lookupNames(c)
	d := assetData{Asset: a, Created: when(a.CreatedAt), Updated: when(a.UpdatedAt), CreatedBy: n.user(a.CreatedBy),
		UpdatedBy: n.user(a.UpdatedBy), Description: a.Description,
		CanAuthor: con.may(c, http.MethodPost, "/assets/:name")}
	if description != nil {
		d.Description = *description
	}
	for _, v := range a.Values {
		row := assetValueRow{AssetValue: v, Key: v.Scope, Label: scopeLabel(v), Shown: writeOnlyText,
			Updated: when(v.UpdatedAt), UpdatedBy: n.user(v.UpdatedBy)}
		switch v.Scope {
		case runners.ScopeEnvironment:
			row.Key += "-" + v.Environment
		case runners.ScopeRunner:
			row.Key += "-" + v.RunnerID
			if v.RunnerName == nil {
				row.Label = "runner " + n.runner(v.RunnerID)
			}
		}
		if !runners.AssetWriteOnly(a.Type) {
			row.Shown = shownValue(v.Value)
		}
		d.Values = append(d.Values, row)
	}
	if d.CanAuthor {
		d.Forms = valueForms(n)
	}
	con.show(c, status, "asset", page{Title: "Asset " + a.Name, Error: msg, Data: d})
}

// shownValue is a text, integer or boolean value as people read it: a
// string without its quotes.
func shownValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// valueForms are the set-value forms: global, an environment, a runner by name.
func valueForms(n names) []valueForm {
	envs := make([]choice, 0, len(runners.Environments))
	for _, e := range runners.Environments {
		envs = append(envs, choice{e, e})
	}
	rs := make([]choice, 0, len(n.runners))
	for _, r := range n.runners {
		rs = append(rs, choice{r.ID, r.Name + " (" + r.Environment + ")"})
	}
	slices.SortFunc(rs, func(a, b choice) int { return strings.Compare(a.Label, b.Label) })
	return []valueForm{{Scope: runners.ScopeGlobal, Label: "Global value"},
		{Scope: runners.ScopeEnvironment, Label: "Value for an environment", Choices: envs},
		{Scope: runners.ScopeRunner, Label: "Value for one runner", Choices: rs}}
}

// updateAsset saves the description (POST /assets/:name).
func (con *Console) updateAsset(c *gin.Context) {
	desc := strings.TrimSpace(c.PostForm("description"))
	a, err := call[runners.Asset](c, con, runners.SubjectAssetUpdate, runners.UpdateAssetRequest{Name: c.Param("name"), Description: &desc})
	if err != nil {
		con.showAsset(c, statusOf(err), con.inline(c, err), &desc)
		return
	}
	redirect(c, assetPath(a.Name)+"?flash=asset_updated")
}

// postedScope is the scope a value form or a value's delete button names.
func postedScope(c *gin.Context) runners.AssetValueRequest {
	r := runners.AssetValueRequest{Name: c.Param("name"), Scope: c.PostForm("scope")}
	switch r.Scope {
	case runners.ScopeEnvironment:
		r.Environment = c.PostForm("environment")
	case runners.ScopeRunner:
		r.RunnerID = c.PostForm("runner_id")
	}
	return r
}

// typedValue is the JSON value of type typ from the posted value form. Its
// errors never quote what was typed: it may be a secret.
func typedValue(c *gin.Context, typ string) (json.RawMessage, error) {
	var v any
	switch typ {
	case runners.AssetInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(c.PostForm("value")), 10, 64)
		if err != nil {
			return nil, errs.E(errs.InvalidArgument, "an integer value must be a whole number within 64 bits")
		}
		v = n
	case runners.AssetBoolean:
		b, err := strconv.ParseBool(c.PostForm("value"))
		if err != nil {
			return nil, errs.E(errs.InvalidArgument, "a boolean value must be true or false")
		}
		v = b
	case runners.AssetCredential:
		v = runners.Credential{Username: c.PostForm("username"), Password: c.PostForm("password")}
	default: // text and secret
		v = c.PostForm("value")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "encode the value", err)
	}
	return raw, nil
}

// setAssetValue sets one scope's value (POST /assets/:name/values). The
// value is never logged, echoed or put in the redirect.
func (con *Console) setAssetValue(c *gin.Context) {
	a, err := call[runners.Asset](c, con, runners.SubjectAssetGet, runners.AssetRequest{Name: c.Param("name")})
	if err != nil {
		con.fail(c, err)
		return
	}
	value, err := typedValue(c, a.Type)
	if err == nil {
		_, err = call[runners.Asset](c, con, runners.SubjectAssetValueSet,
			runners.SetAssetValueRequest{AssetValueRequest: postedScope(c), Value: value})
	}
	con.afterValueChange(c, err, "asset_value_set")
}

// deleteAssetValue deletes one scope's value (POST /assets/:name/values/delete).
func (con *Console) deleteAssetValue(c *gin.Context) {
	_, err := call[runners.Asset](c, con, runners.SubjectAssetValueDelete, postedScope(c))
	con.afterValueChange(c, err, "asset_value_deleted")
}

// afterValueChange goes back to the asset with flash, or shows it with err.
func (con *Console) afterValueChange(c *gin.Context, err error, flash string) {
	if err != nil {
		con.showAsset(c, statusOf(err), con.inline(c, err), nil)
		return
	}
	redirect(c, assetPath(c.Param("name"))+"?flash="+flash)
}

// confirmAssetDelete asks before an asset is deleted (GET /assets/:name/delete).
func (con *Console) confirmAssetDelete(c *gin.Context) {
	a, err := call[runners.Asset](c, con, runners.SubjectAssetGet, runners.AssetRequest{Name: c.Param("name")})
	if err != nil {
		con.fail(c, err)
		return
	}
	con.show(c, http.StatusOK, "asset_delete", page{Title: "Delete asset", Data: a})
}

// deleteAsset deletes the asset and its values (POST /assets/:name/delete).
func (con *Console) deleteAsset(c *gin.Context) {
	_, err := call[runners.AssetDeleted](c, con, runners.SubjectAssetDelete, runners.AssetRequest{Name: c.Param("name")})
	if err != nil && !errs.Is(err, errs.NotFound) {
		con.showAsset(c, statusOf(err), con.inline(c, err), nil)
		return
	}
	redirect(c, "/assets?flash=asset_deleted")
}
