-- A write batch's refusals, checked inside the batch itself (src/auth/guards.ts). The batch's first
-- statement inserts into this view the reason the write must be refused, or no row when it may
-- go ahead; the trigger turns a reason into an ABORT, and D1 rolls the whole batch back (one
-- round trip, nothing changed). The view stores nothing: inserting into it only runs the trigger.
CREATE VIEW write_guard AS SELECT NULL AS failure WHERE 0;
--> statement-breakpoint
CREATE TRIGGER write_guard_refuse INSTEAD OF INSERT ON write_guard
WHEN NEW.failure IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, NEW.failure);
END;
