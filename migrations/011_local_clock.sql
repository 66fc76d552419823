-- China's clock and lifecycle rules (issue 17, §3 and §4).
--
-- The calendar of a county: every day of its zone clocks (report dates,
-- "today", L, L + clean days, screening and designation dates) is a day in
-- this IANA time zone, never a UTC day.
ALTER TABLE admin_areas ADD COLUMN time_zone text NOT NULL DEFAULT 'Asia/Shanghai';

-- The day a zone was designated, in its county's calendar: the floor of its
-- clock when the clock is recomputed from its members' cases (adjust,
-- split). A split part keeps its parent's; a merged zone takes the latest
-- of its parents'.
ALTER TABLE zones ADD COLUMN designated_on date;
WITH RECURSIVE lineage (id, day) AS (
    SELECT z.id, v.clock_start
    FROM zones z
    JOIN zone_versions v ON v.zone_id = z.id AND v.version = 1
    WHERE z.parent_zone_ids = '{}'
    UNION ALL
    SELECT z.id, l.day
    FROM zones z
    JOIN lineage l ON l.id = ANY (z.parent_zone_ids)
)
UPDATE zones z SET designated_on = d.day
FROM (SELECT id, max(day) AS day FROM lineage GROUP BY id) d
WHERE d.id = z.id;

-- A screening round covers the zone's population at the version it was
-- recorded against. A round that tested fewer people than that (or entered
-- a smaller population) is kept only with a reason, as partial coverage,
-- and never makes the zone eligible for lifting.
ALTER TABLE screenings
    ADD COLUMN zone_version int,
    ADD COLUMN zone_population int CHECK (zone_population >= 0),
    ADD COLUMN partial_reason text CHECK (partial_reason IS NULL OR length(btrim(partial_reason)) > 0);
