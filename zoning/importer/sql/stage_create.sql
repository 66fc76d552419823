-- JIT compiling the import's large statements costs seconds and saves
-- nothing on rows this simple; memoizing LATERAL geometry steps hashes every
-- geometry for a cache that never hits.
SET LOCAL jit = off;
SET LOCAL enable_memoize = off;
-- Hashes of a million staged rows stay in memory (one import runs at a time).
SET LOCAL work_mem = '256MB';

-- The staging tables of one import. They live in the import transaction and
-- vanish with it (ON COMMIT DROP), whether it commits or rolls back.
CREATE TEMP TABLE import_params (
    source           text NOT NULL,
    layers           text[] NOT NULL,
    scoped           boolean NOT NULL,
    persons_per_m2   double precision NOT NULL,
    default_floors   int NOT NULL,
    unit_width_m     double precision NOT NULL,
    max_units        int NOT NULL,
    flats_per_floor  int NOT NULL,
    derive_units     boolean NOT NULL
) ON COMMIT DROP;

-- One row per feature and layer as read from the file; geometry as WKB.
-- Layer 'scope' is the area of --county-relation. A residential building
-- carries the strips its units would be (unit_wkb, a MultiPolygon, strip i
-- is unit i) and whether they are the units themselves (fills); clip_wkb, when
-- set, is the footprint clipped to each strip in Go (unitsplit.go).
CREATE TEMP TABLE import_stage (
    seq                bigint NOT NULL,
    layer              text NOT NULL,
    source_id          text NOT NULL,
    kind               text,
    road_class         text,
    name               text NOT NULL DEFAULT '',
    name_en            text NOT NULL DEFAULT '',
    addr_district      text NOT NULL DEFAULT '',
    addr_street        text NOT NULL DEFAULT '',
    addr_community     text NOT NULL DEFAULT '',
    addr_compound      text NOT NULL DEFAULT '',
    addr_number        text NOT NULL DEFAULT '',
    floors             int,
    flats              int,
    single_unit        boolean NOT NULL DEFAULT false,
    population         int,
    building_ref       text,
    number             int,
    enclosed           boolean,
    poorly_ventilated  boolean,
    fills              boolean NOT NULL DEFAULT false,
    h3_r11             bigint,
    area_m2            double precision,
    wkb                bytea,
    unit_wkb           bytea,
    clip_wkb           bytea
) ON COMMIT DROP;

-- The area the import covers (--county-relation or --bbox); empty: everything.
CREATE TEMP TABLE import_scope (geom geometry NOT NULL) ON COMMIT DROP;

-- Ids of the rows this import added or changed, per layer.
CREATE TEMP TABLE import_touched (
    layer     text NOT NULL,
    id        bigint NOT NULL,
    inserted  boolean NOT NULL
) ON COMMIT DROP;
