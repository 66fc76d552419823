-- Claim up to $1 due deliveries for $2 seconds: pending rows whose time has
-- come, and running rows whose lease expired (their worker died; the
-- receiver dedupes by idempotency key). One statement: rows locked by
-- another worker are skipped, so replicas never claim the same row; the
-- attempt number counts the claim. Rows are taken in due order, a
-- subscriber's notices oldest first, so that a worker can deliver them in
-- order.
UPDATE outbox o
SET state = 'running',
    attempts = o.attempts + 1,
    locked_until = now() + make_interval(secs => $2)
FROM subscribers s
WHERE o.id IN (
        SELECT d.id
        FROM outbox d
        WHERE (d.state = 'pending' AND d.next_attempt_at <= now())
           OR (d.state = 'running' AND d.locked_until < now())
        ORDER BY d.next_attempt_at, d.notice_id, d.id
        LIMIT $1
        FOR UPDATE SKIP LOCKED)
  AND s.id = o.subscriber_id
RETURNING o.id, o.notice_id, o.subscriber_id, o.idempotency_key::text, o.attempts, o.retry_base, s.url, s.secret, s.active;
