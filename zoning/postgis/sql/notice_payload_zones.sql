-- The zones of a notice's webhook payload: each zone version it changed,
-- as GeoJSON (RFC 7946: counter-clockwise exterior rings), public fields only.
-- A test or exercise notice carries the zones it rehearses, published or not.
SELECT nz.zone_id, nz.version, v.name, v.level, v.status, v.change, v.population, v.clock_start,
       v.clock_start + r.clean_days, ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), 6)
FROM notice_zones nz
JOIN notices n ON n.id = nz.notice_id
JOIN zone_versions v ON v.zone_id = nz.zone_id AND v.version = nz.version
                    AND (v.published_notice_id IS NOT NULL OR n.status <> 'actual')
JOIN rule_sets r ON r.id = v.rule_set_id
WHERE nz.notice_id = $1
ORDER BY nz.zone_id;
