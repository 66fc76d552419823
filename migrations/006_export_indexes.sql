-- Data out (issue 9, docs/ogc.md): the OGC collections and exports page by
-- key (the primary keys of buildings, barriers, notices, cases, traces and
-- zone_versions serve them) and look up the notices of a zone for the
-- public history (zone-versions, datetime filters, "since" and notice ids).
CREATE INDEX notice_zones_zone ON notice_zones (zone_id, version);
