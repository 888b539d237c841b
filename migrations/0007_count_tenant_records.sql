-- Records stored per tenant, kept by each batch's transaction, so that the limit on them
-- (TRIBUTARY_MAX_RECORDS_PER_TENANT) is checked without counting millions of rows.
ALTER TABLE tenants ADD COLUMN record_count bigint NOT NULL DEFAULT 0;
UPDATE tenants t SET record_count = (SELECT count(*) FROM records r WHERE r.tenant_id = t.id);
