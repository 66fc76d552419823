-- Put dead deliveries ($1 outbox ids) back to pending, due now, with their
-- idempotency keys: a redelivery. Their attempts go on counting (the
-- attempt records are numbered by them); the retry budget counts again
-- from retry_base. Returns the rows as written (columns of deliverySelect).
UPDATE outbox
SET state = 'pending',
    next_attempt_at = now(),
    locked_until = NULL,
    retry_base = attempts,
    redeliveries = redeliveries + 1,
    redelivered_at = now()
WHERE id = ANY ($1::bigint[]) AND state = 'dead'
RETURNING id, notice_id, subscriber_id, idempotency_key::text, state, attempts, next_attempt_at,
          last_error, delivered_at, created_at, redeliveries, redelivered_at
