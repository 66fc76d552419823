package zoning

import (
	"strings"
	"time"
)

// Subscriber is an agency receiving notices by signed webhook. The secret
// is shown once, when the subscriber is created.
type Subscriber struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	URL          string    `json:"url"`
	CountyIDs    []int64   `json:"county_ids"`
	Active       bool      `json:"active"`
	SecretPrefix string    `json:"secret_prefix"`
	CreatedAt    time.Time `json:"created_at"`
	// Deliveries counts the subscriber's outbox rows by state.
	Deliveries map[string]int `json:"deliveries,omitempty"`
}

// NewSubscriber registers a subscriber. Secret is generated when empty.
type NewSubscriber struct {
	Name      string  `json:"name"`
	URL       string  `json:"url"`
	Secret    string  `json:"secret,omitempty"`
	CountyIDs []int64 `json:"county_ids,omitempty"`
}

// Validate checks the subscriber. Both http and https URLs pass here: the
// server's outbound policy (server/outbound.go) refuses plain http unless
// its allowlist names the receiver.
func (s NewSubscriber) Validate() error {
	if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 {
		return Errorf(ErrInvalid, "name: want 1 to 200 bytes")
	}
	u := strings.TrimSpace(s.URL)
	if !(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) || len(u) > 2000 || strings.ContainsAny(u, " \t\r\n") {
		return Errorf(ErrInvalid, "url %q: want an http:// or https:// URL", s.URL)
	}
	if rest := u[strings.Index(u, "//")+2:]; rest == "" || rest[0] == '/' {
		return Errorf(ErrInvalid, "url %q: the host is missing", s.URL)
	}
	if s.Secret != "" && (len(s.Secret) < 16 || len(s.Secret) > 200) {
		return Errorf(ErrInvalid, "secret: want 16 to 200 bytes (or leave it out to have one generated)")
	}
	if len(s.CountyIDs) > 1000 {
		return Errorf(ErrTooLarge, "%d counties: at most 1000", len(s.CountyIDs))
	}
	for _, id := range s.CountyIDs {
		if id <= 0 {
			return Errorf(ErrInvalid, "county_ids: %d is not a positive number", id)
		}
	}
	return nil
}
