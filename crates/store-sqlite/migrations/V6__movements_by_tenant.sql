-- GET /transactions pages a tenant's movements by id.
CREATE INDEX movements_by_tenant ON movements (tenant_id, id);
