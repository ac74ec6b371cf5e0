package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/gin-gonic/gin"
)

// PackageFormField is the multipart field that carries the package zip.
const PackageFormField = "package"

// multipartOverhead is what a multipart body may hold beyond the package:
// boundaries, part headers and small fields.
const multipartOverhead = 64 << 10

func (s *Server) packageMaxBytes() int64 {
	if s.PackageMaxBytes > 0 {
		return s.PackageMaxBytes
	}
	return pkgstore.DefaultMaxBytes
}

func (s *Server) packageStore() (*pkgstore.Store, error) {
	if s.Packages == nil {
		return nil, errs.E(errs.Unavailable, "the package store is not available on this gateway")
	}
	return s.Packages, nil
}

// publishPackage streams the multipart field "package" into a temporary
// file (hashing it, never holding it in memory), validates the zip and its
// manifest, stores the bytes under their SHA-256 and has the runners
// service record the version. The route is exempt from the gateway-wide
// body limit; this handler enforces PackageMaxBytes itself.
func (s *Server) publishPackage(c *gin.Context) error {
	store, err := s.packageStore()
	if err != nil {
		return err
	}
	limit := s.packageMaxBytes()
	if c.Request.ContentLength > limit+multipartOverhead {
		return errs.Ef(errs.PayloadTooLarge, "the package exceeds %d bytes", limit)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+multipartOverhead)
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "multipart/form-data" {
		return errs.E(errs.InvalidArgument, `Content-Type must be multipart/form-data with the zip in the field "package"`)
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return errs.Wrap(errs.InvalidArgument, "the multipart body cannot be read", err)
	}
	var spooled *pkgstore.Spooled
	defer func() { spooled.Close() }()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return errs.Ef(errs.PayloadTooLarge, "the package exceeds %d bytes", limit)
			}
			return errs.Wrap(errs.InvalidArgument, "the multipart body cannot be read", err)
		}
		if part.FormName() != PackageFormField {
			_, err := io.Copy(io.Discard, io.LimitReader(part, multipartOverhead)) // small extra fields are ignored
			part.Close()
			if err != nil {
				return errs.Wrap(errs.InvalidArgument, "the multipart body cannot be read", err)
			}
			continue
		}
		if spooled != nil {
			part.Close()
			return errs.E(errs.InvalidArgument, `the body holds more than one "package" field`)
		}
		spooled, err = pkgstore.Spool(part, "", limit)
		part.Close()
		if err != nil {
			return err
		}
	}
	if spooled == nil {
		return errs.E(errs.InvalidArgument, `the body holds no "package" field with the zip`)
	}
	m, err := pkgstore.ValidateZip(spooled.File, spooled.Size, pkgstore.Limits{MaxBytes: limit})
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	// A version that exists is refused before its bytes are stored; the
	// record below refuses it again should two publishes race.
	_, err = natsrpc.Call[runners.Package](ctx, s.NATS, runners.SubjectPackageGet, runners.PackageRequest{Name: m.Name, Version: m.Version})
	switch {
	case err == nil:
		return errs.Ef(errs.Conflict, "package %q version %q is already published; packages are immutable, publish a new version", m.Name, m.Version)
	case !errs.Is(err, errs.NotFound):
		return err
	}
	if err := spooled.Rewind(); err != nil {
		return fmt.Errorf("rewind package: %w", err)
	}
	if err := store.Put(ctx, spooled.SHA256, spooled.Size, spooled.File); err != nil {
		return err
	}
	req := runners.RecordPackageRequest{Name: m.Name, Version: m.Version, SHA256: spooled.SHA256, SizeBytes: spooled.Size,
		Entrypoint: m.Entrypoint, Parameters: m.Parameters, Assets: m.Assets}
	return forward(c, s, runners.SubjectPackageRecord, req, http.StatusCreated)
}

func (s *Server) listPackages(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	return forward(c, s, runners.SubjectPackageList,
		runners.ListPackagesRequest{Limit: limit, Cursor: c.Query("cursor")}, http.StatusOK)
}

func (s *Server) packageVersions(c *gin.Context) error {
	return forward(c, s, runners.SubjectPackageVersions,
		runners.PackageVersionsRequest{Name: c.Param("name")}, http.StatusOK)
}

// downloadPackage streams a package to a runner that holds a job of it.
func (s *Server) downloadPackage(c *gin.Context) error {
	creds, err := runnerCredentials(c)
	if err != nil {
		return err
	}
	store, err := s.packageStore()
	if err != nil {
		return err
	}
	name, version := c.Param("name"), c.Param("version")
	req := runners.PackageAccessRequest{AgentRequest: runners.AgentRequest{Credentials: creds,
		Protocol: c.GetHeader(runners.HeaderProtocol), UserAgent: c.GetHeader(runners.HeaderUserAgent)}, Name: name, Version: version}
	acc, err := natsrpc.Call[runners.PackageAccess](c.Request.Context(), s.NATS, runners.SubjectPackageAccess, req)
	if err != nil {
		return err
	}
	obj, err := store.Get(c.Request.Context(), acc.SHA256)
	if err != nil {
		return err
	}
	defer obj.Close()
	c.DataFromReader(http.StatusOK, obj.Size, "application/zip", obj, map[string]string{
		"Content-Disposition":   fmt.Sprintf(`attachment; filename="%s-%s.zip"`, name, version),
		"ETag":                  `"` + acc.SHA256 + `"`,
		"Exekra-Package-Sha256": acc.SHA256,
	})
	return nil
}
