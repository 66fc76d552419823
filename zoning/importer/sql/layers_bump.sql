-- Bump the versions of the layers an import changed and tell every replica
-- (delivered on commit, like all writers' notices on riskzone_layers).
WITH bumped AS (
    UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer = ANY ($1) RETURNING layer
)
SELECT pg_notify('riskzone_layers', string_agg(layer, ',' ORDER BY layer)) FROM bumped
