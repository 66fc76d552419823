package workers

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// Signed webhooks (SPEC §5): a worker on every replica claims due rows of
// the outbox (postgis.Outbox: FOR UPDATE SKIP LOCKED under a lease) and
// POSTs each notice to its subscriber as JSON, signed:
//
//	X-Riskzone-Timestamp:       unix seconds of this attempt
//	X-Riskzone-Signature:       sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	X-Riskzone-Idempotency-Key: the outbox row's key, the same on every attempt
//	Idempotency-Key:            the same key, under the common name
//	X-Riskzone-Notice, X-Riskzone-Attempt
//
// A 2xx answer delivers; anything else (or no answer within Timeout) is
// retried after BaseDelay·2^(attempt-1), at most MaxDelay, less up to
// Jitter of it at random; after MaxAttempts the row is dead. Every attempt
// is recorded. A worker stopped mid-delivery records nothing: its lease
// expires and a worker (here or on another replica) tries again with the
// same idempotency key, which the receiver dedupes by.
//
// A subscriber gets its notices in order: the rows of one subscriber in a
// claimed batch are sent one after the other, oldest notice first, and
// when one fails the later ones are given back without an attempt, due
// with the failed one's retry, so they follow it. (Subscribers are served
// concurrently; receivers should still order by notice id, since two
// replicas may each hold a part of one subscriber's rows.) A dead delivery
// can be redelivered by an admin (server/subscribers.go): the same row, key and
// body, with MaxAttempts attempts again.

// WebhookConfig configures deliveries. Zero fields take the defaults.
type WebhookConfig struct {
	// BaseDelay is the wait after the first failed attempt (default 30 s);
	// each later one doubles it, up to MaxDelay (default 1 h).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Jitter is the share of a delay taken off at random, 0 to 1 (default
	// 0.2), so that retries of many subscribers spread out.
	Jitter float64
	// MaxAttempts before a delivery is dead (default 12).
	MaxAttempts int
	// Timeout of one attempt (default 10 s).
	Timeout time.Duration
	// Lease of a claimed row (default 2 min, more than Timeout): a worker
	// that dies holds its rows this long.
	Lease time.Duration
	// Poll is the longest wait between looks at the outbox (default 5 s);
	// publications also wake the workers through NOTIFY riskzone_outbox.
	Poll time.Duration
	// Concurrency is the number of deliveries in flight per worker
	// (default 32); Batch the rows claimed at once (default 100).
	Concurrency int
	Batch       int
	// Disabled turns the worker off (e.g. a replica that only serves).
	Disabled bool
}

// Defaults fills unset fields.
func (c *WebhookConfig) Defaults() {
	if c.BaseDelay <= 0 {
		c.BaseDelay = 30 * time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = time.Hour
	}
	if c.Jitter < 0 || c.Jitter > 1 {
		c.Jitter = 0.2
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Lease < c.Timeout {
		c.Lease = c.Timeout + time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
}

// Backoff is the wait after failed attempt n (1 for the first), before
// jitter.
func (c WebhookConfig) Backoff(n int) time.Duration {
	d := float64(c.BaseDelay) * math.Pow(2, float64(n-1))
	return time.Duration(math.Min(d, float64(c.MaxDelay)))
}

// Deliveries is the worker that delivers the outbox.
type Deliveries struct {
	// Listen, when set, LISTENs on postgis.OutboxChannel to wake at each
	// publication; off (tests that poll only), the worker polls.
	Listen bool

	store   *postgis.Store
	ob      postgis.Outbox
	log     *slog.Logger
	cfg     WebhookConfig
	baseURL string
	client  *http.Client
	mu      sync.Mutex
	rng     *rand.Rand
	// payloads caches notice bodies: identical for every subscriber.
	payloads map[int64][]byte
}

// NewDeliveries makes the worker; client makes its HTTP client for an
// attempt timeout. The server's client connects only where its outbound
// rules allow (server/outbound.go): https to public addresses, no redirect
// followed (a redirect is an answer, not a place to resend signed data).
func NewDeliveries(store *postgis.Store, log *slog.Logger, cfg WebhookConfig, baseURL string, client func(timeout time.Duration) *http.Client) *Deliveries {
	cfg.Defaults()
	return &Deliveries{
		store: store, ob: postgis.Outbox{S: store}, log: log, cfg: cfg, baseURL: strings.TrimRight(baseURL, "/"),
		client:   client(cfg.Timeout),
		rng:      rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
		payloads: map[int64][]byte{},
	}
}

// Run delivers until ctx ends.
func (w *Deliveries) Run(ctx context.Context) {
	if w.cfg.Disabled {
		return
	}
	wake := make(chan struct{}, 1)
	if w.Listen {
		go Listen(ctx, w.store.Pool, w.log, postgis.OutboxChannel, wake)
	}
	for ctx.Err() == nil {
		n, err := w.deliverBatch(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("webhook deliveries", "err", err)
		}
		if n > 0 && err == nil {
			continue // more may be due
		}
		wait := w.cfg.Poll
		if d, ok, err := w.ob.NextDue(ctx); err == nil && ok && d < wait {
			wait = max(d, 10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// deliverBatch claims due rows and delivers them, subscribers
// concurrently, each subscriber's rows in notice order; it returns how many
// it claimed.
func (w *Deliveries) deliverBatch(ctx context.Context) (int, error) {
	claimed := time.Now()
	batch, err := w.ob.Claim(ctx, w.cfg.Batch, w.cfg.Lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	bySub := map[int64][]postgis.Delivery{}
	var subs []int64
	for _, d := range batch {
		if _, ok := bySub[d.SubscriberID]; !ok {
			subs = append(subs, d.SubscriberID)
		}
		bySub[d.SubscriberID] = append(bySub[d.SubscriberID], d)
	}
	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, sub := range subs {
		ds := bySub[sub]
		slices.SortFunc(ds, func(a, b postgis.Delivery) int { return cmp.Compare(a.NoticeID, b.NoticeID) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliverInOrder(ctx, ds, claimed, sem)
		}()
	}
	wg.Wait()
	return len(batch), nil
}

// deliverInOrder sends one subscriber's rows one after the other. After a
// failure, or when the lease would end before another attempt could, the
// rest are given back without an attempt.
func (w *Deliveries) deliverInOrder(ctx context.Context, ds []postgis.Delivery, claimed time.Time, sem chan struct{}) {
	for i, d := range ds {
		if time.Since(claimed)+w.cfg.Timeout >= w.cfg.Lease {
			w.release(ctx, ds[i:], 0)
			return
		}
		sem <- struct{}{}
		out, recorded := w.deliver(ctx, d)
		<-sem
		switch {
		case !recorded:
			return // stopped: the leases expire and the rows are tried again
		case out.State == "delivered", !d.SubscriberOn:
			continue
		default:
			w.release(ctx, ds[i+1:], out.RetryIn)
			return
		}
	}
}

func (w *Deliveries) release(ctx context.Context, ds []postgis.Delivery, retryIn time.Duration) {
	if ctx.Err() != nil {
		return // the leases expire
	}
	for _, d := range ds {
		if _, err := w.ob.Release(context.WithoutCancel(ctx), d, retryIn); err != nil {
			w.log.Error("webhook: give back a delivery", "outbox_id", d.OutboxID, "err", err)
		}
	}
}

func (w *Deliveries) payload(ctx context.Context, notice int64) ([]byte, error) {
	w.mu.Lock()
	b, ok := w.payloads[notice]
	w.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := w.ob.Payload(ctx, notice, w.baseURL)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if len(w.payloads) > 256 {
		clear(w.payloads)
	}
	w.payloads[notice] = b
	w.mu.Unlock()
	return b, nil
}

func (w *Deliveries) jitter(d time.Duration) time.Duration {
	w.mu.Lock()
	f := w.rng.Float64()
	w.mu.Unlock()
	return time.Duration(float64(d) * (1 - w.cfg.Jitter*f))
}

// deliver makes one attempt and records it; it reports the outcome and
// whether it was recorded. An attempt that got an answer is recorded even
// when ctx has ended meanwhile; one cut short by ctx is not: the lease
// expires and the row is tried again.
func (w *Deliveries) deliver(ctx context.Context, d postgis.Delivery) (postgis.Outcome, bool) {
	start := time.Now()
	out := postgis.Outcome{Started: start}
	if !d.SubscriberOn {
		out.State, out.Err = "dead", "subscriber disabled"
		w.finish(ctx, d, out)
		return out, true
	}
	body, err := w.payload(ctx, d.NoticeID)
	if err != nil {
		if ctx.Err() != nil {
			return out, false
		}
		w.log.Error("webhook payload", "notice", d.NoticeID, "err", err)
		out.Err = "payload: internal error"
	} else {
		out.StatusCode, out.Err = w.post(ctx, d, body)
	}
	if out.StatusCode == 0 && ctx.Err() != nil {
		return out, false // stopped mid-delivery: the lease will expire
	}
	out.Duration = time.Since(start)
	// The attempt of the current round: a redelivered row has MaxAttempts again.
	round := d.Attempt - d.RetryBase
	switch {
	case out.Err == "" && out.StatusCode >= 200 && out.StatusCode < 300:
		out.State = "delivered"
	case round >= w.cfg.MaxAttempts:
		out.State = "dead"
	default:
		out.State, out.RetryIn = "pending", w.jitter(w.cfg.Backoff(round))
	}
	w.finish(ctx, d, out)
	return out, true
}

func (w *Deliveries) finish(ctx context.Context, d postgis.Delivery, out postgis.Outcome) {
	held, err := w.ob.Finish(context.WithoutCancel(ctx), d, out)
	switch {
	case err != nil:
		w.log.Error("webhook: record attempt", "outbox_id", d.OutboxID, "err", err)
	case !held:
		w.log.Warn("webhook: lease lost before the attempt was recorded", "outbox_id", d.OutboxID, "attempt", d.Attempt)
	case out.State == "dead":
		w.log.Warn("webhook delivery dead", "outbox_id", d.OutboxID, "subscriber", d.SubscriberID, "attempts", d.Attempt, "err", out.Err)
	}
}

// post sends the body; it returns the status code and an error text
// (non-2xx answers carry a short text too).
func (w *Deliveries) post(ctx context.Context, d postgis.Delivery, body []byte) (int, string) {
	rctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad subscriber URL"
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskzone-webhooks/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, SignWebhook(d.Secret, ts, body))
	req.Header.Set(HeaderIdempotencyKey, d.IdempotencyKey)
	req.Header.Set("Idempotency-Key", d.IdempotencyKey)
	req.Header.Set("X-Riskzone-Notice", strconv.FormatInt(d.NoticeID, 10))
	req.Header.Set("X-Riskzone-Attempt", strconv.Itoa(d.Attempt))
	res, err := w.client.Do(req)
	if err != nil {
		return 0, shortError(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, "HTTP " + res.Status
	}
	return res.StatusCode, ""
}
