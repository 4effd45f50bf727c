/**
 * A string as SQLite's built-in lower() makes it: A–Z folded, every other character left as it
 * is (D1 has no ICU). Keys that JavaScript compares with what an index holds must be folded this
 * way, not with toLowerCase(), or "Émile" and "émile" land in different places.
 */
export const sqliteLower = (s: string): string => s.replace(/[A-Z]+/g, (run) => run.toLowerCase());
