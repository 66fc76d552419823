package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// The HTML side of /ogc is deliberately plain: a browser gets the same
// documents as a table of links and a readable JSON body, and item pages
// as a table; no script runs.

var ogcTemplates = template.Must(template.New("doc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · riskzone OGC API</title><link rel="stylesheet" href="/static/site.css"></head>
<body><main>
<p><a href="{{.Base}}?f=html">riskzone OGC API - Features</a> · <a href="{{.Base}}/collections?f=html">collections</a> · <a href="{{.Base}}/api.html">API</a></p>
<h1>{{.Title}}</h1>
{{if .Links}}<ul>{{range .Links}}<li><a href="{{.Href}}">{{if .Title}}{{.Title}}{{else}}{{.Rel}}{{end}}</a> <small>({{.Rel}}{{if .Type}}, {{.Type}}{{end}})</small></li>{{end}}</ul>{{end}}
{{if .Collections}}<table><thead><tr><th>id</th><th>title</th><th>description</th></tr></thead><tbody>
{{range .Collections}}<tr><td><a href="{{$.Base}}/collections/{{.ID}}/items?f=html">{{.ID}}</a></td><td>{{.Title}}</td><td>{{.Description}}</td></tr>{{end}}
</tbody></table>{{end}}
{{if .Columns}}<p>{{.Matched}} features match; this page shows {{.Returned}}.</p>
<table><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range $i, $v := .}}<td>{{if eq $i 0}}<a href="{{$.ItemBase}}/{{$v}}?f=html">{{$v}}</a>{{else}}{{$v}}{{end}}</td>{{end}}</tr>{{end}}
</tbody></table>{{end}}
{{if .JSON}}<pre>{{.JSON}}</pre>{{end}}
</main></body></html>`))

type ogcPage struct {
	Title       string
	Base        string
	Links       []ogcLink
	Collections []postgis.Collection
	Columns     []string
	Rows        [][]string
	ItemBase    string
	Matched     int64
	Returned    int
	JSON        string
}

func (o *ogcAPI) writeHTML(c echo.Context, pg ogcPage) error {
	var buf bytes.Buffer
	if err := ogcTemplates.Execute(&buf, pg); err != nil {
		return fmt.Errorf("render OGC page: %w", err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'none'; frame-ancestors 'self'; base-uri 'self'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// renderHTML shows a JSON document: its links, then the rest as JSON.
func (o *ogcAPI) renderHTML(c echo.Context, title string, doc any) error {
	pg := ogcPage{Title: title, Base: o.base(c)}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("render %s: %w", title, err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if ls, ok := m["links"].([]any); ok {
		for _, l := range ls {
			if lm, ok := l.(map[string]any); ok {
				s := func(k string) string { v, _ := lm[k].(string); return v }
				pg.Links = append(pg.Links, ogcLink{Href: s("href"), Rel: s("rel"), Type: s("type"), Title: s("title")})
			}
		}
		delete(m, "links")
	}
	if _, ok := m["collections"]; ok {
		pg.Collections = o.visibleAll(c)
	}
	pretty, _ := json.MarshalIndent(m, "", "  ")
	pg.JSON = string(pretty)
	return o.writeHTML(c, pg)
}

// renderItemsHTML shows a page of features as a table of their properties.
func (o *ogcAPI) renderItemsHTML(c echo.Context, coll postgis.Collection, matched int64, feats []map[string]any, links []ogcLink) error {
	pg := ogcPage{Title: coll.Title, Base: o.base(c), Links: links, ItemBase: o.base(c) + "/collections/" + coll.ID + "/items"}
	pg.Columns = []string{"id"}
	for _, p := range coll.Properties {
		pg.Columns = append(pg.Columns, p.Name)
	}
	for _, f := range feats {
		row := make([]string, len(pg.Columns))
		for i, col := range pg.Columns {
			switch v := f[col].(type) {
			case nil:
			case string:
				row[i] = v
			default:
				b, _ := json.Marshal(v)
				row[i] = string(b)
			}
		}
		pg.Rows = append(pg.Rows, row)
	}
	pg.Returned = len(feats)
	pg.Matched = matched
	return o.writeHTML(c, pg)
}

// apiDoc is the service-doc: the paths and parameters in words.
func (o *ogcAPI) apiDoc(c echo.Context) error {
	spec := o.openAPIDoc(c)
	paths, _ := spec["paths"].(map[string]any)
	names := make([]string, 0, len(paths))
	for p := range paths {
		names = append(names, p)
	}
	sort.Strings(names)
	pg := ogcPage{Title: "API documentation", Base: o.base(c), Links: []ogcLink{
		{Href: o.base(c) + "/api", Rel: "service-desc", Type: mimeOpenAPI, Title: "OpenAPI 3.0 definition"},
	}}
	var buf bytes.Buffer
	for _, p := range names {
		op, _ := paths[p].(map[string]any)["get"].(map[string]any)
		fmt.Fprintf(&buf, "GET %s\n    %v\n", p, op["summary"])
		if params, ok := op["parameters"].([]map[string]any); ok {
			for _, pa := range params {
				fmt.Fprintf(&buf, "    - %v (%v): %v\n", pa["name"], pa["in"], pa["description"])
			}
		}
		buf.WriteString("\n")
	}
	pg.JSON = buf.String()
	cacheFor(c, false)
	return o.writeHTML(c, pg)
}
