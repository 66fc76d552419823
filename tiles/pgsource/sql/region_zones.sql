-- Published active zones meeting a lon/lat box ($1..$4). Public: zones are
-- read ONLY through public_zone_versions (their latest published version),
-- and nothing derived from cases is selected. since is the day (China time)
-- the published version took effect; lift the earliest possible lifting
-- date, the clock start plus the rule set's clean days.
SELECT p.zone_id AS id, ST_AsBinary(p.geom) AS geom, p.level, p.name,
       to_char(p.valid_from AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS since,
       to_char(p.clock_start + r.clean_days, 'YYYY-MM-DD') AS lift
FROM public_zone_versions p
JOIN rule_sets r ON r.id = p.rule_set_id
WHERE p.status = 'active'
  AND p.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
