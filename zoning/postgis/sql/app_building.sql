-- Building $1 as a GeoJSON feature with its address, population and units.
SELECT json_build_object('type', 'Feature', 'id', b.id,
		'geometry', ST_AsGeoJSON(b.geom, 6)::json,
		'properties', json_build_object('id', b.id, 'name', b.name, 'kind', b.kind,
			'address', concat_ws(' ', nullif(b.addr_street, ''), nullif(b.addr_compound, ''), nullif(b.addr_number || '号楼', '号楼')),
			'compound', b.addr_compound, 'number', b.addr_number, 'population', b.population,
			'units', (SELECT count(*) FROM units u WHERE u.building_id = b.id), 'county_id', b.county_id,
			'center', json_build_array(round(ST_X(ST_PointOnSurface(b.geom))::numeric, 6), round(ST_Y(ST_PointOnSurface(b.geom))::numeric, 6))))::text
	FROM buildings b
WHERE b.id = $1
