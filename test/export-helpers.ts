import { api } from "./helpers";

/** Reads an NDJSON export part: its lines and the URL its Link header names. */
export async function exportPart(url: string, opts: { token?: string; tenant?: string } = {}) {
  const res = await api("GET", url.replace("http://userplane.test", ""), opts);
  // NDJSON is not a type workerd knows as text: decode the bytes ourselves.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  const lines = text === "" ? [] : text.trimEnd().split("\n").map((l) => JSON.parse(l));
  const link = res.headers.get("Link");
  const next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null : null;
  return { res, text, lines, link, next };
}

/** Every line of an export, following Link to the end. */
export async function exportAll(path: string, opts: { token?: string; tenant?: string }) {
  const all: Record<string, unknown>[] = [];
  let url: string | null = path;
  for (let parts = 0; url && parts < 100; parts++) {
    const part = await exportPart(url, opts);
    if (part.res.status !== 200) throw new Error(`export: ${part.res.status} ${part.text}`);
    all.push(...part.lines);
    url = part.next;
  }
  return all;
}
