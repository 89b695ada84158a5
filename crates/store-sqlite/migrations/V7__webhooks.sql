-- Webhook endpoints, and one delivery per (endpoint, job) written in the
-- transaction that ends the job. job_id has no foreign key: a delivery
-- outlives its job's retention; event ids are evt_<job_id>.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    url         TEXT   NOT NULL,
    events      TEXT   NOT NULL,
    secret      TEXT   NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER  NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id           INTEGER  NOT NULL,
    event_type       TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    last_attempt_at  INTEGER,
    next_attempt_at  INTEGER,
    delivered_at     INTEGER,
    lease_token      INTEGER  NOT NULL DEFAULT 0,
    lease_until      INTEGER  NOT NULL DEFAULT 0,
    created_at       INTEGER  NOT NULL,
    UNIQUE (webhook_id, job_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_settled ON webhook_deliveries (last_attempt_at) WHERE status <> 'pending';
