package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// Overdue closed-loop steps are alerted (seed 000's four "first time"
// steps): a worker on every replica raises an alert once per contact and
// step past its limit (postgis.Contacts.RaiseAlerts), the app shows their
// count, and when a command-centre webhook is configured the worker POSTs
// them there in batches, signed as the notice webhooks are
// (X-Riskzone-Timestamp, X-Riskzone-Signature), retrying with backoff until
// a 2xx. The payload names the contact number, kind, county, step and
// deadline: never a residence or a case.

// AlertConfig configures the alert worker.
type AlertConfig struct {
	// URL is the command centre's webhook (https unless allowed in
	// Outbound); empty raises alerts for the app only.
	URL string
	// Secret signs each delivery (at least 16 bytes when URL is set).
	Secret string
	// Poll is the wait between looks for overdue steps (default 1 min).
	Poll time.Duration
	// Disabled stops the worker on this replica.
	Disabled bool
}

// Check refuses a webhook URL that checkURL (the server's outbound rules)
// refuses, or a short secret.
func (cfg AlertConfig) Check(checkURL func(string) error) error {
	if cfg.URL == "" {
		return nil
	}
	if err := checkURL(cfg.URL); err != nil {
		return fmt.Errorf("alert webhook URL: %w", err)
	}
	if len(cfg.Secret) < 16 {
		return fmt.Errorf("alert webhook secret: want at least 16 bytes to sign deliveries with")
	}
	return nil
}

// alertBatch is the most alerts one delivery carries.
const alertBatch = 100

// Alerts is the worker that raises and delivers the alerts.
type Alerts struct {
	contacts postgis.Contacts
	cfg      AlertConfig
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	// tick, when set (tests), replaces the poll timer.
	tick <-chan time.Time
}

// NewAlerts makes the worker; client posts to the command centre, now is
// the clock of retries (nil: time.Now).
func NewAlerts(contacts postgis.Contacts, cfg AlertConfig, client *http.Client, log *slog.Logger, now func() time.Time) *Alerts {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Alerts{contacts: contacts, cfg: cfg, client: client, log: log, now: now}
}

// Run raises and delivers every Poll until ctx ends.
func (w *Alerts) Run(ctx context.Context) {
	if w.cfg.Disabled {
		return
	}
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	tick := w.tick
	if tick == nil {
		tick = t.C
	}
	for {
		w.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// Once raises what is newly overdue and delivers what is due.
func (w *Alerts) Once(ctx context.Context) {
	n, err := w.contacts.RaiseAlerts(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("raise closed-loop alerts", "err", err)
		}
		return
	}
	if n > 0 {
		w.log.Warn("closed-loop steps overdue", "raised", n)
	}
	if w.cfg.URL == "" {
		return
	}
	for {
		alerts, err := w.contacts.ClaimAlerts(ctx, alertBatch, 2*time.Minute)
		if err != nil || len(alerts) == 0 {
			if err != nil && ctx.Err() == nil {
				w.log.Error("claim closed-loop alerts", "err", err)
			}
			return
		}
		ok, why := w.post(ctx, alerts)
		retry := w.now().Add(backoff(alerts[0].Attempts))
		if err := w.contacts.FinishAlerts(context.WithoutCancel(ctx), alerts, ok, why, retry); err != nil {
			w.log.Error("record closed-loop alert delivery", "err", err)
			return
		}
		if !ok {
			w.log.Warn("closed-loop alert delivery failed", "alerts", len(alerts), "err", why, "retry_at", retry)
			return
		}
	}
}

// backoff is the wait after the n-th failed attempt: 30 s doubling, at
// most 30 min.
func backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 30*time.Minute; i++ {
		d *= 2
	}
	return min(d, 30*time.Minute)
}

func (w *Alerts) post(ctx context.Context, alerts []postgis.ContactAlert) (bool, string) {
	body, err := json.Marshal(map[string]any{"type": "closed_loop_overdue", "alerts": alerts})
	if err != nil {
		return false, "encode alerts"
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, "bad alert webhook URL"
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskzone-alerts/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, SignWebhook(w.cfg.Secret, ts, body))
	res, err := w.client.Do(req)
	if err != nil {
		return false, shortError(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return false, "HTTP " + res.Status
	}
	return true, ""
}
