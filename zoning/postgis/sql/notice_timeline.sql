-- The public timeline (view public_zone_timeline): every zone version an
-- actual notice announced, shown from that notice's effective time until the
-- zone's next notice took effect, with what the lookup keeps of it.
SELECT t.zone_id, t.version, t.county_id, v.name, v.level, v.status, t.notice_id, t.valid_from, t.valid_to,
       v.clock_start + r.clean_days, ST_AsBinary(v.geom)
FROM public_zone_timeline t
JOIN zone_versions v ON v.zone_id = t.zone_id AND v.version = t.version AND v.published_notice_id IS NOT NULL
JOIN rule_sets r ON r.id = v.rule_set_id
ORDER BY t.zone_id, t.valid_from, t.notice_id;
