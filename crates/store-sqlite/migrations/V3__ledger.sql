-- Program settings (SPEC §6) as JSON; absent keys take their defaults.
ALTER TABLE tenants ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

-- A customer's open lots and active holds (domain::ledger::Ledger as JSON),
-- rewritten with every movement; `movements` keeps the full history.
ALTER TABLE customers ADD COLUMN ledger TEXT NOT NULL DEFAULT '{}';

INSERT INTO counters (name, value) VALUES ('movement_id', 0);

-- Every movement of points, append-only. `id` is the gameballTransactionId.
CREATE TABLE movements (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    gameball_id      INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    transaction_id   TEXT,
    hold_reference   TEXT,
    points           INTEGER NOT NULL,
    amount           TEXT,
    transaction_time INTEGER NOT NULL,
    entry            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    job_id           INTEGER,
    item_index       INTEGER
);
-- The backstop of transactionId uniqueness per tenant (9004).
CREATE UNIQUE INDEX movements_transaction_id ON movements (tenant_id, transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX movements_by_customer ON movements (gameball_id, id);
CREATE INDEX movements_by_hold ON movements (tenant_id, hold_reference)
    WHERE hold_reference IS NOT NULL;
