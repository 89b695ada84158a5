-- Item segments and result blocks are written once, read a few times and
-- deleted or purged: compressing them (pglz) cost ~6% of the CPU of a batch run.
ALTER TABLE job_items ALTER COLUMN items SET STORAGE EXTERNAL;
ALTER TABLE job_results ALTER COLUMN successful SET STORAGE EXTERNAL;
ALTER TABLE job_results ALTER COLUMN failed SET STORAGE EXTERNAL;
