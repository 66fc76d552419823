package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riskzone/riskzone/server/lookup"
)

// The public lookup is the endpoint a whole city calls when a notice goes
// out ("is my building in a zone?"). Like warm tiles (tiles.go fastTile) it
// is answered ahead of routing and of the middleware chain: a valid GET is
// parsed, answered from the in-memory index and written from a pooled
// buffer. Anything else — another path or method, input that does not
// parse, an index not built yet — goes on to the routes, whose handler
// (lookupAPI) answers the same way and reports errors as usual.

const lookupPath = "/api/v1/public/lookup"

// lookupStats counts the answers of the fast path; reportLookups logs them.
type lookupStats struct {
	fast atomic.Int64
}

// Header values shared by every answer (read-only after init).
var (
	lookupCacheControl = []string{"public, max-age=10"}
	lookupContentType  = []string{echo.MIMEApplicationJSON}
	anyOrigin          = []string{"*"}
)

var lookupBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// lookupBuffer takes an empty buffer for an answer from the pool.
func lookupBuffer() *bytes.Buffer {
	buf := lookupBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// releaseLookupBuffer gives it back, unless a rare big answer made it grow
// past 64 KiB (the pool would hold it).
func releaseLookupBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		lookupBuffers.Put(buf)
	}
}

// fastLookup is the Pre middleware of the lookup.
func (p *publicSite) fastLookup(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.URL.Path != lookupPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			return next(c)
		}
		ix := p.index.Load()
		if ix == nil {
			return next(c)
		}
		now := time.Now()
		lq, err := parseLookup(c, now)
		if err != nil {
			return next(c) // the routed handler answers the 400, logged
		}
		p.stats.fast.Add(1)
		return writeLookup(c, ix.Answer(lq, now))
	}
}

// writeLookup encodes a lookup answer as JSON with its caching headers.
func writeLookup(c echo.Context, a lookup.Answer) error {
	buf := lookupBuffer()
	defer releaseLookupBuffer(buf)
	if err := encodeLookup(buf, a); err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr["Cache-Control"] = lookupCacheControl
	hdr["Access-Control-Allow-Origin"] = anyOrigin
	hdr["Content-Type"] = lookupContentType
	hdr["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// encodeLookup writes a lookup answer as one line of JSON.
func encodeLookup(buf *bytes.Buffer, a lookup.Answer) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return fmt.Errorf("encode the lookup answer: %w", err)
	}
	return nil
}

// reportLookups logs once a minute how many lookups the fast path answered
// (they have no log line each), when there were any.
func (p *publicSite) reportLookups(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := p.stats.fast.Load(); n != last {
			p.s.log.Info("lookups answered", "fast_path", n-last, "per", "1m")
			last = n
		}
	}
}
