package loadgen

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
	"github.com/exekra/hub/libs/pkgstore"
)

// NoopPackage is a package zip whose entrypoint is /bin/true. The
// simulated runners never run it; it only has to be a valid package.
func NoopPackage(name, version string) ([]byte, error) {
	manifest, err := json.Marshal(pkgstore.Manifest{Name: name, Version: version, Entrypoint: []string{"/bin/true"}})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(pkgstore.ManifestName)
	if err == nil {
		_, err = w.Write(manifest)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("zip the no-op package: %w", err)
	}
	return buf.Bytes(), nil
}

// PublishNoop publishes the no-op package name at version (DEVELOPER or ADMIN).
func PublishNoop(api *hubclient.Client, name, version string) (runners.Package, error) {
	data, err := NoopPackage(name, version)
	if err != nil {
		return runners.Package{}, err
	}
	var pkg runners.Package
	if err := api.Upload("/api/v1/packages", "package", name+"-"+version+".zip", bytes.NewReader(data), &pkg); err != nil {
		return runners.Package{}, fmt.Errorf("publish package %s %s: %w", name, version, err)
	}
	return pkg, nil
}
