-- Zone changes published (by actual notices) since $1 (by publication time), oldest first,
-- at most $2.
SELECT n.id, n.kind, n.status, n.published_at, n.effective_at, nz.zone_id, nz.version, n.county_id, v.name, v.level, v.status,
       ST_XMin(v.geom), ST_YMin(v.geom), ST_XMax(v.geom), ST_YMax(v.geom)
FROM notices n
JOIN notice_zones nz ON nz.notice_id = n.id
JOIN zone_versions v ON v.zone_id = nz.zone_id AND v.version = nz.version AND v.published_notice_id IS NOT NULL
WHERE n.published_at > $1
  AND n.status = 'actual' -- test and exercise notices change no map
ORDER BY n.published_at, n.id, nz.zone_id
LIMIT $2;
