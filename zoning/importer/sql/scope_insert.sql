INSERT INTO import_scope (geom) VALUES (ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB($1, 4326)), 3)))
