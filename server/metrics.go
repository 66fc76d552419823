package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/riskzone/riskzone/zoning"
)

// Prometheus metrics (docs/operations.md, "Metrics"). Every server has a
// registry of its own (tests run several servers in one process):
//
//	riskzone_http_request_duration_seconds{method,route,code}  histogram, by route template
//	riskzone_http_requests_in_flight                          gauge
//	riskzone_tile_cache_lookups_total{result="hit"|"miss"}     counter (ratio: hit / (hit + miss))
//	riskzone_tile_cache_bytes, riskzone_tile_cache_tiles       gauges
//	riskzone_outbox_deliveries{state}                          gauge, outbox rows by state
//	riskzone_outbox_lag_seconds                                gauge, age of the oldest due delivery
//	riskzone_webhook_failed_attempts_total                     counter, attempts without a 2xx answer
//	riskzone_db_pool_*                                         pgxpool.Stat
//	riskzone_db_up                                             gauge, 0 while degraded
//	riskzone_proposal_run_seconds                              histogram of POST /api/v1/proposals
//	riskzone_rate_limited_total{class}                         counter of 429 answers
//	go_*, process_*                                            the standard collectors
//
// Who may read it: /metrics on the main listener needs an admin (an admin
// API token for Prometheus' bearer_token); Config.MetricsAddr serves the
// same registry without authentication on a separate, private address.
type metrics struct {
	reg         *prometheus.Registry
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	proposal    prometheus.Histogram
	rateLimited *prometheus.CounterVec
}

// proposalRoute is the route whose successful answers time a proposal run.
const proposalRoute = "/api/v1/proposals"

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "riskzone_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by method, route template and status code.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "route", "code"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "riskzone_http_requests_in_flight", Help: "HTTP requests being answered.",
	})
	m.proposal = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "riskzone_proposal_run_seconds",
		Help:    "Run time of the proposal engine (successful POST /api/v1/proposals).",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120},
	})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "riskzone_rate_limited_total", Help: "Requests refused with 429 by the per-IP rate limits, by limit.",
	}, []string{"limit"})
	m.reg.MustRegister(m.duration, m.inFlight, m.proposal, m.rateLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{s: s}, &tileCollector{s: s}, newOutboxCollector(s))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "riskzone_db_up", Help: "1 while the database answers, 0 while the server runs degraded.",
	}, func() float64 {
		if s.health.Down() {
			return 0
		}
		return 1
	}))
	return m
}

// observe is the outermost middleware (before routing, so that warm tiles
// answered ahead of the routes count too): it times every request by its
// route template, never by its raw path.
func (m *metrics) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = unroutedLabel(c.Request().URL.Path)
		}
		status := c.Response().Status
		d := time.Since(start).Seconds()
		m.duration.WithLabelValues(methodLabel(c.Request().Method), route, strconv.Itoa(status)).Observe(d)
		if route == proposalRoute && c.Request().Method == http.MethodPost && status == http.StatusCreated {
			m.proposal.Observe(d)
		}
		return nil
	}
}

// methodLabel maps a request method to a closed set of labels: a client
// may send any token as its method, and each new label value would be a new
// time series kept for the life of the process.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// unroutedLabel names requests answered before routing (warm tiles) or
// refused before it (rate limits, degraded writes), with a bounded set of
// labels.
func unroutedLabel(path string) string {
	if strings.HasPrefix(path, "/tiles/") && strings.Count(path, "/") == 5 {
		return tileRoute
	}
	if path == lookupPath {
		return lookupPath // answered by fastLookup
	}
	return "unrouted"
}

// metricsHandler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// metricsRoute serves /metrics to admins on the main listener.
func (s *Server) metricsRoute() {
	h := echo.WrapHandler(s.metrics.handler())
	s.echo.GET("/metrics", func(c echo.Context) error {
		noStore(c)
		return h(c)
	}, requireRole(zoning.RoleAdmin))
}

// MetricsHandler is the registry without authentication, for a private
// listener (Config.MetricsAddr).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// poolCollector reports pgxpool.Stat at scrape time.
type poolCollector struct{ s *Server }

var (
	poolDescs = map[string]*prometheus.Desc{
		"acquired":        prometheus.NewDesc("riskzone_db_pool_acquired_conns", "Connections in use.", nil, nil),
		"idle":            prometheus.NewDesc("riskzone_db_pool_idle_conns", "Idle connections.", nil, nil),
		"total":           prometheus.NewDesc("riskzone_db_pool_total_conns", "Open connections.", nil, nil),
		"max":             prometheus.NewDesc("riskzone_db_pool_max_conns", "Most connections the pool opens.", nil, nil),
		"acquires":        prometheus.NewDesc("riskzone_db_pool_acquires_total", "Successful acquires.", nil, nil),
		"empty":           prometheus.NewDesc("riskzone_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", nil, nil),
		"canceled":        prometheus.NewDesc("riskzone_db_pool_canceled_acquires_total", "Acquires cancelled by their context.", nil, nil),
		"wait":            prometheus.NewDesc("riskzone_db_pool_acquire_seconds_total", "Time spent acquiring connections.", nil, nil),
		"new":             prometheus.NewDesc("riskzone_db_pool_new_conns_total", "Connections opened.", nil, nil),
		"lifetimeDestroy": prometheus.NewDesc("riskzone_db_pool_lifetime_destroys_total", "Connections closed for their age.", nil, nil),
		"idleDestroy":     prometheus.NewDesc("riskzone_db_pool_idle_destroys_total", "Connections closed for idleness.", nil, nil),
	}
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range poolDescs {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := p.s.store.Pool.Stat()
	g := func(k string, v float64) { ch <- prometheus.MustNewConstMetric(poolDescs[k], prometheus.GaugeValue, v) }
	c := func(k string, v float64) {
		ch <- prometheus.MustNewConstMetric(poolDescs[k], prometheus.CounterValue, v)
	}
	g("acquired", float64(st.AcquiredConns()))
	g("idle", float64(st.IdleConns()))
	g("total", float64(st.TotalConns()))
	g("max", float64(st.MaxConns()))
	c("acquires", float64(st.AcquireCount()))
	c("empty", float64(st.EmptyAcquireCount()))
	c("canceled", float64(st.CanceledAcquireCount()))
	c("wait", st.AcquireDuration().Seconds())
	c("new", float64(st.NewConnsCount()))
	c("lifetimeDestroy", float64(st.MaxLifetimeDestroyCount()))
	c("idleDestroy", float64(st.MaxIdleDestroyCount()))
}

// tileCollector reports the tile cache.
type tileCollector struct{ s *Server }

var (
	tileLookupsDesc = prometheus.NewDesc("riskzone_tile_cache_lookups_total",
		"Tile lookups answered from the cache (hit) or rendered (miss).", []string{"result"}, nil)
	tileBytesDesc   = prometheus.NewDesc("riskzone_tile_cache_bytes", "Bytes of rendered tiles in memory.", nil, nil)
	tileCountDesc   = prometheus.NewDesc("riskzone_tile_cache_tiles", "Rendered tiles in memory.", nil, nil)
	regionBytesDesc = prometheus.NewDesc("riskzone_tile_region_cache_bytes", "Bytes of layer regions in memory.", nil, nil)
)

func (t *tileCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tileLookupsDesc
	ch <- tileBytesDesc
	ch <- tileCountDesc
	ch <- regionBytesDesc
}

func (t *tileCollector) Collect(ch chan<- prometheus.Metric) {
	svc := t.s.tileSvc
	if svc == nil {
		return
	}
	hits, misses := svc.CacheCounts()
	ch <- prometheus.MustNewConstMetric(tileLookupsDesc, prometheus.CounterValue, float64(hits), "hit")
	ch <- prometheus.MustNewConstMetric(tileLookupsDesc, prometheus.CounterValue, float64(misses), "miss")
	n, b, _, rb := svc.CacheStats()
	ch <- prometheus.MustNewConstMetric(tileBytesDesc, prometheus.GaugeValue, float64(b))
	ch <- prometheus.MustNewConstMetric(tileCountDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(regionBytesDesc, prometheus.GaugeValue, float64(rb))
}

// outboxCollector reads the outbox at scrape time, with a short timeout
// and the last answer kept for a few seconds (scrapes from several
// Prometheus servers do not each query). While the database is down it
// reports the last values it read.
type outboxCollector struct {
	s      *Server
	mu     sync.Mutex
	readAt time.Time
	states map[string]float64
	lag    float64
	failed float64
}

var (
	outboxRowsDesc   = prometheus.NewDesc("riskzone_outbox_deliveries", "Webhook deliveries in the outbox, by state.", []string{"state"}, nil)
	outboxLagDesc    = prometheus.NewDesc("riskzone_outbox_lag_seconds", "How long the oldest due webhook delivery has waited (0: none due).", nil, nil)
	outboxFailedDesc = prometheus.NewDesc("riskzone_webhook_failed_attempts_total", "Webhook delivery attempts that got no 2xx answer.", nil, nil)
)

func newOutboxCollector(s *Server) *outboxCollector {
	return &outboxCollector{s: s, states: map[string]float64{}}
}

func (o *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxRowsDesc
	ch <- outboxLagDesc
	ch <- outboxFailedDesc
}

func (o *outboxCollector) refresh() {
	if time.Since(o.readAt) < 2*time.Second || o.s.health.Down() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	states := map[string]float64{"pending": 0, "running": 0, "delivered": 0, "dead": 0}
	st, err := o.s.store.OutboxStats(ctx)
	if err != nil {
		return
	}
	for k, n := range st.Rows {
		states[k] = n
	}
	lag, failed := st.LagSeconds, st.FailedAttempts
	o.states, o.lag, o.failed, o.readAt = states, lag, failed, time.Now()
}

func (o *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refresh()
	for st, n := range o.states {
		ch <- prometheus.MustNewConstMetric(outboxRowsDesc, prometheus.GaugeValue, n, st)
	}
	ch <- prometheus.MustNewConstMetric(outboxLagDesc, prometheus.GaugeValue, o.lag)
	ch <- prometheus.MustNewConstMetric(outboxFailedDesc, prometheus.CounterValue, o.failed)
}
