-- The outbox for the metrics: rows by state (as a JSON object), the age of
-- the oldest due delivery in seconds, and the failed attempts so far.
SELECT coalesce((SELECT jsonb_object_agg(state, n) FROM (SELECT state, count(*) AS n FROM outbox GROUP BY state) s), '{}'),
       coalesce((SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM outbox
                 WHERE state IN ('pending', 'running') AND next_attempt_at <= now()), 0)::float8,
       (SELECT count(*) FROM delivery_attempts WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)::float8
