// Package workerstest is test support for the webhook deliveries of
// server/workers: a receiver that verifies signatures and answers as told,
// and waits on the outbox. The tests of server and server/workers share it.
package workerstest

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Hit is one request the receiver got.
type Hit struct {
	At       time.Time
	Key      string // the idempotency key
	Attempt  string // X-Riskzone-Attempt
	Verified error  // the signature check with the receiver's secret
	Status   int    // what the receiver answered
	Body     []byte
}

// Receiver is a webhook endpoint: answer decides each request's status (0:
// block until the client gives up); every request is reported on Hits.
type Receiver struct {
	*httptest.Server
	Hits chan Hit
	mu   sync.Mutex
	n    int
	seen map[string]int // accepted deliveries by idempotency key
}

// NewReceiver starts a receiver checking signatures with secret; the test's
// cleanup closes it.
func NewReceiver(t testing.TB, secret string, answer func(n int) int) *Receiver {
	rc := &Receiver{Hits: make(chan Hit, 100), seen: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		h := Hit{At: time.Now(), Key: r.Header.Get(workers.HeaderIdempotencyKey), Attempt: r.Header.Get("X-Riskzone-Attempt"), Body: body,
			Verified: workers.VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute)}
		h.Status = answer(n)
		if h.Status == 0 {
			rc.Hits <- h
			<-r.Context().Done() // the sender died mid-delivery
			return
		}
		if h.Status == http.StatusOK {
			rc.mu.Lock()
			rc.seen[h.Key]++ // a real receiver dedupes by this key
			rc.mu.Unlock()
		}
		w.WriteHeader(h.Status)
		rc.Hits <- h
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Requests is the number of requests received.
func (rc *Receiver) Requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// Accepted is the number of accepted deliveries by idempotency key.
func (rc *Receiver) Accepted() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return maps.Clone(rc.seen)
}

// WaitHit waits (at most 20 s) for the next request.
func WaitHit(t testing.TB, rc *Receiver) Hit {
	t.Helper()
	select {
	case h := <-rc.Hits:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery within 20 s")
	}
	return Hit{}
}

// WaitState waits (at most 10 s) until the outbox row reaches state: the
// worker records an attempt after the receiver has answered.
func WaitState(t testing.TB, store *postgis.Store, id int64, state string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got string
		if err := store.Pool.QueryRow(context.Background(), `SELECT state FROM outbox WHERE id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox row %d is %s, want %s", id, got, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
