-- The counties of the expert app's picker with their extents.
SELECT id, name, name_en,
			ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT id, name, name_en, ST_Envelope(geom) AS e FROM admin_areas WHERE level = 'county') a ORDER BY name, id
