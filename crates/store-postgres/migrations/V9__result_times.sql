-- The console's chart of items processed per minute: each results row says
-- how many items its chunk processed and when it committed (older rows: 0, NULL).
ALTER TABLE job_results ADD COLUMN items INTEGER NOT NULL DEFAULT 0;
ALTER TABLE job_results ADD COLUMN committed_at BIGINT;
