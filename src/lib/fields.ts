/**
 * The fields of a value a cross-field refinement looks at, or null when it is not an object at
 * all: such refinements run even when the value failed its own schema (zod's `when`), and a
 * `null`, an array or a number has no fields to relate (its type error says enough).
 */
export const fieldsOf = (raw: unknown): Record<string, unknown> | null =>
  typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
