package workers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers: the notice webhooks (webhooks.go) and the closed-loop
// alerts (alerts.go) are signed alike.
const (
	HeaderSignature      = "X-Riskzone-Signature"
	HeaderTimestamp      = "X-Riskzone-Timestamp"
	HeaderIdempotencyKey = "X-Riskzone-Idempotency-Key"
)

// SignWebhook is the signature header value of a body sent at timestamp
// (unix seconds) with secret.
func SignWebhook(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a delivery's signature and that its timestamp is
// within tolerance of now, as a receiver should.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad %s", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: timestamp %d is outside the tolerance", ts)
	}
	want := SignWebhook(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(header.Get(HeaderSignature))) {
		return fmt.Errorf("webhook: signature mismatch")
	}
	return nil
}

// shortError is an error text without the URL (it may carry credentials).
func shortError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
