INSERT INTO import_params (source, layers, scoped, persons_per_m2, default_floors, unit_width_m, max_units, flats_per_floor, derive_units)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
