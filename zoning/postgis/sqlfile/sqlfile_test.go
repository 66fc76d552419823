package sqlfile_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/riskzone/riskzone/zoning/postgis/sqlfile"
)

// A Set answers each sql/NAME.sql by NAME, and only those files.
func TestSetReadsByName(t *testing.T) {
	s := sqlfile.Must("demo", fstest.MapFS{
		"sql/one.sql":     {Data: []byte("SELECT 1")},
		"sql/two.sql":     {Data: []byte("SELECT 2")},
		"sql/notes.txt":   {Data: []byte("not SQL")},
		"other/three.sql": {Data: []byte("SELECT 3")},
	})
	if s.Query("one") != "SELECT 1" || s.Query("two") != "SELECT 2" {
		t.Fatalf("one: %q, two: %q", s.Query("one"), s.Query("two"))
	}
	names := s.Names()
	slices.Sort(names)
	if !slices.Equal(names, []string{"one", "two"}) {
		t.Fatalf("names %v, want [one two]", names)
	}
}

// A name without a file, and a package without SQL files, panic with the
// package and the name.
func TestSetPanicsOnMistakes(t *testing.T) {
	panics := func(what string, f func()) string {
		t.Helper()
		var msg string
		func() {
			defer func() {
				if r := recover(); r != nil {
					msg, _ = r.(string)
				}
			}()
			f()
		}()
		if msg == "" {
			t.Fatalf("%s: no panic", what)
		}
		return msg
	}
	s := sqlfile.Must("demo", fstest.MapFS{"sql/one.sql": {Data: []byte("SELECT 1")}})
	if msg := panics("a missing name", func() { s.Query("onee") }); !strings.Contains(msg, "demo") || !strings.Contains(msg, "onee") {
		t.Fatalf("missing name: %q", msg)
	}
	if msg := panics("no files", func() { sqlfile.Must("empty", fstest.MapFS{}) }); !strings.Contains(msg, "empty") {
		t.Fatalf("no files: %q", msg)
	}
}
