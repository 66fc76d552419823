-- End a claimed attempt: $1 outbox id, $2 the attempt claimed (the lease:
-- a row re-claimed after its lease expired is not touched), $3 the new
-- state (delivered, pending, dead), $4 seconds until the next attempt,
-- $5 the error.
UPDATE outbox
SET state = $3,
    next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4) ELSE next_attempt_at END,
    locked_until = NULL,
    last_error = $5,
    delivered_at = CASE WHEN $3 = 'delivered' THEN now() END
WHERE id = $1 AND attempts = $2 AND state = 'running';
