package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/gommon/bytes"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/importer"
)

// Geography imports over HTTP (admins only), docs/import.md:
//
//	POST /api/v1/imports      multipart/form-data: a part "file" and the
//	                          fields kind, layer, source, bbox... → 202, the
//	                          job, Location: /api/v1/imports/{id}
//	GET  /api/v1/imports/{id} the job: status, progress, summary or error
//
// The upload is spooled to a temporary file as it arrives (never held in
// memory) and capped at its own limit (RISKZONE_IMPORT_LIMIT, default 1G),
// which replaces the server-wide body limit on this one route. One import
// runs at a time per server, in the runner of server/workers/imports.go;
// up to RISKZONE_IMPORT_QUEUE (default 3) more wait their turn as queued
// jobs, and beyond that the answer is 429.
const importsPath = "/api/v1/imports"

// Defaults of the import limits, overridden by the environment.
const (
	defaultImportLimit = "1G"
	defaultImportQueue = 3
	// importFieldMax caps a form field other than the file.
	importFieldMax = 64 << 10
	// importOverhead is what a multipart body may hold beside the file.
	importOverhead = 1 << 20
)

// imports is the import service of one server.
type imports struct {
	s        *Server
	im       *importer.Importer
	maxBytes int64
	limit    string // maxBytes as configured, e.g. "1G"
	// jobs runs the accepted jobs.
	jobs *workers.Imports
}

// importBodyKey holds the upload's body, set aside from the server-wide
// body limit.
type importBodyKey struct{}

type importBody struct {
	body   io.ReadCloser
	length int64
}

func (s *Server) importRoutes() {
	limit, limitText, queued, err := importLimits()
	if err != nil {
		s.log.Error("import limits: using the defaults", "err", err)
	}
	host, _ := os.Hostname()
	im := importer.New(s.store, s.log)
	h := &imports{
		s:        s,
		im:       im,
		maxBytes: limit,
		limit:    limitText,
		jobs:     workers.NewImports(im, s.log, "http:"+host+"/"+s.cfg.Addr, queued),
	}
	s.imports = h
	s.echo.Pre(h.setAside)
	g := s.echo.Group(importsPath, requireRole(zoning.RoleAdmin))
	g.POST("", h.create)
	g.GET("/:id", h.get)
	s.onStart(h.jobs.Work)
}

// importLimits reads RISKZONE_IMPORT_LIMIT (bytes, e.g. 500M, 2G) and
// RISKZONE_IMPORT_QUEUE (jobs that may wait while one runs).
func importLimits() (int64, string, int, error) {
	def, _ := bytes.Parse(defaultImportLimit)
	v := cmp.Or(os.Getenv("RISKZONE_IMPORT_LIMIT"), defaultImportLimit)
	limit, err := bytes.Parse(v)
	if err != nil || limit <= 0 {
		return def, defaultImportLimit, defaultImportQueue, fmt.Errorf("RISKZONE_IMPORT_LIMIT=%q: want a size such as 500M or 2G", v)
	}
	queued := defaultImportQueue
	if v := os.Getenv("RISKZONE_IMPORT_QUEUE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return limit, v, defaultImportQueue, fmt.Errorf("RISKZONE_IMPORT_QUEUE=%q: want 0 to 100", v)
		}
		queued = n
	}
	return limit, v, queued, nil
}

// setAside takes the body of an upload out of reach of the server-wide body
// limit (which runs after routing): the import handler reads it with its own
// limit. The CSRF token of a cookie session must then come in the
// X-CSRF-Token header (the form is not parsed before the handler).
func (h *imports) setAside(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost && strings.TrimSuffix(r.URL.Path, "/") == importsPath {
			ib := &importBody{body: r.Body, length: r.ContentLength}
			r = r.WithContext(context.WithValue(r.Context(), importBodyKey{}, ib))
			r.Body, r.ContentLength = http.NoBody, 0
			c.SetRequest(r)
		}
		return next(c)
	}
}

func (h *imports) tooLarge() error {
	return zoning.Errorf(zoning.ErrTooLarge, "the upload is larger than the import limit of %s (%d bytes; the server's RISKZONE_IMPORT_LIMIT)",
		h.limit, h.maxBytes)
}

// create accepts an upload: it takes a queue slot (429 when none is free),
// spools the file, records the job and hands it to the worker.
func (h *imports) create(c echo.Context) error {
	noStore(c)
	ib, _ := c.Request().Context().Value(importBodyKey{}).(*importBody)
	if ib == nil {
		return zoning.Errorf(zoning.ErrInvalid, "no upload body")
	}
	if ib.length > h.maxBytes+importOverhead {
		return h.tooLarge()
	}
	mt, params, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEMultipartForm || params["boundary"] == "" {
		return zoning.Errorf(zoning.ErrInvalid, "want a multipart/form-data body with the file in a part named \"file\" and the fields kind, layer...")
	}
	if !h.jobs.Reserve() {
		c.Response().Header().Set("Retry-After", "60")
		return echo.NewHTTPError(http.StatusTooManyRequests,
			fmt.Sprintf("an import is running and %d wait already: try again when one has finished", h.jobs.Waiting()))
	}
	h.jobs.FailInterrupted(c.Request().Context())
	task, err := h.receive(c, multipart.NewReader(ib.body, params["boundary"]))
	if err == nil {
		task.ID, err = h.im.CreateJob(c.Request().Context(), task.Opts, task.Size)
	}
	if err != nil {
		h.jobs.Unreserve()
		if task != nil {
			os.Remove(task.Path)
		}
		return err
	}
	h.jobs.Enqueue(task)
	job, err := h.im.Job(c.Request().Context(), task.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("%s/%d", importsPath, task.ID))
	return c.JSON(http.StatusAccepted, job)
}

// receive reads the multipart body: the file into a temporary file, the
// other parts into the options. On error it removes what it wrote.
func (h *imports) receive(c echo.Context, mr *multipart.Reader) (task *workers.ImportTask, err error) {
	task = &workers.ImportTask{}
	defer func() {
		if err != nil && task.Path != "" {
			os.Remove(task.Path)
			task = nil
		}
	}()
	fields := map[string][]string{}
	var fileName string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return task, zoning.Errorf(zoning.ErrInvalid, "bad multipart body: %v", err)
		}
		name := part.FormName()
		if name == "file" {
			if task.Path != "" {
				return task, zoning.Errorf(zoning.ErrInvalid, "more than one part named \"file\": upload one file per import")
			}
			fileName = filepath.Base(filepath.Clean("/" + strings.ReplaceAll(part.FileName(), `\`, "/")))
			if err := h.spool(task, part); err != nil {
				return task, err
			}
			continue
		}
		if !importFields[name] {
			return task, zoning.Errorf(zoning.ErrInvalid, "unknown form field %q: want file, %s", name, strings.Join(importFieldNames, ", "))
		}
		b, err := io.ReadAll(io.LimitReader(part, importFieldMax+1))
		if err != nil {
			return task, zoning.Errorf(zoning.ErrInvalid, "bad multipart body: field %s: %v", name, err)
		}
		if len(b) > importFieldMax {
			return task, zoning.Errorf(zoning.ErrInvalid, "form field %s is longer than %d bytes", name, importFieldMax)
		}
		fields[name] = append(fields[name], strings.TrimSpace(string(b)))
	}
	if task.Path == "" {
		return task, zoning.Errorf(zoning.ErrInvalid, "no file: send it in a multipart part named \"file\"")
	}
	if fileName == "" || fileName == "/" || fileName == "." {
		fileName = "upload"
	}
	opts, err := importOptions(fields)
	if err != nil {
		return task, zoning.Errorf(zoning.ErrInvalid, "%v", err)
	}
	opts.FileName = fileName
	opts.Origin = "http"
	opts.Runner = h.jobs.Runner
	if p := principal(c); p.UserID != 0 {
		id := p.UserID
		opts.CreatedBy = &id
	}
	task.Opts = opts
	return task, nil
}

// spool copies the file part into a temporary file, at most maxBytes.
func (h *imports) spool(task *workers.ImportTask, part io.Reader) error {
	f, err := os.CreateTemp("", "riskzone-import-*")
	if err != nil {
		return fmt.Errorf("spool upload: %w", err)
	}
	task.Path = f.Name()
	n, err := io.Copy(f, io.LimitReader(part, h.maxBytes+1))
	if cerr := f.Close(); err == nil && cerr != nil {
		return fmt.Errorf("spool upload: %w", cerr)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("spool upload: %w", err)
		}
		return zoning.Errorf(zoning.ErrInvalid, "bad multipart body: the file part ended early: %v", err)
	}
	if n > h.maxBytes {
		return h.tooLarge()
	}
	task.Size = n
	return nil
}

// The form fields an import takes, as the CLI's flags.
var (
	importFieldNames = []string{"kind", "layer", "source", "bbox", "county_relation", "admin_levels", "map",
		"persons_per_m2", "default_floors", "unit_width", "flats_per_floor", "max_units", "derive_units", "bulk_rows"}
	importFields = func() map[string]bool {
		m := map[string]bool{}
		for _, n := range importFieldNames {
			m[n] = true
		}
		return m
	}()
)

// importOptions reads the form fields into import options (checked again,
// with the defaults, by CreateJob).
func importOptions(f map[string][]string) (importer.Options, error) {
	one := func(name string) (string, error) {
		v := f[name]
		switch len(v) {
		case 0:
			return "", nil
		case 1:
			return v[0], nil
		}
		return "", fmt.Errorf("field %s given %d times: want it once", name, len(v))
	}
	var opts importer.Options
	var err error
	if opts.Kind, err = one("kind"); err != nil {
		return opts, err
	}
	if opts.Kind != importer.KindOSM && opts.Kind != importer.KindGeoJSON {
		return opts, fmt.Errorf("kind %q: want osm or geojson", opts.Kind)
	}
	if opts.Layer, err = one("layer"); err != nil {
		return opts, err
	}
	if opts.Source, err = one("source"); err != nil {
		return opts, err
	}
	if v, err := one("bbox"); err != nil {
		return opts, err
	} else if v != "" {
		if opts.BBox, err = importer.ParseBBox(v); err != nil {
			return opts, err
		}
	}
	if v, err := one("admin_levels"); err != nil {
		return opts, err
	} else if v != "" {
		if opts.AdminLevels, err = importer.ParseAdminLevels(v); err != nil {
			return opts, err
		}
	}
	if len(f["map"]) > 0 {
		if opts.FieldMap, err = importer.ParseFieldMap(f["map"]); err != nil {
			return opts, err
		}
	}
	opts.Estimates = importer.DefaultEstimates()
	e := &opts.Estimates
	ints := []struct {
		name string
		dst  *int
	}{{"default_floors", &e.DefaultFloors}, {"flats_per_floor", &e.FlatsPerFloor}, {"max_units", &e.MaxUnits}}
	for _, it := range ints {
		v, err := one(it.name)
		if err != nil {
			return opts, err
		}
		if v == "" {
			continue
		}
		if *it.dst, err = strconv.Atoi(v); err != nil {
			return opts, fmt.Errorf("field %s=%q: want an integer", it.name, v)
		}
	}
	floats := []struct {
		name string
		dst  *float64
	}{{"persons_per_m2", &e.PersonsPerM2}, {"unit_width", &e.UnitWidthM}}
	for _, fl := range floats {
		v, err := one(fl.name)
		if err != nil {
			return opts, err
		}
		if v == "" {
			continue
		}
		if *fl.dst, err = strconv.ParseFloat(v, 64); err != nil {
			return opts, fmt.Errorf("field %s=%q: want a number", fl.name, v)
		}
	}
	for _, name := range []string{"county_relation", "bulk_rows"} {
		v, err := one(name)
		if err != nil {
			return opts, err
		}
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return opts, fmt.Errorf("field %s=%q: want an integer", name, v)
		}
		if name == "county_relation" {
			opts.CountyRelation = n
		} else {
			opts.BulkRows = n
		}
	}
	if v, err := one("derive_units"); err != nil {
		return opts, err
	} else if v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opts, fmt.Errorf("field derive_units=%q: want true or false", v)
		}
		opts.SkipUnits = !b
	}
	return opts, nil
}

// get answers a job: status, progress, summary or error.
func (h *imports) get(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	noStore(c)
	job, err := h.im.Job(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}
