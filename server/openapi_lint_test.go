package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// redoclyCLI is the linter of web/package.json (installed by make web).
var redoclyCLI = filepath.Join("..", "web", "node_modules", "@redocly", "cli", "bin", "cli.js")

// stylishError is an error line of redocly's stylish format:
// "  12:5   error    security-defined   Every operation ...".
var stylishError = regexp.MustCompile(`(?m)^\s*\d+:\d+\s+error\s+.*$`)

// lintOpenAPI runs `redocly lint` on doc and answers its error lines, its
// output and whether it exited with success.
func lintOpenAPI(t *testing.T, doc []byte) (errs []string, out string, ok bool) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is missing (make deps installs it): %v", err)
	}
	if _, err := os.Stat(redoclyCLI); err != nil {
		t.Fatalf("@redocly/cli is missing: run make web (npm ci in web/): %v", err)
	}
	cli, err := filepath.Abs(redoclyCLI)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "openapi.json")
	// Indented, so that the linter's line:column name a line.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, doc, "", "  "); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	if err := os.WriteFile(file, pretty.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, cli, "lint", "--format=stylish", file)
	// In its own folder (no redocly.yaml: the recommended rules), offline.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1", "FORCE_COLOR=0")
	b, err := cmd.CombinedOutput()
	out = string(b)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run redocly lint: %v\n%s", err, out)
		}
	}
	return stylishError.FindAllString(out, -1), out, err == nil
}

// restrictedCollectionIDs are the collections only some roles may read.
func restrictedCollectionIDs() []string {
	var ids []string
	for _, c := range postgis.Collections() {
		if c.Restricted {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// The OGC API's OpenAPI document, as served to the public and to an expert
// (who also sees the restricted collections), passes `redocly lint` (the
// recommended rules) with zero errors, and declares its security: bearer
// (API token) and cookie (session) schemes, security [] on what anyone may
// call, a scheme on what needs a login.
func TestOpenAPILint(t *testing.T) {
	// The linter finds errors: a document without security or summaries.
	t.Run("linter-fails", func(t *testing.T) {
		bad := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok"}}}}}}`
		errs, out, ok := lintOpenAPI(t, []byte(bad))
		if ok || len(errs) == 0 {
			t.Fatalf("redocly lint found no error in a document without security (exit ok %v):\n%s", ok, out)
		}
	})
	store := pgtest.NewStore(t)
	// A public address, as in production (the request's Host is example.com).
	srv := New(Config{Public: PublicConfig{BaseURL: "https://riskzone.test"}}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	u, err := store.CreateUser(ctx, zoning.Origin{Actor: zoning.CLI()}, zoning.NewUser{Username: "lint-expert", Role: zoning.RoleExpert, DisplayName: "lint"})
	if err != nil {
		t.Fatal(err)
	}
	tok, prefix, err := zoning.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAPIToken(ctx, zoning.Origin{Actor: zoning.CLI()}, u.ID, "lint", prefix, zoning.HashSecret(tok), nil); err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		name       string
		header     http.Header
		restricted bool // restricted collections are in the document
	}{
		{"anonymous", nil, false},
		{"expert", http.Header{"Authorization": {"Bearer " + tok}}, true},
	} {
		t.Run(who.name, func(t *testing.T) {
			rec := serve(srv, "GET", "/ogc/api", "", who.header, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /ogc/api: %d %s", rec.Code, rec.Body)
			}
			doc := rec.Body.Bytes()
			checkOpenAPISecurity(t, doc, who.restricted)
			errs, out, ok := lintOpenAPI(t, doc)
			if len(errs) > 0 || !ok {
				t.Fatalf("redocly lint: %d errors:\n%s\n\n%s", len(errs), strings.Join(errs, "\n"), out)
			}
			if !strings.Contains(out, "valid") {
				t.Fatalf("redocly lint did not say the document is valid:\n%s", out)
			}
			t.Logf("redocly lint:\n%s", out)
			checkRestrictedPaths(t, srv, doc, who.header)
		})
	}
}

// checkOpenAPISecurity checks the declared schemes and the security of
// every operation against what the routes do: the landing page and the
// conformance declaration are public (security []), the public collections'
// operations too; a restricted collection's operations need a token or a
// session (never {}, anonymous); /api and /collections take an optional
// login (they list the restricted collections a signed-in caller may read).
func checkOpenAPISecurity(t *testing.T, raw []byte, restricted bool) {
	t.Helper()
	var doc struct {
		Components struct {
			SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			Security *[]map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decode the OpenAPI document: %v", err)
	}
	bearer, cookie := false, false
	for name, s := range doc.Components.SecuritySchemes {
		switch {
		case s["type"] == "http" && s["scheme"] == "bearer":
			bearer = true
		case s["type"] == "apiKey" && s["in"] == "cookie" && s["name"] == sessionCookieName:
			cookie = true
		default:
			t.Errorf("security scheme %s: %v", name, s)
		}
	}
	if !bearer || !cookie {
		t.Errorf("security schemes %v: want an HTTP bearer and a cookie %s scheme", doc.Components.SecuritySchemes, sessionCookieName)
	}
	sawRestricted := false
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.Security == nil {
				t.Errorf("%s %s declares no security", method, path)
				continue
			}
			sec := *op.Security
			anonymous := len(sec) == 0
			for _, req := range sec {
				if len(req) == 0 {
					anonymous = true
				}
				for scheme := range req {
					if _, ok := doc.Components.SecuritySchemes[scheme]; !ok {
						t.Errorf("%s %s names scheme %s, not declared", method, path, scheme)
					}
				}
			}
			isRestricted := false
			for _, id := range restrictedCollectionIDs() {
				if strings.HasPrefix(path+"/", "/collections/"+id+"/") {
					isRestricted = true
				}
			}
			switch {
			case isRestricted:
				sawRestricted = true
				if anonymous || len(sec) == 0 {
					t.Errorf("%s %s (restricted) allows anonymous callers: %v", method, path, sec)
				}
			case path == "/" || path == "/conformance" || strings.HasPrefix(path, "/collections/{collectionId}"):
				if len(sec) != 0 {
					t.Errorf("%s %s (public) security %v: want []", method, path, sec)
				}
			case !anonymous:
				t.Errorf("%s %s needs a login, but anyone may call it: %v", method, path, sec)
			}
		}
	}
	if sawRestricted != restricted {
		t.Errorf("restricted collections in the document: %v, want %v", sawRestricted, restricted)
	}
}

// checkRestrictedPaths sends each restricted collection's path of the
// document (no path parameter) with the caller's credentials (200) and
// without (404, as an unknown collection): the declared login is the one
// the route needs.
func checkRestrictedPaths(t *testing.T, srv *Server, raw []byte, header http.Header) {
	t.Helper()
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path := range doc.Paths {
		if strings.Contains(path, "{") || !slices.ContainsFunc(restrictedCollectionIDs(), func(id string) bool {
			return strings.HasPrefix(path+"/", "/collections/"+id+"/")
		}) {
			continue
		}
		if rec := serve(srv, "GET", "/ogc"+path, "", header, ""); rec.Code != http.StatusOK {
			t.Errorf("GET /ogc%s with the login: %d %s", path, rec.Code, rec.Body)
		}
		if rec := serve(srv, "GET", "/ogc"+path, "", nil, ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET /ogc%s anonymously: %d, want 404", path, rec.Code)
		}
	}
}
