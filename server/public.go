package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/web"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// PublicConfig configures the public side (issue 8): pages, embed, feeds,
// lookup and webhooks. Zero fields take the defaults of DefaultPublicConfig.
type PublicConfig struct {
	// FrameAncestors are the origins allowed to frame /embed (CSP
	// frame-ancestors), e.g. "https://news.example.com". Default ["*"]:
	// any site may embed the public map, which shows public data only. The
	// text pages may be framed by the service itself only.
	FrameAncestors []string
	// BaseURL is the public address of the service (https://host), used in
	// CAP <web>, Atom links, webhook payloads and the embed snippet. Empty:
	// taken from each request (scheme and Host), and CAP <web> is left out
	// of notices published by a request without one.
	BaseURL string
	// CAPSender is the CAP <sender> of published notices; default
	// postgis.DefaultCAPSender.
	CAPSender string
	// LookupPoll is how often the lookup index checks the zones layer
	// version besides LISTEN riskzone_layers; default 5 s.
	LookupPoll time.Duration
	// Webhooks configures deliveries.
	Webhooks workers.WebhookConfig
}

// DefaultPublicConfig returns the documented defaults.
func DefaultPublicConfig() PublicConfig {
	c := PublicConfig{}
	c.Defaults()
	return c
}

// Defaults fills unset fields.
func (c *PublicConfig) Defaults() {
	if len(c.FrameAncestors) == 0 {
		c.FrameAncestors = []string{"*"}
	}
	if c.LookupPoll == 0 {
		c.LookupPoll = 5 * time.Second
	}
	c.Webhooks.Defaults()
}

// publicConfig is the configuration of the public side (Config.Public,
// defaults filled by Config.Defaults).
func (s *Server) publicConfig() PublicConfig { return s.cfg.Public }

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// publicSite is the state of the public side: templates and the lookup
// index. It lives as long as the server.
type publicSite struct {
	s    *Server
	cfg  PublicConfig
	tmpl *template.Template
	// index is the lookup index in use; rebuilt by runIndex, built on first
	// use when the background workers do not run.
	index   atomic.Pointer[lookup.Index]
	buildMu sync.Mutex
	stats   lookupStats
	// pages caches the rendered public pages (pagecache.go).
	pages pageCache
}

// publicRoutes registers the public pages, notices, feeds, embed and lookup
// (anonymous), the publishing API (publisher) and the subscriber admin API
// (admin), and the lookup index's background loop (the webhook deliveries
// are wired in background.go).
func (s *Server) publicRoutes() {
	p := &publicSite{s: s, cfg: s.publicConfig()}
	s.public = p
	p.tmpl = template.Must(template.New("").Funcs(templateFuncs()).ParseFS(templateFS, "templates/*.html"))
	e := s.echo
	e.GET("/", p.home, p.cached)
	e.GET("/counties/:id", p.countyPage, p.cached)
	e.GET("/zones/:id", p.zonePage, p.cached)
	e.GET("/notices", p.noticesPage, p.cached)
	e.GET("/notices.atom", p.atomFeed, p.cached)
	e.GET("/notices/:id", p.noticePage, p.cached) // also /notices/{id}.cap
	e.GET("/lookup", p.lookupPage)
	e.GET("/embed", p.embedPage, p.cached)
	static, _ := fs.Sub(staticFS, "static")
	// MapLibre is a megabyte of JavaScript: compress the assets.
	gz := middleware.GzipWithConfig(middleware.GzipConfig{Level: 5})
	e.GET("/static/*", p.files(static, "/static/", "public, max-age=3600"), gz)
	e.GET("/assets/*", p.files(web.Dist(), "/assets/", "public, max-age=3600"), gz)

	api := e.Group("/api/v1/public")
	api.GET("/lookup", p.lookupAPI)
	e.Pre(p.fastLookup)
	api.GET("/changes", p.changesAPI)
	api.GET("/zones", p.zonesGeoJSON)
	api.GET("/notices", p.noticesSinceAPI) // catch-up by notice id (feeds.go)

	pub := e.Group("/api/v1/notices", requireRole(zoning.RolePublisher))
	pub.POST("", p.publish)
	pub.GET("/pending", p.pending)
	p.correctionRoutes(pub)

	s.subscriberRoutes()

	s.onStart(p.runIndex)
	s.onStart(p.reportLookups)
}

func (p *publicSite) notices(c echo.Context) postgis.Notices {
	return postgis.Notices{S: p.s.store, Sender: p.cfg.CAPSender, BaseURL: p.baseURL(c)}
}

// baseURL is the base of published links (Server.linkBase).
func (p *publicSite) baseURL(c echo.Context) string { return p.s.linkBase(c) }

// files serves an embedded tree under prefix.
func (p *publicSite) files(fsys fs.FS, prefix, cache string) echo.HandlerFunc {
	h := http.StripPrefix(prefix, http.FileServer(http.FS(fsys)))
	return func(c echo.Context) error {
		if strings.HasSuffix(c.Request().URL.Path, "/") {
			return zoning.Errorf(zoning.ErrNotFound, "not found")
		}
		c.Response().Header().Set(echo.HeaderCacheControl, cache)
		c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// ---- languages ----------------------------------------------------------------

// page is what every template gets.
type page struct {
	Lang    string // zh-CN or en
	En      bool
	Title   string
	Path    string // the request path and query without lang, for the language switch
	BaseURL string
	Data    any
	Now     time.Time
}

// T translates a label key.
func (p page) T(key string) string {
	m := labelsZh
	if p.En {
		m = labelsEn
	}
	if s, ok := m[key]; ok {
		return s
	}
	return key
}

// LangURL is the current page in the other language (or in lang).
func (p page) LangURL(lang string) string {
	u, _ := url.Parse(p.Path)
	q := u.Query()
	q.Del("lang")
	if lang == "en" {
		q.Set("lang", "en")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Link adds the language to a site path.
func (p page) Link(path string) string {
	if !p.En {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&lang=en"
	}
	return path + "?lang=en"
}

func (p *publicSite) newPage(c echo.Context, title string, data any) page {
	en := c.QueryParam("lang") == "en"
	lang := "zh-CN"
	if en {
		lang = "en"
	}
	return page{Lang: lang, En: en, Title: title, Path: c.Request().URL.RequestURI(), BaseURL: p.baseURL(c), Data: data, Now: time.Now()}
}

// render writes a template with the security headers of text pages.
func (p *publicSite) render(c echo.Context, status int, name string, pg page) error {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, pg); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", p.s.mapCSP("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "+
		"worker-src 'self' blob:; child-src blob:; connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Content-Language", pg.Lang)
	if h.Get(echo.HeaderCacheControl) == "" {
		h.Set(echo.HeaderCacheControl, "public, max-age=30")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// pageError answers a page request's error as an HTML page; API errors go
// to the server's JSON error handler.
func (p *publicSite) pageError(c echo.Context, err error) error {
	switch zoning.Kind(err) {
	case zoning.ErrNotFound:
		pg := p.newPage(c, "", zoning.Message(err))
		pg.Title = pg.T("notfound")
		return p.render(c, http.StatusNotFound, "notfound", pg)
	case zoning.ErrInvalid:
		pg := p.newPage(c, "", zoning.Message(err))
		pg.Title = pg.T("badrequest")
		return p.render(c, http.StatusBadRequest, "notfound", pg)
	}
	return err
}

var labelsZh = map[string]string{
	"site":            "风险区域公示",
	"skip":            "跳到正文",
	"nav.home":        "当前风险区",
	"nav.notices":     "通告",
	"nav.lookup":      "地址查询",
	"nav.atom":        "订阅（Atom）",
	"lang.other":      "English",
	"home.title":      "各区县当前风险区域",
	"home.none":       "暂无区县数据。",
	"county":          "区县",
	"zones":           "风险区",
	"population":      "涉及人口",
	"popEstimated":    "约",
	"normal":          "全域常态化防控，无风险区。",
	"lowrest":         "除高风险区以外的其他区域为低风险区。",
	"lastnotice":      "最新通告",
	"details":         "查看详情",
	"map":             "风险区地图",
	"map.fallback":    "地图需要 JavaScript；风险区地址见下方列表。",
	"legend":          "图例",
	"embed.title":     "在您的网站嵌入此地图",
	"embed.help":      "复制以下代码粘贴到网页中：",
	"zone.list":       "风险区列表",
	"address":         "地址",
	"level":           "等级",
	"since":           "实施时间",
	"earliest":        "最早解除日期",
	"countdown":       "距最早解除",
	"days":            "天",
	"today":           "今日可评估解除",
	"measures":        "管控措施",
	"history":         "通告记录",
	"status":          "状态",
	"st.active":       "管控中",
	"st.lifted":       "已解除",
	"st.superseded":   "已调整为其他风险区",
	"notices.title":   "通告",
	"notices.none":    "暂无通告。",
	"published":       "发布时间",
	"effective":       "生效时间",
	"cap":             "CAP 1.2 文件",
	"older":           "更早的通告",
	"lookup.title":    "查询地址是否在风险区",
	"lookup.q":        "地址（如：城建花园小区73号楼二单元）",
	"lookup.lonlat":   "或输入经纬度（经度,纬度）",
	"lookup.days":     "同时查询过去几天内（可选）",
	"lookup.submit":   "查询",
	"lookup.in":       "位于风险区",
	"lookup.out":      "不在风险区",
	"lookup.low":      "位于低风险区（所在区县存在高风险区）",
	"lookup.norm":     "所在区县无风险区（常态化防控）",
	"lookup.none":     "未找到该地址。请检查小区名称和楼号。",
	"lookup.past":     "过去%d天内曾位于以下风险区：",
	"lookup.nopast":   "过去%d天内不在任何风险区。",
	"lookup.note":     "查询不需要定位权限，也不会记录您的地址。",
	"notfound":        "未找到",
	"badrequest":      "请求有误",
	"back":            "返回首页",
	"kind.designate":  "划定",
	"kind.adjust":     "调整",
	"kind.extend":     "延长管控",
	"kind.split":      "拆分",
	"kind.merge":      "合并",
	"kind.lift":       "解除",
	"kind.normalize":  "恢复常态化",
	"kind.correction": "更正",
	"test":            "测试",
	"exercise":        "演练",
	"print":           "打印",
	"updated":         "数据更新时间",
}

var labelsEn = map[string]string{
	"site":            "Risk zones",
	"skip":            "Skip to content",
	"nav.home":        "Current zones",
	"nav.notices":     "Notices",
	"nav.lookup":      "Address lookup",
	"nav.atom":        "Subscribe (Atom)",
	"lang.other":      "中文",
	"home.title":      "Current risk zones by county",
	"home.none":       "No county yet.",
	"county":          "County",
	"zones":           "Zones",
	"population":      "Residents",
	"popEstimated":    "about ",
	"normal":          "Normalized prevention: no risk zone.",
	"lowrest":         "The rest of the county, outside the high-risk zones, is a low-risk zone.",
	"lastnotice":      "Latest notice",
	"details":         "Details",
	"map":             "Map of the risk zones",
	"map.fallback":    "The map needs JavaScript; the addresses are listed below.",
	"legend":          "Legend",
	"embed.title":     "Embed this map on your site",
	"embed.help":      "Copy this code into your page:",
	"zone.list":       "Risk zones",
	"address":         "Address",
	"level":           "Level",
	"since":           "In force since",
	"earliest":        "Earliest lifting date",
	"countdown":       "Until the earliest lifting",
	"days":            "days",
	"today":           "may be lifted from today",
	"measures":        "Measures",
	"history":         "Notices",
	"status":          "Status",
	"st.active":       "In force",
	"st.lifted":       "Lifted",
	"st.superseded":   "Replaced by other zones",
	"notices.title":   "Notices",
	"notices.none":    "No notice yet.",
	"published":       "Published",
	"effective":       "Effective",
	"cap":             "CAP 1.2 file",
	"older":           "Older notices",
	"lookup.title":    "Is an address in a risk zone?",
	"lookup.q":        "Address (e.g. 城建花园小区73号楼二单元)",
	"lookup.lonlat":   "or a position (longitude,latitude)",
	"lookup.days":     "Also check the past days (optional)",
	"lookup.submit":   "Check",
	"lookup.in":       "In a risk zone",
	"lookup.out":      "Not in a risk zone",
	"lookup.low":      "In the low-risk zone (the county has high-risk zones)",
	"lookup.norm":     "The county has no risk zone (normalized prevention)",
	"lookup.none":     "Address not found. Check the compound name and building number.",
	"lookup.past":     "In the past %d days it was in these zones:",
	"lookup.nopast":   "In the past %d days it was in no risk zone.",
	"lookup.note":     "The lookup needs no location permission and does not keep your address.",
	"notfound":        "Not found",
	"badrequest":      "Bad request",
	"back":            "Back to the start page",
	"kind.designate":  "Designation",
	"kind.adjust":     "Adjustment",
	"kind.extend":     "Extension",
	"kind.split":      "Split",
	"kind.merge":      "Merge",
	"kind.lift":       "Lifting",
	"kind.normalize":  "Back to normal",
	"kind.correction": "Correction",
	"test":            "TEST",
	"exercise":        "EXERCISE",
	"print":           "Print",
	"updated":         "Data as of",
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"addrs": func(en bool, a []zoning.Address) string {
			if en {
				return zoning.FormatAddressesEn(a)
			}
			return zoning.FormatAddressesZh(a)
		},
		"date": func(en bool, t time.Time) string {
			t = t.In(zoning.ChinaTime())
			if en {
				return t.Format("2 Jan 2006 15:04") + " (UTC+8)"
			}
			return fmt.Sprintf("%d年%d月%d日 %02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
		},
		"isoTime": func(t time.Time) string { return t.In(zoning.ChinaTime()).Format(time.RFC3339) },
		"day": func(en bool, d zoning.Date) string {
			if d.Time.IsZero() {
				return ""
			}
			if en {
				return d.Time.Format("2 Jan 2006")
			}
			return fmt.Sprintf("%d年%d月%d日", d.Year(), int(d.Month()), d.Day())
		},
		"daysUntil": func(d zoning.Date) int {
			today := zoning.DateOf(time.Now(), zoning.ChinaTime())
			return max(0, d.DaysSince(today))
		},
		"pick": func(en bool, zh, enText string) string {
			if en && enText != "" {
				return enText
			}
			return zh
		},
		"bbox": func(b [4]float64) string { return fmt.Sprintf("%.6f,%.6f,%.6f,%.6f", b[0], b[1], b[2], b[3]) },
		"sub":  func(a, b int) int { return a - b },
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}
}
