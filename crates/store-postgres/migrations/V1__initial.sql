CREATE SEQUENCE gameball_ids;
CREATE SEQUENCE claim_seq;

CREATE TABLE tenants (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    apikey          TEXT    NOT NULL UNIQUE,
    secret_hash     TEXT    NOT NULL,
    high_security   BOOLEAN NOT NULL DEFAULT TRUE,
    -- Round-robin position: the tenant served longest ago is claimed from first.
    last_claim_seq  BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    tenant_id        BIGINT  NOT NULL REFERENCES tenants (id),
    type             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    item_count       INTEGER NOT NULL,
    cursor           INTEGER NOT NULL DEFAULT 0,
    finished_count   INTEGER NOT NULL DEFAULT 0,
    error_count      INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    idempotency_key  TEXT,
    body_hash        TEXT,
    lease_token      BIGINT  NOT NULL DEFAULT 0,
    lease_expires_at BIGINT,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    expires_at       BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_runnable ON jobs (status, id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_unfinished_by_tenant ON jobs (tenant_id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE job_items (
    job_id      BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    items       TEXT    NOT NULL,
    PRIMARY KEY (job_id, first_index)
);

CREATE TABLE job_results (
    job_id      BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_index INTEGER NOT NULL,
    successful  TEXT    NOT NULL,
    failed      TEXT    NOT NULL,
    PRIMARY KEY (job_id, first_index)
);

CREATE TABLE customers (
    gameball_id BIGINT PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    customer_id TEXT   NOT NULL,
    profile     TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, customer_id)
);

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   BIGINT  NOT NULL,
    gameball_id BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    job_id      BIGINT,
    item_index  INTEGER
);
CREATE INDEX events_by_customer ON events (gameball_id);
