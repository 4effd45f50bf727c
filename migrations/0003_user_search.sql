-- Substring search over username, first name, last name and email, served by an FTS5 trigram
-- index instead of a scan of the tenant's users. The index reads its content from `users`
-- (external content, keyed by the users rowid) and triggers keep it in step with every write.
-- Terms shorter than three characters cannot use trigrams and fall back to LIKE (see
-- src/users/repo.ts).
CREATE VIRTUAL TABLE users_search USING fts5(
  username, first_name, last_name, email,
  content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
);
--> statement-breakpoint
INSERT INTO users_search (rowid, username, first_name, last_name, email)
  SELECT rowid, username, first_name, last_name, email FROM users;
--> statement-breakpoint
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
  INSERT INTO users_search (rowid, username, first_name, last_name, email)
  VALUES (new.rowid, new.username, new.first_name, new.last_name, new.email);
END;
--> statement-breakpoint
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
  INSERT INTO users_search (users_search, rowid, username, first_name, last_name, email)
  VALUES ('delete', old.rowid, old.username, old.first_name, old.last_name, old.email);
END;
--> statement-breakpoint
CREATE TRIGGER users_search_update AFTER UPDATE OF username, first_name, last_name, email ON users BEGIN
  INSERT INTO users_search (users_search, rowid, username, first_name, last_name, email)
  VALUES ('delete', old.rowid, old.username, old.first_name, old.last_name, old.email);
  INSERT INTO users_search (rowid, username, first_name, last_name, email)
  VALUES (new.rowid, new.username, new.first_name, new.last_name, new.email);
END;
