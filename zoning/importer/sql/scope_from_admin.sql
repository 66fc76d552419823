-- The scope of --county-relation: the relation's area as read from the file.
INSERT INTO import_scope (geom)
SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(s.wkb, 4326)), 3))
FROM import_stage s
WHERE s.layer = 'scope'
