import type { Json } from "../lib/merge-patch";

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The RFC 7396 merge patch that turns `before` into `after`: removed keys become null, nested
 * objects are diffed, anything else that differs is replaced. Empty when nothing differs. (A
 * merge patch cannot store a null value, so a null in `after` removes its key.)
 */
export function mergePatchBetween(before: Record<string, Json>, after: Record<string, Json>): Record<string, Json> {
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const old = before[key];
    if (isObject(old) && isObject(value)) {
      const inner = mergePatchBetween(old, value);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (JSON.stringify(old) !== JSON.stringify(value)) {
      patch[key] = value;
    }
  }
  return patch;
}

/** The metadata textarea: a JSON object, or a message saying why it is not one. */
export function parseMetadata(text: string): { value: Record<string, Json> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() === "" ? "{}" : text);
  } catch (e) {
    return { error: `Metadata is not valid JSON: ${(e as Error).message}` };
  }
  if (!isObject(value)) return { error: 'Metadata must be a JSON object, like {"plan": "pro"}.' };
  return { value };
}
