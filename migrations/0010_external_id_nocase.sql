-- external_id is unique in the tenant ignoring case, as email and username are (the contract's
-- identity rule for create, PATCH and import). The index compares lower(external_id); every
-- lookup compares that same expression, which SQLite accepts as implying the partial index's
-- condition. A tenant that already holds two external ids differing only in case makes this
-- migration fail: resolve them before applying it.
DROP INDEX users_external_id_uq;
--> statement-breakpoint
CREATE UNIQUE INDEX users_external_id_uq ON users (tenant_id, lower(external_id)) WHERE lower(external_id) IS NOT NULL;
