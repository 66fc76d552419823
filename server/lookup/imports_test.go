package lookup_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The index and the address parser are pure: no file of the package or
// of lookuptest imports HTTP, echo, fasthttp, pgx or the store.
func TestNoHTTPNoSQL(t *testing.T) {
	// Each banned path with the packages under it; server alone (its
	// subpackages are free).
	banned := []string{"net/http", "github.com/labstack/echo", "github.com/valyala/fasthttp", "github.com/jackc/pgx",
		"github.com/riskzone/riskzone/zoning/postgis"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("lookuptest/*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			bad := path == "github.com/riskzone/riskzone/server"
			for _, b := range banned {
				bad = bad || path == b || strings.HasPrefix(path, b+"/")
			}
			if bad {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
