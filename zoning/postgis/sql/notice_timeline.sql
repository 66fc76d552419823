-- The public timeline: every published zone version a notice announced,
-- shown from that notice's effective time until the zone's next notice took
-- effect. Only versions with a published notice are read.
SELECT nz.zone_id, nz.version, z.county_id, v.name, v.level, v.status, n.id, n.effective_at,
       lead(n.effective_at) OVER (PARTITION BY nz.zone_id ORDER BY n.effective_at, n.id),
       v.clock_start + r.clean_days, ST_AsBinary(v.geom)
FROM notice_zones nz
JOIN notices n ON n.id = nz.notice_id
JOIN zone_versions v ON v.zone_id = nz.zone_id AND v.version = nz.version AND v.published_notice_id IS NOT NULL
JOIN zones z ON z.id = nz.zone_id
JOIN rule_sets r ON r.id = v.rule_set_id
WHERE n.status = 'actual' -- test and exercise notices change no map
ORDER BY nz.zone_id, n.effective_at, n.id;
