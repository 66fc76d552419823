package postgis_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// Every NOTIFY channel is named once in Go (channels.go): no other Go
// string literal of the repository spells one; and every channel the .sql
// files (the store's, the importer's, the migrations, test fixtures)
// notify or listen on is one of the constants.
func TestChannelsNamedOnce(t *testing.T) {
	channels := []string{postgis.LayersChannel, postgis.OutboxChannel}
	spelled := regexp.MustCompile(`riskzone_(layers|outbox)([^a-z_]|$)`)
	inSQL := regexp.MustCompile(`(?i)pg_notify\(\s*'([a-z_]+)'|\b(?:NOTIFY|LISTEN)\s+([a-z_]+)`)
	var goFiles, sqlFiles, sqlChannels int
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".." || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		switch {
		case d.IsDir():
			return nil
		case strings.HasSuffix(path, ".go"):
			goFiles++
			if filepath.Base(path) == "channels.go" && filepath.Base(filepath.Dir(path)) == "postgis" {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && spelled.MatchString(lit.Value) {
					t.Errorf("%s spells a NOTIFY channel in %s: use postgis.LayersChannel or postgis.OutboxChannel", path, lit.Value)
				}
				return true
			})
		case strings.HasSuffix(path, ".sql"):
			sqlFiles++
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(string(src), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "--") {
					continue // a comment may say NOTIFY in prose
				}
				for _, m := range inSQL.FindAllStringSubmatch(line, -1) {
					ch := m[1] + m[2]
					sqlChannels++
					if !slices.Contains(channels, ch) {
						t.Errorf("%s notifies or listens on %q, which is no channel of channels.go", path, ch)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if goFiles < 100 || sqlFiles < 10 || sqlChannels < 3 {
		t.Fatalf("walked %d Go files, %d .sql files with %d channel uses: the walk missed the repository", goFiles, sqlFiles, sqlChannels)
	}
}
