-- Placeholder on branch i16 for a migration another branch adds
-- (migration versions must have no gaps). Delete this file at the merge.
SELECT 1;
