package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// sbom writes one CycloneDX JSON SBOM for a release file holding programs
// (built for p in bin): cyclonedx-gomod describes each program from the build
// information inside it; their components and dependencies are merged, sorted,
// under one component for the release file. No serial number; the timestamp
// is SOURCE_DATE_EPOCH.
func (r *release) sbom(path, product, bin string, p platform, programs []string) error {
	tool, err := r.cyclonedxGomod()
	if err != nil {
		return err
	}
	merged := newBOM(product, r.version, r.epoch)
	for _, name := range programs {
		part := filepath.Join(r.work, "sbom-"+p.os+"-"+p.arch+"-"+name+".json")
		cmd := exec.Command(tool, "bin", "-json", "-noserial", "-notimestamp", "-version", r.version,
			"-output", part, filepath.Join(bin, p.exe(name)))
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cyclonedx-gomod bin %s: %w", name, err)
		}
		bom, err := readBOM(part)
		if err != nil {
			return err
		}
		merged.add(bom)
	}
	return merged.write(path)
}

// cyclonedxGomod builds the pinned cyclonedx-gomod (a tool of this module)
// into the scratch dir once and returns its path.
func (r *release) cyclonedxGomod() (string, error) {
	tool := filepath.Join(r.work, "cyclonedx-gomod")
	if _, err := os.Stat(tool); err == nil {
		return tool, nil
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", tool, "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod")
	cmd.Dir = filepath.Join(r.root, "deploy", "dist")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build cyclonedx-gomod: %w", err)
	}
	return tool, nil
}

// mergedBOM collects the programs' SBOMs under one release file component.
type mergedBOM struct {
	bom        *cdx.BOM
	components map[string]cdx.Component
	deps       map[string]map[string]bool
}

func newBOM(product, version string, epoch time.Time) *mergedBOM {
	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{
		Timestamp: epoch.Format(time.RFC3339),
		Component: &cdx.Component{
			BOMRef: "pkg:generic/" + product + "@" + version, Type: cdx.ComponentTypeApplication,
			Name: product, Version: version,
		},
	}
	return &mergedBOM{bom: bom, components: map[string]cdx.Component{}, deps: map[string]map[string]bool{}}
}

func readBOM(path string) (*cdx.BOM, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open SBOM: %w", err)
	}
	defer f.Close()
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(f, cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("read SBOM %s: %w", path, err)
	}
	return &bom, nil
}

// add merges one program's SBOM: its main component becomes a component the
// release file depends on.
func (m *mergedBOM) add(bom *cdx.BOM) {
	if m.bom.Metadata.Tools == nil && bom.Metadata != nil {
		m.bom.Metadata.Tools = bom.Metadata.Tools
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		main := *bom.Metadata.Component
		m.components[main.BOMRef] = main
		m.depend(m.bom.Metadata.Component.BOMRef, main.BOMRef)
	}
	if bom.Components != nil {
		for _, c := range *bom.Components {
			m.components[c.BOMRef] = c
		}
	}
	if bom.Dependencies != nil {
		for _, d := range *bom.Dependencies {
			m.depend(d.Ref)
			if d.Dependencies != nil {
				m.depend(d.Ref, *d.Dependencies...)
			}
		}
	}
}

func (m *mergedBOM) depend(ref string, on ...string) {
	if m.deps[ref] == nil {
		m.deps[ref] = map[string]bool{}
	}
	for _, o := range on {
		m.deps[ref][o] = true
	}
}

// write encodes the merged SBOM with components and dependencies sorted by reference.
func (m *mergedBOM) write(path string) error {
	comps := make([]cdx.Component, 0, len(m.components))
	for _, c := range m.components {
		comps = append(comps, c)
	}
	slices.SortFunc(comps, func(a, b cdx.Component) int { return cmp.Compare(a.BOMRef, b.BOMRef) })
	deps := make([]cdx.Dependency, 0, len(m.deps))
	for ref, on := range m.deps {
		list := make([]string, 0, len(on))
		for o := range on {
			list = append(list, o)
		}
		slices.Sort(list)
		deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &list})
	}
	slices.SortFunc(deps, func(a, b cdx.Dependency) int { return cmp.Compare(a.Ref, b.Ref) })
	m.bom.Components, m.bom.Dependencies = &comps, &deps
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	enc := cdx.NewBOMEncoder(f, cdx.BOMFileFormatJSON).SetPretty(true)
	if err := enc.Encode(m.bom); err != nil {
		f.Close()
		return fmt.Errorf("write SBOM %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
