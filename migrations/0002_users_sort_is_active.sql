-- Sorting the users list by is_active (`sort=is_active` / `-is_active`, then id) had no index of
-- its own: SQLite read every user of the tenant and sorted them in a temporary B-tree. Like the
-- other sort keys, it gets a (tenant_id, key, id) index that serves the order and the keyset seek.
CREATE INDEX `users_sort_is_active_idx` ON `users` (`tenant_id`,`is_active`,`id`);
