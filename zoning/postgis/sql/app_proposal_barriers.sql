-- The barriers on proposal $1's boundary as a GeoJSON FeatureCollection, and
-- whether the proposal exists.
WITH p AS (SELECT boundary_barriers bb FROM proposals WHERE id = $1),
		refs AS (SELECT (r->>'id')::bigint AS id, (r->>'shared_length_m')::float8 AS len FROM p, jsonb_array_elements(p.bb) r)
		SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
			'type', 'Feature', 'id', b.id, 'geometry', ST_AsGeoJSON(b.geom, 6)::json,
			'properties', json_build_object('kind', b.kind, 'class', b.road_class, 'name', b.name, 'shared_length_m', refs.len))), '[]'))::text,
		EXISTS (SELECT 1 FROM proposals WHERE id = $1)
		FROM refs JOIN barriers b ON b.id = refs.id
