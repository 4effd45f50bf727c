import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { base64url, fromBase64url, utf8 } from "./crypto";
import { ApiError, validationError } from "./errors";
import { fieldsOf } from "./fields";

/**
 * Two pagination modes for every list: keyset cursors (default) and numbered pages.
 * Cursors are opaque base64url JSON holding the sort, the position (the sort key values of the
 * edge row), the direction, and a fingerprint of the list's scope and filters: a cursor from
 * another tenant, another filter or another sort is refused rather than silently misused.
 */
export const MAX_PAGE_SIZE = 5000;

const intParam = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

export const paginationQuery = {
  limit: intParam("limit", 1, MAX_PAGE_SIZE)
    .optional()
    .meta({ description: "Cursor mode: items per page (1–5000, default 20)." }),
  cursor: z.string().max(2048).optional().meta({ description: "Cursor mode: next_cursor or previous_cursor of a page." }),
  page: intParam("page", 1, 1_000_000_000).optional().meta({ description: "Page mode: page number from 1." }),
  page_size: intParam("page_size", 1, MAX_PAGE_SIZE)
    .optional()
    .meta({ description: "Page mode: items per page (1–5000)." }),
};

/** A list answer: `{ items, next_cursor, previous_cursor }`, in page mode plus `{ total, page, page_size }`. */
export const listOf = (item: z.ZodType) =>
  z.object({
    items: z.array(item),
    next_cursor: z.string().nullable().optional(),
    previous_cursor: z.string().nullable().optional(),
    total: z.number().int().optional(),
    page: z.number().int().optional(),
    page_size: z.number().int().optional(),
  });

/**
 * A page-mode answer. It keeps the cursor answer's fields (null: page mode issues no cursors)
 * and adds total, page and page_size, so both modes share one shape.
 */
export function numberedPage<T>(items: T[], total: number | undefined, p: { page: number; pageSize: number }) {
  return { items, next_cursor: null, previous_cursor: null, total: total ?? 0, page: p.page, page_size: p.pageSize };
}

export interface PaginationInput {
  limit?: number;
  cursor?: string;
  page?: number;
  page_size?: number;
}

export type Pagination =
  | { mode: "cursor"; limit: number; cursor: CursorState | null }
  | { mode: "page"; page: number; pageSize: number };

export interface SortTerm {
  field: string;
  desc: boolean;
}

export interface CursorState {
  sort: string;
  scope: string;
  dir: "next" | "prev";
  values: (string | number)[];
}

export interface SortableField {
  /** The ORDER BY expression; an index on it (tenant first) serves the sort. */
  expr: SQL;
  /** The same value read from a result row, for the cursor. */
  read: (row: Record<string, unknown>) => string | number;
}

const MIXED_MODES = "Use either limit/cursor or page/page_size, not both.";

/** The pagination fields a query names when it mixes the two modes; none when it does not. */
function mixedModeFields(input: Record<string, unknown>): string[] {
  const named = (keys: string[]) => keys.filter((k) => input[k] !== undefined);
  const cursorMode = named(["limit", "cursor"]);
  const pageMode = named(["page", "page_size"]);
  return cursorMode.length && pageMode.length ? [...cursorMode, ...pageMode] : [];
}

/**
 * A list's query: its own fields and the pagination fields, where mixing the modes is a 422
 * named with every other bad field of the query (the rule runs even when some of them are bad).
 */
export const listQuery = <S extends z.ZodRawShape>(shape: S) =>
  z.object({ ...paginationQuery, ...shape }).superRefine(
    (raw, ctx) => {
      for (const path of mixedModeFields(fieldsOf(raw) ?? {})) {
        ctx.addIssue({ code: "custom", path: [path], message: MIXED_MODES, params: { code: "pagination_mode" } });
      }
    },
    { when: () => true },
  );

/**
 * Picks the mode and decodes the cursor against the list's scope. The query has passed
 * `listQuery`, which refuses mixed modes, so page fields mean page mode.
 */
export function resolvePagination(input: PaginationInput, scope: string): Pagination {
  if (input.page !== undefined || input.page_size !== undefined) {
    return { mode: "page", page: input.page ?? 1, pageSize: input.page_size ?? 20 };
  }
  return { mode: "cursor", limit: input.limit ?? 20, cursor: input.cursor ? decodeCursor(input.cursor, scope) : null };
}

/** Why a `sort` list cannot be used, or null when every term names an allowed field once. */
export function sortProblem(raw: string, allowed: readonly string[]): string | null {
  const seen = new Set<string>();
  for (const part of raw.split(",")) {
    const field = part.startsWith("-") ? part.slice(1) : part;
    if (!allowed.includes(field)) return `Cannot sort by "${field}"; use ${allowed.join(", ")}.`;
    if (seen.has(field)) return `"${field}" appears twice.`;
    seen.add(field);
  }
  return null;
}

/**
 * `sort` as a query field: a comma list of the allowed fields, each optionally prefixed by `-`.
 * Checked with the rest of the query, so a bad sort is named next to every other bad field.
 */
export const sortParam = (allowed: readonly string[]) =>
  z
    .string()
    .max(200)
    .superRefine((raw, ctx) => {
      const problem = raw === "" ? null : sortProblem(raw, allowed);
      if (problem) ctx.addIssue({ code: "custom", message: problem, params: { code: "invalid_sort" } });
    });

/** Parses `sort=username,-created_at` against the allowed fields; `id` always ends the order. */
export function parseSort(raw: string | undefined, allowed: readonly string[], fallback: string): SortTerm[] {
  const text = raw === undefined || raw === "" ? fallback : raw;
  const problem = sortProblem(text, allowed);
  if (problem) throw validationError([{ path: "sort", message: problem, code: "invalid_sort" }]);
  const terms = text.split(",").map((part) => ({ field: part.replace(/^-/, ""), desc: part.startsWith("-") }));
  if (!terms.some((t) => t.field === "id")) terms.push({ field: "id", desc: terms.at(-1)?.desc ?? false });
  return terms;
}

export const sortKey = (terms: SortTerm[]) => terms.map((t) => (t.desc ? `-${t.field}` : t.field)).join(",");

export function encodeCursor(state: CursorState): string {
  return base64url(utf8(JSON.stringify([state.sort, state.scope, state.dir, state.values])));
}

const invalidCursor = () =>
  new ApiError("invalid_cursor", "The cursor is not one this list issued (wrong list, filters, sort or tenant).", [
    { path: "cursor", message: "Invalid cursor.", code: "invalid_cursor" },
  ]);

function decodeCursor(raw: string, scope: string): CursorState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64url(raw)));
  } catch {
    throw invalidCursor();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    typeof parsed[0] !== "string" ||
    parsed[1] !== scope ||
    (parsed[2] !== "next" && parsed[2] !== "prev") ||
    !Array.isArray(parsed[3]) ||
    !parsed[3].every((v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))
  ) {
    throw invalidCursor();
  }
  return { sort: parsed[0], scope, dir: parsed[2], values: parsed[3] };
}

/**
 * Resolves the sort for a cursor request: a cursor keeps the order it was issued with; naming a
 * different sort alongside it is a mistake.
 */
export function sortForRequest(
  rawSort: string | undefined,
  pagination: Pagination,
  allowed: readonly string[],
  fallback: string,
): SortTerm[] {
  if (pagination.mode === "cursor" && pagination.cursor) {
    const fromCursor = parseSort(pagination.cursor.sort, allowed, fallback);
    if (rawSort !== undefined && rawSort !== "" && sortKey(parseSort(rawSort, allowed, fallback)) !== pagination.cursor.sort) {
      throw invalidCursor();
    }
    return fromCursor;
  }
  return parseSort(rawSort, allowed, fallback);
}

/**
 * The keyset condition "after (or before) this row in this order":
 * k1 >= v1 AND ((k1 > v1) OR (k1 = v1 AND k2 > v2) OR …) for the sort terms. The leading
 * `k1 >= v1` is implied by the rest; it is there because SQLite cannot seek an index on the OR
 * form (nor on a row value over an expression index such as `coalesce(lower(username), '')`),
 * and without a seek every page would walk the tenant's rows from the start.
 */
export function keysetCondition(terms: SortTerm[], fields: Record<string, SortableField>, cursor: CursorState): SQL {
  if (cursor.values.length !== terms.length) throw invalidCursor();
  const backwards = cursor.dir === "prev";
  const clauses: SQL[] = [];
  terms.forEach((term, i) => {
    const parts: SQL[] = [];
    for (let j = 0; j < i; j++) parts.push(sql`${fields[terms[j]!.field]!.expr} = ${cursor.values[j]}`);
    const greater = term.desc === backwards;
    parts.push(
      greater
        ? sql`${fields[term.field]!.expr} > ${cursor.values[i]}`
        : sql`${fields[term.field]!.expr} < ${cursor.values[i]}`,
    );
    clauses.push(sql`(${sql.join(parts, sql` AND `)})`);
  });
  const first = terms[0]!;
  const firstExpr = fields[first.field]!.expr;
  const bound = first.desc === backwards ? sql`${firstExpr} >= ${cursor.values[0]}` : sql`${firstExpr} <= ${cursor.values[0]}`;
  return sql`(${bound} AND (${sql.join(clauses, sql` OR `)}))`;
}

export function orderBy(terms: SortTerm[], fields: Record<string, SortableField>, backwards = false): SQL {
  return sql.join(
    terms.map((t) => sql`${fields[t.field]!.expr} ${t.desc !== backwards ? sql`DESC` : sql`ASC`}`),
    sql`, `,
  );
}

export interface CursorPage<T> {
  items: T[];
  next_cursor: string | null;
  previous_cursor: string | null;
}

/**
 * Turns the rows of a keyset query (fetched with limit + 1, reversed order for `prev`) into a
 * page with its cursors.
 */
export function cursorPage<R extends Record<string, unknown>, T>(
  rows: R[],
  p: Extract<Pagination, { mode: "cursor" }>,
  terms: SortTerm[],
  fields: Record<string, SortableField>,
  scope: string,
  present: (row: R) => T,
): CursorPage<T> {
  const backwards = p.cursor?.dir === "prev";
  const hasMore = rows.length > p.limit;
  const pageRows = rows.slice(0, p.limit);
  if (backwards) pageRows.reverse();
  const cursorAt = (row: R | undefined, dir: "next" | "prev") =>
    row ? encodeCursor({ sort: sortKey(terms), scope, dir, values: terms.map((t) => fields[t.field]!.read(row)) }) : null;
  const hasNext = backwards ? true : hasMore;
  const hasPrev = backwards ? hasMore : p.cursor !== null;
  return {
    items: pageRows.map(present),
    next_cursor: hasNext && pageRows.length > 0 ? cursorAt(pageRows.at(-1), "next") : null,
    previous_cursor: hasPrev && pageRows.length > 0 ? cursorAt(pageRows[0], "prev") : null,
  };
}
