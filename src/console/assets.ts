import { Hono } from "hono";
import { SCRIPT } from "./script";
import { STYLESHEET } from "./styles";

/** FNV-1a: a cheap, synchronous fingerprint so a changed asset gets a new URL. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

export const ASSET_VERSION = fingerprint(STYLESHEET + SCRIPT);

/** The stylesheet and script, from the worker's own origin (the only one the CSP allows). */
export const assets = new Hono();

const serve = (body: string, type: string) => () =>
  new Response(body, {
    headers: { "Content-Type": `${type}; charset=utf-8`, "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff" },
  });

assets.get("/console.css", serve(STYLESHEET, "text/css"));
assets.get("/console.js", serve(SCRIPT, "text/javascript"));
