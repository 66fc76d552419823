// Package sqlfile is the one loader of the repository's SQL files: a
// package embeds its statements as sql/NAME.sql (//go:embed sql/*.sql) and
// reads them by NAME through a Set. The store (zoning/postgis), the
// importer (zoning/importer) and the tile source (tiles/pgsource) use it.
package sqlfile

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Set is the statements of one package, read once.
type Set struct {
	owner  string
	byName map[string]string
}

// Must reads every sql/*.sql file of fsys; owner names the package in
// panics. A file that cannot be read, or none at all, is a build mistake
// and panics at start, which every test of the package catches.
func Must(owner string, fsys fs.FS) Set {
	files, err := fs.Glob(fsys, "sql/*.sql")
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no sql/*.sql file")
	}
	if err != nil {
		panic(fmt.Sprintf("%s: embedded SQL: %v", owner, err))
	}
	s := Set{owner: owner, byName: make(map[string]string, len(files))}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(fmt.Sprintf("%s: embedded SQL %s: %v", owner, f, err))
		}
		s.byName[strings.TrimSuffix(path.Base(f), ".sql")] = string(b)
	}
	return s
}

// Query returns the statement of sql/NAME.sql; a name without a file is a
// programming error (a typo), caught by the tests of every caller, and
// panics.
func (s Set) Query(name string) string {
	q, ok := s.byName[name]
	if !ok {
		panic(fmt.Sprintf("%s: no embedded query %s (sql/%s.sql)", s.owner, name, name))
	}
	return q
}

// Names are the names of the statements, in no order.
func (s Set) Names() []string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	return out
}
