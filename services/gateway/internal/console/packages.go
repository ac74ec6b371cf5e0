package console

import (
	"net/http"
	"net/url"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// packagesPageSize is how many packages one page of the table shows.
const packagesPageSize = 50

type packagesData struct {
	Name       string // the package whose versions are shown; "" for the latest of each
	Rows       []packageRow
	Next       string // link to the next page; "" on the last
	First      string // link back to the first page while paging
	CanPublish bool   // DEVELOPER or ADMIN: offer the publish form
	HasAssets  bool   // a version shown declares assets: the table names them
}

// packageRow is one package version with its cells formatted.
type packageRow struct {
	runners.Package
	SHA256Short string // the first 12 characters of the hash
	Size        string // "1.5 KiB"
}

func newPackageRow(p runners.Package) packageRow {
	return packageRow{Package: p, SHA256Short: p.SHA256[:min(len(p.SHA256), 12)], Size: humanBytes(p.SizeBytes)}
}

func (con *Console) canPublish(c *gin.Context) bool {
	p := con.principal(c)
	return p != nil && identity.RoleAtLeast(p.User.Role, identity.RoleDeveloper)
}

// packagesPage lists the latest version of each package (GET /packages).
func (con *Console) packagesPage(c *gin.Context) {
	cursor := c.Query("cursor")
	list, err := call[runners.ListPackagesResponse](c, con, runners.SubjectPackageList,
		runners.ListPackagesRequest{Limit: packagesPageSize, Cursor: cursor})
	status, msg := http.StatusOK, ""
	switch {
	case err == nil:
	case errs.Is(err, errs.InvalidArgument):
		status, msg = statusOf(err), con.inline(c, err)
	default:
		con.fail(c, err)
		return
	}
	d := packagesData{CanPublish: con.canPublish(c)}
	for _, p := range list.Items {
		d.Rows = append(d.Rows, newPackageRow(p))
	}
	if list.NextCursor != "" {
		d.Next = "/packages?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	if cursor != "" {
		d.First = "/packages"
	}
	con.show(c, status, "packages", page{Title: "Packages", Error: msg, Data: d})
}

// packageVersions lists every version of one package (GET /packages/:name).
func (con *Console) packageVersions(c *gin.Context) {
	name := c.Param("name")
	vs, err := call[runners.PackageVersions](c, con, runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: name})
	if err != nil {
		con.fail(c, err)
		return
	}
	d := packagesData{Name: name, CanPublish: con.canPublish(c)}
	for _, p := range vs.Items {
		d.Rows = append(d.Rows, newPackageRow(p))
		d.HasAssets = d.HasAssets || len(p.Assets) > 0
	}
	con.show(c, http.StatusOK, "packages", page{Title: "Package " + name, Data: d})
}
