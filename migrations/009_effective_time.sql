-- A notice changes the public map at its effective time, not at its
-- publication (issue 17 §4): a lift published today and effective tomorrow
-- leaves the zone on the public map, lookup, tiles and exports until then.
--
-- One definition of "in force at time T" serves "now" and "as of":
--
--   - public_zone_timeline: every zone version an actual notice announced,
--     in force from that notice's effective time (valid_from) until a newer
--     announced version of the zone took effect (valid_to; NULL while in
--     force). "Newer" is by version, not by effective time: a version
--     announced later but effective sooner supersedes an older one that was
--     still waiting for its effective time, which is then never in force
--     (valid_to = valid_from, an empty span).
--   - public_zone_versions_at(T): the version of each zone in force at T:
--     its newest published version (published_notice_id, set on every
--     version an actual notice published) whose notice took effect by T.
--     It is the timeline's version with valid_from <= T < valid_to: both
--     take the newest version by number among those already in effect.
--   - public_zone_versions: public_zone_versions_at(riskzone_now()), the
--     view every public reader of the current map uses.
--
-- riskzone_now() is the database's clock of the public map: now(), unless
-- the setting riskzone.clock names another instant (tests move it to check
-- what the public sees before and after an effective time; production never
-- sets it).
CREATE FUNCTION riskzone_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('riskzone.clock', true), '')::timestamptz, now())
$$;

DROP VIEW public_zone_versions;
DROP VIEW public_zone_timeline;

CREATE VIEW public_zone_timeline AS
SELECT t.zone_id, t.version, t.county_id, t.notice_id, t.valid_from,
       CASE WHEN t.next_from IS NULL THEN NULL ELSE greatest(t.next_from, t.valid_from) END AS valid_to
FROM (
    SELECT nz.zone_id, nz.version, z.county_id, n.id AS notice_id, n.effective_at AS valid_from,
           min(n.effective_at) OVER (PARTITION BY nz.zone_id ORDER BY nz.version, n.id
                                     ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_from
    FROM notice_zones nz
    JOIN notices n ON n.id = nz.notice_id
    JOIN zones z ON z.id = nz.zone_id
    WHERE n.status = 'actual'
) t;

-- The columns of public_zone_versions (migration 005) and, last, when the
-- version took effect (in_force_from: its notice's effective time).
CREATE FUNCTION public_zone_versions_at(at timestamptz)
RETURNS TABLE (zone_id bigint, version int, level text, status text, change text, name text, geom geometry,
               building_ids bigint[], unit_ids bigint[], population int, staff_required int, area_m2 double precision,
               rule_set_id text, clock_start date, valid_from timestamptz, published_notice_id bigint, county_id bigint,
               in_force_from timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (zv.zone_id)
           zv.zone_id, zv.version, zv.level, zv.status, zv.change, zv.name, zv.geom, zv.building_ids, zv.unit_ids,
           zv.population, zv.staff_required, zv.area_m2, zv.rule_set_id, zv.clock_start, zv.valid_from,
           zv.published_notice_id, z.county_id, n.effective_at
    FROM zone_versions zv
    JOIN notices n ON n.id = zv.published_notice_id
    JOIN zones z ON z.id = zv.zone_id
    WHERE n.status = 'actual' AND n.effective_at <= at
    ORDER BY zv.zone_id, zv.version DESC
$$;

CREATE VIEW public_zone_versions AS
SELECT zone_id, version, level, status, change, name, geom::geometry(MultiPolygon, 4326) AS geom, building_ids, unit_ids,
       population, staff_required, area_m2, rule_set_id, clock_start, valid_from, published_notice_id, county_id,
       in_force_from
FROM public_zone_versions_at(riskzone_now());

-- The scheduler's wake-up looks for the actual notices that took effect
-- after they were published.
CREATE INDEX notices_effective ON notices (effective_at) WHERE status = 'actual';
