-- Placeholder for migration 009, which another branch of issue 17 adds
-- (tern numbers migrations without gaps). It changes nothing; the merge
-- replaces this file with that branch's 009.
SELECT 1;
