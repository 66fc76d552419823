-- Give back a claimed row without attempting it ($1 outbox id, $2 the
-- attempt claimed, $3 seconds until it is due): an earlier notice to the
-- same subscriber failed, or the lease would end before the attempt could.
-- The claim's attempt is taken back, since nothing was sent.
UPDATE outbox
SET state = 'pending',
    attempts = attempts - 1,
    locked_until = NULL,
    next_attempt_at = now() + make_interval(secs => $3)
WHERE id = $1 AND attempts = $2 AND state = 'running';
