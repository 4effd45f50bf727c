-- A user's creation as one statement (src/users/create.ts). POST /v1/users wrote the user, their
-- role grants and the `user.created` event as three statements after the write guard; on D1 each
-- statement of a batch has its own cost, and a create is the API's most frequent write. Inserting
-- one row into this view does all of it: the trigger first refuses with the guard's failure (the
-- `failure` column, NULL when every check passed, as for `write_guard`), then inserts the user,
-- one grant per name of the `roles` JSON array, and the event. The view stores nothing.
CREATE VIEW user_creations AS SELECT
  NULL AS failure, NULL AS id, NULL AS tenant_id, NULL AS username, NULL AS email, NULL AS first_name,
  NULL AS last_name, NULL AS is_active, NULL AS is_managed, NULL AS manager_id, NULL AS metadata,
  NULL AS external_id, NULL AS password_hash, NULL AS password_change_required, NULL AS created_at,
  NULL AS roles, NULL AS event_id, NULL AS event_data
WHERE 0;
--> statement-breakpoint
CREATE TRIGGER user_creations_insert INSTEAD OF INSERT ON user_creations
BEGIN
  SELECT RAISE(ABORT, NEW.failure) WHERE NEW.failure IS NOT NULL;
  INSERT INTO users (id, tenant_id, username, email, first_name, last_name, is_active, is_managed, manager_id,
      metadata, external_id, password_hash, password_change_required, created_at, updated_at)
    VALUES (NEW.id, NEW.tenant_id, NEW.username, NEW.email, NEW.first_name, NEW.last_name, NEW.is_active,
      NEW.is_managed, NEW.manager_id, NEW.metadata, NEW.external_id, NEW.password_hash,
      NEW.password_change_required, NEW.created_at, NEW.created_at);
  INSERT INTO user_roles (tenant_id, user_id, role)
    SELECT NEW.tenant_id, NEW.id, value FROM json_each(NEW.roles);
  INSERT INTO events (id, tenant_id, type, data, created_at)
    VALUES (NEW.event_id, NEW.tenant_id, 'user.created', NEW.event_data, NEW.created_at);
END;
--> statement-breakpoint
-- Indexes whose rows only some users have: a user without a username, a manager, an external id
-- or a pending deletion no longer costs an entry in them (every index is a B-tree to write on each
-- insert). Every query that uses them compares the indexed expression itself (lower(username) = ?,
-- manager_id = ?, external_id = ?, deleted_at IS NOT NULL), which SQLite accepts as implying the
-- partial index's condition; uniqueness is unchanged (NULLs were never equal). Email keeps a full
-- index: almost every user has one.
DROP INDEX users_username_uq;
--> statement-breakpoint
CREATE UNIQUE INDEX users_username_uq ON users (tenant_id, lower(username)) WHERE lower(username) IS NOT NULL;
--> statement-breakpoint
DROP INDEX users_manager_idx;
--> statement-breakpoint
CREATE INDEX users_manager_idx ON users (tenant_id, manager_id) WHERE manager_id IS NOT NULL;
--> statement-breakpoint
DROP INDEX users_external_id_uq;
--> statement-breakpoint
CREATE UNIQUE INDEX users_external_id_uq ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
--> statement-breakpoint
DROP INDEX users_deleted_idx;
--> statement-breakpoint
CREATE INDEX users_deleted_idx ON users (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;
