-- Invariants that must hold whatever the order of concurrent writes: they live in the database
-- so a check and the change it guards are one atomic step (D1 runs each batch as a transaction,
-- and an ABORT here rolls the whole batch back).

-- A tenant that has an active owner always keeps one: removing the owner role, deactivating or
-- deleting the last active owner is refused. A tenant being deleted (deleted_at set) is exempt.
CREATE TRIGGER user_roles_keep_owner AFTER DELETE ON user_roles
WHEN OLD.role = 'owner'
  AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id AND t.deleted_at IS NULL)
  AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = OLD.tenant_id AND u.id = OLD.user_id
              AND u.is_active = 1 AND u.deleted_at IS NULL)
  AND NOT EXISTS (
    SELECT 1 FROM user_roles ur JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
    WHERE ur.tenant_id = OLD.tenant_id AND ur.role = 'owner' AND u.is_active = 1 AND u.deleted_at IS NULL)
BEGIN
  SELECT RAISE(ABORT, 'last_owner');
END;
--> statement-breakpoint
CREATE TRIGGER users_keep_owner AFTER UPDATE OF is_active, deleted_at ON users
WHEN OLD.is_active = 1 AND OLD.deleted_at IS NULL AND (NEW.is_active = 0 OR NEW.deleted_at IS NOT NULL)
  AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = OLD.tenant_id AND t.deleted_at IS NULL)
  AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.tenant_id = OLD.tenant_id AND ur.user_id = OLD.id AND ur.role = 'owner')
  AND NOT EXISTS (
    SELECT 1 FROM user_roles ur JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
    WHERE ur.tenant_id = OLD.tenant_id AND ur.role = 'owner' AND u.is_active = 1 AND u.deleted_at IS NULL)
BEGIN
  SELECT RAISE(ABORT, 'last_owner');
END;
