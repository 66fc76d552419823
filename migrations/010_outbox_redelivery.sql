-- Redelivery of dead webhook deliveries (issue 17 §5): an admin puts a dead
-- outbox row back to pending, with its original idempotency key. The row
-- keeps counting its attempts (delivery_attempts numbers them), so the retry
-- budget of the redelivered row counts from retry_base, the attempts made
-- before its latest redelivery.
ALTER TABLE outbox
    ADD COLUMN retry_base     int NOT NULL DEFAULT 0 CHECK (retry_base >= 0),
    ADD COLUMN redeliveries   int NOT NULL DEFAULT 0 CHECK (redeliveries >= 0),
    ADD COLUMN redelivered_at timestamptz,
    ADD CONSTRAINT outbox_retry_base_le_attempts CHECK (retry_base <= attempts);
