-- The public map changes when a notice published ahead of its effective
-- time takes effect (view public_zone_versions, migration 009): bump the
-- zones layer once that time has passed, unless the layer already moved
-- since (its changed_at is later), so caches keyed by layer versions (tiles,
-- the lookup index, pages) rebuild. Several replicas may run it at once: the
-- row lock and the re-checked condition bump once. Returns the layers bumped.
WITH due AS (
    SELECT max(effective_at) AS at FROM notices
    WHERE status = 'actual' AND effective_at > published_at AND effective_at <= riskzone_now()
), bumped AS (
    UPDATE layer_versions SET version = version + 1, changed_at = riskzone_now()
    WHERE layer = 'zones' AND changed_at < (SELECT at FROM due)
    RETURNING layer
)
SELECT count(pg_notify('riskzone_layers', '[' || layer || ']'))::int FROM bumped
