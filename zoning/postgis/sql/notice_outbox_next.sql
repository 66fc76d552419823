-- Seconds until the next delivery falls due (a pending row's next attempt,
-- or a running row's lease expiry); NULL when nothing waits.
SELECT extract(epoch FROM least(
    (SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'),
    (SELECT min(locked_until) FROM outbox WHERE state = 'running')) - now())::float8;
