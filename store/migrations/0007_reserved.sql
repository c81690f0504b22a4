-- Reserved for the jobs branch (i14-jobs), whose migration takes this
-- number; this placeholder changes nothing and goes when that branch is
-- merged.
SELECT 1;
