-- Orders and refunds: the order a movement belongs to, the transaction a refund reverses.
ALTER TABLE movements ADD COLUMN order_id TEXT;
ALTER TABLE movements ADD COLUMN reverses TEXT;
CREATE INDEX movements_by_order ON movements (tenant_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX movements_by_reversed ON movements (tenant_id, reverses) WHERE reverses IS NOT NULL;
