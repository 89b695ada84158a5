-- A number that moves whenever a tenant's keys, name or settings change (in
-- the same transaction, by trigger, whoever writes them): each node caches
-- tenants and settings and drops its copies when it sees the number move.
CREATE TABLE config_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO config_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION bump_config_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_changed
AFTER UPDATE OF name, apikey, secret_hash, high_security, settings ON tenants
FOR EACH ROW EXECUTE FUNCTION bump_config_generation();

CREATE TRIGGER tenants_removed
AFTER DELETE ON tenants
FOR EACH ROW EXECUTE FUNCTION bump_config_generation();
