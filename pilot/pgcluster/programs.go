package pgcluster

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/exekra/hub/pilot/programs"
)

// DebianRoot holds Debian's versioned PostgreSQL installations
// (/usr/lib/postgresql/<version>/bin), which are not on PATH.
const DebianRoot = "/usr/lib/postgresql"

// Programs are initdb and postgres of one PostgreSQL installation.
type Programs struct {
	Initdb   string
	Postgres string
}

// FindPrograms looks for initdb on pathList (taking postgres from the same
// installation), then in the highest version under debianRoot, then for both
// programs anywhere on pathList.
func FindPrograms(pathList, debianRoot string) (Programs, error) {
	if initdb, err := programs.Find("initdb", pathList); err == nil {
		if p, ok := fromDir(filepath.Dir(resolve(initdb))); ok {
			return p, nil
		}
	}
	for _, dir := range versionDirs(debianRoot) {
		if p, ok := fromDir(dir); ok {
			return p, nil
		}
	}
	initdb, err := programs.Find("initdb", pathList)
	if err != nil {
		return Programs{}, missing("initdb", debianRoot)
	}
	postgres, err := programs.Find("postgres", pathList)
	if err != nil {
		return Programs{}, missing("postgres", debianRoot)
	}
	return Programs{Initdb: initdb, Postgres: postgres}, nil
}

func missing(program, debianRoot string) error {
	return fmt.Errorf("PostgreSQL program %s not found on PATH or in %s/<version>/bin: "+
		"install PostgreSQL (apt-get install postgresql) or set database.url (EXEKRA_DATABASE_URL) to an existing server",
		program, debianRoot)
}

// fromDir returns the programs when dir holds both.
func fromDir(dir string) (Programs, bool) {
	initdb, ok1 := programs.InDir(dir, "initdb")
	postgres, ok2 := programs.InDir(dir, "postgres")
	return Programs{Initdb: initdb, Postgres: postgres}, ok1 && ok2
}

func resolve(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// versionDirs lists root/<version>/bin, highest version first.
func versionDirs(root string) []string {
	matches, _ := filepath.Glob(filepath.Join(root, "*", "bin"))
	slices.SortFunc(matches, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	return matches
}

// compareVersions orders "9.6" < "15" < "16.1"; non-numeric parts count as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
