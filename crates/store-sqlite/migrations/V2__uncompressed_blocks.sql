-- PostgreSQL's V2 stores item segments and result blocks uncompressed. SQLite
-- never compresses them: nothing to do here. This migration exists so that the
-- two stores' migrations correspond one to one, with matching names.
SELECT 1;
