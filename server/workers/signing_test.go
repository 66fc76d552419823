package workers

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A receiver accepts a delivery signed with its secret within the
// tolerance, and refuses another secret, a changed body, a stale or
// missing timestamp.
func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"notice":1}`)
	header := func(secret string, ts int64, b []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, SignWebhook(secret, ts, b))
		return h
	}
	if err := VerifyWebhook("s3cret-s3cret-16", header("s3cret-s3cret-16", now.Unix(), body), body, now, time.Minute); err != nil {
		t.Fatalf("a good delivery refused: %v", err)
	}
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"other secret": {header("another-secret-16", now.Unix(), body), body},
		"changed body": {header("s3cret-s3cret-16", now.Unix(), body), []byte(`{"notice":2}`)},
		"stale":        {header("s3cret-s3cret-16", now.Add(-2*time.Minute).Unix(), body), body},
		"future":       {header("s3cret-s3cret-16", now.Add(2*time.Minute).Unix(), body), body},
		"no timestamp": {http.Header{HeaderSignature: {SignWebhook("s3cret-s3cret-16", now.Unix(), body)}}, body},
		"no signature": {http.Header{HeaderTimestamp: {strconv.FormatInt(now.Unix(), 10)}}, body},
	} {
		if err := VerifyWebhook("s3cret-s3cret-16", c.h, c.body, now, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Retries wait BaseDelay doubling up to MaxDelay; alert retries 30 s
// doubling up to 30 min.
func TestBackoff(t *testing.T) {
	c := WebhookConfig{BaseDelay: time.Second, MaxDelay: 5 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 10: 5 * time.Second} {
		if got := c.Backoff(n); got != want {
			t.Errorf("webhook backoff(%d) = %v, want %v", n, got, want)
		}
	}
	for n, want := range map[int]time.Duration{0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 7: 30 * time.Minute, 50: 30 * time.Minute} {
		if got := backoff(n); got != want {
			t.Errorf("alert backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
