import { sql, type SQL } from "drizzle-orm";
import { type IdPrefix, newId } from "../lib/ids";

/**
 * A fresh id per row for statements that insert many rows at once (`INSERT … SELECT`): the
 * prefix and time part `newId` gives for `now`, then 16 random hex digits (hex is a subset of the
 * id alphabet, so the shape is every id's). Ids made this way sort by time like all others.
 */
export function idPerRowSql(prefix: IdPrefix, now: string): SQL {
  const timed = newId(prefix, Date.parse(now)).slice(0, prefix.length + 11);
  return sql`${timed} || lower(hex(randomblob(8)))`;
}
