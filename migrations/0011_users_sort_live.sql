-- The sort indexes hold live users only. Every read of the list (and its totals) says
-- `u.deleted_at IS NULL`, which SQLite accepts as implying the indexes' condition. With the flag
-- in the index, a page-mode page n walks (n − 1) × page size index entries and reads only its own
-- page's rows; before, each row it skipped was read from the table to test deleted_at (3.8× the
-- time for page 2,500 at 100,000 users in SQLite). The same number of indexes as before.
DROP INDEX users_created_idx;
--> statement-breakpoint
CREATE INDEX users_created_idx ON users (tenant_id, created_at, id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_username_idx;
--> statement-breakpoint
CREATE INDEX users_sort_username_idx ON users (tenant_id, coalesce(lower(username), ''), id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_email_idx;
--> statement-breakpoint
CREATE INDEX users_sort_email_idx ON users (tenant_id, coalesce(lower(email), ''), id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_first_name_idx;
--> statement-breakpoint
CREATE INDEX users_sort_first_name_idx ON users (tenant_id, coalesce(lower(first_name), ''), id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_last_name_idx;
--> statement-breakpoint
CREATE INDEX users_sort_last_name_idx ON users (tenant_id, coalesce(lower(last_name), ''), id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_last_login_idx;
--> statement-breakpoint
CREATE INDEX users_sort_last_login_idx ON users (tenant_id, coalesce(last_login_at, ''), id) WHERE deleted_at IS NULL;
--> statement-breakpoint
DROP INDEX users_sort_is_active_idx;
--> statement-breakpoint
CREATE INDEX users_sort_is_active_idx ON users (tenant_id, is_active, id) WHERE deleted_at IS NULL;
