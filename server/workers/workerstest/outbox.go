package workerstest

import (
	"context"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// QueueDelivery sets aside the deliveries already in the outbox (marked
// dead), creates a subscriber at url signing with secret and queues one
// delivery of notice to it; it returns the outbox row.
func QueueDelivery(t testing.TB, store *postgis.Store, notice int64, url, secret string) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test'`); err != nil {
		t.Fatal(err)
	}
	sub, _, err := postgis.Outbox{S: store}.CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
		zoning.NewSubscriber{Name: "test agency", URL: url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := store.Pool.QueryRow(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key) VALUES ($1, $2, gen_random_uuid()) RETURNING id`,
		notice, sub.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
