-- POST /batch/{jobId}/retry: the job made of this job's failed items (at most one).
ALTER TABLE jobs ADD COLUMN retried_as BIGINT;
