-- Exact totals for page mode without counting rows. Every change that moves a total moves its
-- counter in the same statement, through triggers, so no write path (API, import, purge, a
-- direct INSERT) can forget one, and a rolled-back batch rolls its counts back with it.
--
-- user_counts: live users (deleted_at IS NULL: users being purged do not count) of a tenant by
-- (role, is_active, is_managed); role '' is every user, any other role the users who hold it.
-- A page whose filters are among is_active, is_managed and role sums at most four rows.
CREATE TABLE `user_counts` (
	`tenant_id` text NOT NULL,
	`role` text NOT NULL,
	`is_active` integer NOT NULL,
	`is_managed` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `role`, `is_active`, `is_managed`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
  SELECT tenant_id, '', is_active, is_managed, count(*) FROM users WHERE deleted_at IS NULL
  GROUP BY tenant_id, is_active, is_managed;
--> statement-breakpoint
INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
  SELECT u.tenant_id, ur.role, u.is_active, u.is_managed, count(*)
  FROM user_roles ur JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id
  WHERE u.deleted_at IS NULL
  GROUP BY u.tenant_id, ur.role, u.is_active, u.is_managed;
--> statement-breakpoint
CREATE TRIGGER users_count_insert AFTER INSERT ON users WHEN NEW.deleted_at IS NULL BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
  VALUES (NEW.tenant_id, '', NEW.is_active, NEW.is_managed, 1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
-- A user leaves their old buckets and joins the new ones (marking them deleted joins none).
CREATE TRIGGER users_count_update AFTER UPDATE OF is_active, is_managed, deleted_at ON users
WHEN OLD.is_active IS NOT NEW.is_active OR OLD.is_managed IS NOT NEW.is_managed
  OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT OLD.tenant_id, r.role, OLD.is_active, OLD.is_managed, -1
    FROM (SELECT '' AS role UNION ALL
          SELECT role FROM user_roles WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id) r
    WHERE OLD.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT NEW.tenant_id, r.role, NEW.is_active, NEW.is_managed, 1
    FROM (SELECT '' AS role UNION ALL
          SELECT role FROM user_roles WHERE tenant_id = NEW.tenant_id AND user_id = NEW.id) r
    WHERE NEW.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
-- BEFORE, while the user's role grants are still there: when the delete cascades to them, the
-- user row is already gone and user_roles_count_delete finds no live user to move.
CREATE TRIGGER users_count_delete BEFORE DELETE ON users WHEN OLD.deleted_at IS NULL BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT OLD.tenant_id, r.role, OLD.is_active, OLD.is_managed, -1
    FROM (SELECT '' AS role UNION ALL
          SELECT role FROM user_roles WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id) r
    WHERE true
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER user_roles_count_insert AFTER INSERT ON user_roles BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT u.tenant_id, NEW.role, u.is_active, u.is_managed, 1 FROM users u
    WHERE u.tenant_id = NEW.tenant_id AND u.id = NEW.user_id AND u.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER user_roles_count_delete AFTER DELETE ON user_roles BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT u.tenant_id, OLD.role, u.is_active, u.is_managed, -1 FROM users u
    WHERE u.tenant_id = OLD.tenant_id AND u.id = OLD.user_id AND u.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER user_roles_count_update AFTER UPDATE ON user_roles BEGIN
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT u.tenant_id, OLD.role, u.is_active, u.is_managed, -1 FROM users u
    WHERE u.tenant_id = OLD.tenant_id AND u.id = OLD.user_id AND u.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO user_counts (tenant_id, role, is_active, is_managed, n)
    SELECT u.tenant_id, NEW.role, u.is_active, u.is_managed, 1 FROM users u
    WHERE u.tenant_id = NEW.tenant_id AND u.id = NEW.user_id AND u.deleted_at IS NULL
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
-- A role can only be deleted once nobody holds it: its buckets are all zero by then.
CREATE TRIGGER roles_count_delete AFTER DELETE ON roles BEGIN
  DELETE FROM user_counts WHERE tenant_id = OLD.tenant_id AND role = OLD.name;
END;
--> statement-breakpoint
-- event_counts: events per (tenant, type); tenant_id '' holds the platform-level events
-- (tenant_id NULL). The whole feed's total sums one row per event type.
CREATE TABLE `event_counts` (
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `type`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO event_counts (tenant_id, type, n)
  SELECT coalesce(tenant_id, ''), type, count(*) FROM events GROUP BY coalesce(tenant_id, ''), type;
--> statement-breakpoint
CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
  INSERT INTO event_counts (tenant_id, type, n) VALUES (coalesce(NEW.tenant_id, ''), NEW.type, 1)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
  UPDATE event_counts SET n = n - 1 WHERE tenant_id = coalesce(OLD.tenant_id, '') AND type = OLD.type;
END;
--> statement-breakpoint
-- live_tenants: the platform's tenant list total (tenants not marked deleted), one row.
CREATE TABLE `live_tenants` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`n` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO live_tenants (id, n) SELECT 1, count(*) FROM tenants WHERE deleted_at IS NULL;
--> statement-breakpoint
CREATE TRIGGER tenants_count_insert AFTER INSERT ON tenants WHEN NEW.deleted_at IS NULL BEGIN
  UPDATE live_tenants SET n = n + 1 WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER tenants_count_update AFTER UPDATE OF deleted_at ON tenants
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
  UPDATE live_tenants SET n = n + (CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END) WHERE id = 1;
END;
--> statement-breakpoint
-- A purged tenant takes its counters along (user_counts goes by its foreign key).
CREATE TRIGGER tenants_count_delete AFTER DELETE ON tenants BEGIN
  UPDATE live_tenants SET n = n - 1 WHERE id = 1 AND OLD.deleted_at IS NULL;
  DELETE FROM event_counts WHERE tenant_id = OLD.id;
END;
