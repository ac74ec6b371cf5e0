package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

const (
	hubHome       = "/opt/exekra/hub"
	runnerHome    = "/opt/exekra/runner"
	unitDir       = "/lib/systemd/system"
	maintainer    = "Exekra <support@exekra.com>"
	homepage      = "https://github.com/exekra/hub"
	runnerUnitBin = "/usr/local/bin/exekra-runner" // where deploy/systemd/exekra-runner.service runs the agent from
)

// debs writes the Debian packages of the Hub and of the agent (amd64), with an
// SBOM each, and returns the names of the files written.
func (r *release) debs() ([]string, error) {
	p := platform{"linux", "amd64"}
	bin := r.bins[p]
	hub, err := r.hubPackage(bin)
	if err != nil {
		return nil, err
	}
	runner, err := r.runnerPackage(bin)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, pkg := range []struct {
		info     *nfpm.Info
		programs []string
	}{{hub, hubPrograms(r.packages)}, {runner, []string{runnerProgram}}} {
		base := fmt.Sprintf("%s_%s_%s", pkg.info.Name, r.version, p.arch)
		if err := r.writeDeb(filepath.Join(r.out, base+".deb"), pkg.info); err != nil {
			return nil, err
		}
		if err := r.sbom(filepath.Join(r.out, base+".cdx.json"), pkg.info.Name, bin, p, pkg.programs); err != nil {
			return nil, err
		}
		written = append(written, base+".deb", base+".cdx.json")
	}
	return written, nil
}

// hubPackage: the Hub's programs in /opt/exekra/hub/bin, its default settings
// as a kept config file, writable config/, logs/, var/, runtime/ (the bundled
// Redis) owned by exekra, the systemd units, the docs.
func (r *release) hubPackage(bin string) (*nfpm.Info, error) {
	cfg, err := r.defaultConfig()
	if err != nil {
		return nil, err
	}
	var c files.Contents
	for _, name := range hubPrograms(r.packages) {
		c = append(c, r.file(filepath.Join(bin, name), hubHome+"/bin/"+name, "", 0o755, "root"))
	}
	// exekractl on PATH, for the backup, restore and audit commands docs/operations.md gives.
	c = append(c, &files.Content{Source: hubHome + "/bin/exekractl", Destination: "/usr/bin/exekractl", Type: files.TypeSymlink,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o777, MTime: r.epoch}})
	c = append(c, r.file(cfg, hubHome+"/config/hub-config.json", files.TypeConfigNoReplace, 0o640, "exekra"))
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"config", 0o755}, {"logs", 0o750}, {"var", 0o755}, {"runtime", 0o755}} {
		c = append(c, &files.Content{Destination: hubHome + "/" + d.name, Type: files.TypeDir,
			FileInfo: &files.ContentFileInfo{Owner: "exekra", Group: "exekra", Mode: d.mode | os.ModeDir, MTime: r.epoch}})
	}
	for _, unit := range []string{"exekra-hub.service", "exekra@.service"} {
		c = append(c, r.file(filepath.Join(r.root, "deploy/systemd", unit), unitDir+"/"+unit, "", 0o644, "root"))
	}
	docs, err := r.globEntries("docs/*.md", "docs")
	if err != nil {
		return nil, err
	}
	docs = append(docs, entry{name: "README.md", src: filepath.Join(r.root, "README.md")},
		entry{name: "CHANGELOG.md", src: filepath.Join(r.root, "CHANGELOG.md")})
	for _, d := range docs {
		c = append(c, r.file(d.src, "/usr/share/doc/exekra-hub/"+d.name, "", 0o644, "root"))
	}
	info := r.debInfo("exekra-hub", "Exekra Hub: the control plane for automation runners (all-in-one pilot)", c)
	// The pilot's private PostgreSQL and bundled Redis; the enterprise layout brings its own.
	info.Recommends = []string{"postgresql", "redis-server"}
	info.Scripts = r.scripts("hub-preinst.sh", "hub-postinst.sh", "hub-prerm.sh")
	return info, nil
}

// runnerPackage: the agent in /opt/exekra/runner/bin, its settings under
// /etc/exekra-runner as a kept config file, the systemd unit of
// deploy/systemd run from /opt/exekra/runner/bin.
func (r *release) runnerPackage(bin string) (*nfpm.Info, error) {
	unit, err := os.ReadFile(filepath.Join(r.root, "deploy/systemd/exekra-runner.service"))
	if err != nil {
		return nil, fmt.Errorf("runner unit: %w", err)
	}
	if !strings.Contains(string(unit), "ExecStart="+runnerUnitBin) {
		return nil, fmt.Errorf("runner unit: no ExecStart=%s to point at %s", runnerUnitBin, runnerHome)
	}
	packaged := filepath.Join(r.work, "exekra-runner.service")
	body := strings.ReplaceAll(string(unit), runnerUnitBin, runnerHome+"/bin/"+runnerProgram)
	if err := os.WriteFile(packaged, []byte(body), 0o644); err != nil {
		return nil, fmt.Errorf("runner unit: %w", err)
	}
	c := files.Contents{
		r.file(filepath.Join(bin, runnerProgram), runnerHome+"/bin/"+runnerProgram, "", 0o755, "root"),
		r.file(filepath.Join(r.root, "deploy/dist/deb/runner.json"), "/etc/exekra-runner/runner.json", files.TypeConfigNoReplace, 0o644, "root"),
		r.file(packaged, unitDir+"/exekra-runner.service", "", 0o644, "root"),
		r.file(filepath.Join(r.root, "README.md"), "/usr/share/doc/exekra-runner/README.md", "", 0o644, "root"),
		r.file(filepath.Join(r.root, "CHANGELOG.md"), "/usr/share/doc/exekra-runner/CHANGELOG.md", "", 0o644, "root"),
	}
	info := r.debInfo("exekra-runner", "Exekra Runner agent: runs automation jobs for an Exekra Hub", c)
	info.Scripts = r.scripts("", "runner-postinst.sh", "runner-prerm.sh")
	return info, nil
}

// file is one packaged file owned by root with group group.
func (r *release) file(src, dst, typ string, mode os.FileMode, group string) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: typ,
		FileInfo: &files.ContentFileInfo{Owner: "root", Group: group, Mode: mode, MTime: r.epoch}}
}

func (r *release) debInfo(name, description string, c files.Contents) *nfpm.Info {
	return &nfpm.Info{
		Name: name, Arch: "amd64", Platform: "linux", Version: r.version, Section: "admin", Priority: "optional",
		Maintainer: maintainer, Description: description, Vendor: "Exekra", Homepage: homepage,
		MTime: r.epoch, Overridables: nfpm.Overridables{Contents: c},
	}
}

// scripts are the maintainer scripts of deploy/dist/deb; "" is none.
func (r *release) scripts(preinst, postinst, prerm string) nfpm.Scripts {
	path := func(name string) string {
		if name == "" {
			return ""
		}
		return filepath.Join(r.root, "deploy/dist/deb", name)
	}
	return nfpm.Scripts{PreInstall: path(preinst), PostInstall: path(postinst), PreRemove: path(prerm), PostRemove: path("postrm.sh")}
}

func (r *release) writeDeb(path string, info *nfpm.Info) error {
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return fmt.Errorf("deb packager: %w", err)
	}
	info = nfpm.WithDefaults(info)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		return fmt.Errorf("package %s: %w", info.Name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
