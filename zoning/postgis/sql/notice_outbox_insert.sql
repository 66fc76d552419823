-- One outbox row per active subscriber of the notice's county (an empty
-- county list subscribes to every county), in the notice's transaction.
INSERT INTO outbox (notice_id, subscriber_id, idempotency_key, next_attempt_at)
SELECT $1, s.id, gen_random_uuid(), now()
FROM subscribers s
WHERE s.active
  AND (s.county_ids = '{}' OR $2::bigint = ANY (s.county_ids))
ORDER BY s.id;
