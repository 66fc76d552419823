-- Bounded, hierarchical enlargement (issue 17 §1).
--
-- The bounds of an enlargement are rule-set data. An empty object means the
-- engine's documented defaults (zoning.DefaultEnlargementBounds); the two
-- shipped rule sets carry those defaults explicitly so they can be read and
-- changed where the other rules live.
ALTER TABLE rule_sets ADD COLUMN enlargement jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(enlargement) = 'object');
UPDATE rule_sets SET enlargement =
    '{"max_residents": 3000, "max_area_m2": 250000, "max_ratio": 10, "fallback_distance_m": 30, "max_edge_share": 0.5}'
WHERE id IN ('2022-11', '2022-06');

-- Share of a block's boundary that is the county outline: a block bounded
-- mostly by the county edge is where the barriers did not close, and is
-- never used as an enlargement. The block cache is emptied so every set is
-- rebuilt (on demand) with the share filled in.
ALTER TABLE barrier_blocks ADD COLUMN edge_share double precision NOT NULL DEFAULT 0
    CHECK (edge_share BETWEEN 0 AND 1.000001);
DELETE FROM barrier_block_sets;

-- An expert's "enlarge one level" / "shrink one level" makes new proposals
-- that supersede the old one; the old one keeps its geometry for the record.
ALTER TABLE proposals DROP CONSTRAINT proposals_status_check;
ALTER TABLE proposals ADD CONSTRAINT proposals_status_check
    CHECK (status IN ('proposed', 'accepted', 'rejected', 'superseded'));
ALTER TABLE proposals ADD COLUMN superseded_by bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE proposals ADD COLUMN supersedes bigint REFERENCES proposals (id);

-- Whether a proposal's population holds estimated figures (buildings or
-- units with population_derived, or the day-time worker estimate).
ALTER TABLE proposals ADD COLUMN population_estimated boolean NOT NULL DEFAULT false;
-- Estimated day-time population (workers) of the non-residential buildings
-- a trace seeded into the proposal; counted for staff_required.
ALTER TABLE proposals ADD COLUMN workers int NOT NULL DEFAULT 0 CHECK (workers >= 0);
