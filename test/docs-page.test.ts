import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DOCS_RENDERER } from "../src/service/routes";
import { api } from "./helpers";

/** Version and SRI hashes of the installed swagger-ui-dist, computed from its files by vitest.config.ts. */
const installed = JSON.parse(env.TEST_DOCS_RENDERER) as Record<string, string> & { version: string };

/** The attributes of the one `<script src>` / `<link rel=stylesheet>` tag naming `file`. */
function tagFor(html: string, file: string) {
  const tag = [...html.matchAll(/<(script|link)\b[^>]*>/g)].map((m) => m[0]).find((t) => t.includes(file));
  expect(tag, file).toBeTruthy();
  const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag!)?.[1];
  return { url: attr("src") ?? attr("href"), integrity: attr("integrity"), crossorigin: attr("crossorigin") };
}

describe("GET /docs", () => {
  it("loads its renderer from a pinned version, under SRI that matches the package's own files", async () => {
    const res = await api("GET", "/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    // The pinned version is the installed one (package-lock), so the hashes are of the same bytes.
    expect(DOCS_RENDERER.version).toBe(installed.version);
    for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
      const tag = tagFor(html, file);
      expect(tag.url).toBe(`https://cdn.jsdelivr.net/npm/swagger-ui-dist@${installed.version}/${file}`);
      expect(tag.integrity, file).toBe(installed[file]);
      expect(tag.crossorigin).toBe("anonymous");
    }
    // Nothing else is loaded from elsewhere.
    const external = [...html.matchAll(/\b(?:src|href)="(https?:[^"]+)"/g)].map((m) => m[1]);
    expect(external).toHaveLength(2);
  });
});
