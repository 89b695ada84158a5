CREATE TABLE tenants (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    apikey          TEXT    NOT NULL UNIQUE,
    secret_hash     TEXT    NOT NULL,
    high_security   INTEGER NOT NULL DEFAULT 1,
    -- Round-robin position: the tenant served longest ago is claimed from first.
    last_claim_seq  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('gameball_id', 0), ('claim_seq', 0);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    type             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    item_count       INTEGER NOT NULL,
    cursor           INTEGER NOT NULL DEFAULT 0,
    finished_count   INTEGER NOT NULL DEFAULT 0,
    error_count      INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    idempotency_key  TEXT,
    body_hash        TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    expires_at       INTEGER
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_runnable ON jobs (status, id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_unfinished_by_tenant ON jobs (tenant_id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;

-- A job's items, as JSON-array segments; deleted when the job ends.
CREATE TABLE job_items (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    items       TEXT    NOT NULL,
    PRIMARY KEY (job_id, first_index)
);

-- One row per committed chunk: its rendered successful and failed entries.
CREATE TABLE job_results (
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    successful  TEXT    NOT NULL,
    failed      TEXT    NOT NULL,
    PRIMARY KEY (job_id, first_index)
);

CREATE TABLE customers (
    gameball_id INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    customer_id TEXT    NOT NULL,
    profile     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, customer_id)
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    gameball_id INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    job_id      INTEGER,
    item_index  INTEGER
);
CREATE INDEX events_by_customer ON events (gameball_id);
