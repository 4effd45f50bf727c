import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createTenant, createUser } from "./helpers";

async function searchIds(token: string, term: string) {
  const res = await call("GET", `/v1/users?search=${encodeURIComponent(term)}&limit=100`, { token });
  expect(res.status).toBe(200);
  return res.body.items.map((u: any) => u.email as string).sort();
}

describe("GET /v1/users?search=", () => {
  it("matches case-insensitive substrings of username, first name, last name and email, long and short terms alike", async () => {
    const f = await createTenant();
    await createUser(f.tenant.id, { email: "ann@x.test", username: "Annabel_99", first_name: "Ann", last_name: "Lee" });
    await createUser(f.tenant.id, { email: "bob@x.test", username: "bobby", first_name: "Robert", last_name: "Zyxwvut" });
    await createUser(f.tenant.id, { email: "cat@x.test", username: "c100", first_name: "Cäcilie 100%", last_name: "Østergård" });
    expect(await searchIds(f.ownerToken, "ZYXW")).toEqual(["bob@x.test"]);
    expect(await searchIds(f.ownerToken, "nabel")).toEqual(["ann@x.test"]);
    expect(await searchIds(f.ownerToken, "bert")).toEqual(["bob@x.test"]);
    expect(await searchIds(f.ownerToken, "t@x.te")).toEqual(["cat@x.test"]);
    expect(await searchIds(f.ownerToken, "ann")).toEqual(["ann@x.test"]);
    // Two characters: the fallback path.
    expect(await searchIds(f.ownerToken, "bo")).toEqual(["bob@x.test"]);
    expect(await searchIds(f.ownerToken, "Le")).toEqual(["ann@x.test"]);
    // Wildcards and quotes are literal.
    expect(await searchIds(f.ownerToken, "%")).toEqual(["cat@x.test"]);
    expect(await searchIds(f.ownerToken, "0%")).toEqual(["cat@x.test"]);
    expect(await searchIds(f.ownerToken, "_99")).toEqual(["ann@x.test"]);
    expect(await searchIds(f.ownerToken, "_")).toEqual(["ann@x.test"]);
    expect(await searchIds(f.ownerToken, '"bob" OR "ann"')).toEqual([]);
    expect(await searchIds(f.ownerToken, "' OR 1=1 --")).toEqual([]);
    // Unicode.
    expect(await searchIds(f.ownerToken, "ØSTER")).toEqual(["cat@x.test"]);
    expect(await searchIds(f.ownerToken, "cäc")).toEqual(["cat@x.test"]);
  });

  it("follows every write: created, renamed and deleted users are found or not at once", async () => {
    const f = await createTenant();
    const u = await createUser(f.tenant.id, { email: "dan@x.test", last_name: "Quokka" });
    expect(await searchIds(f.ownerToken, "quokk")).toEqual(["dan@x.test"]);
    await call("PATCH", `/v1/users/${u.id}`, { token: f.ownerToken, body: { last_name: "Wombat" } });
    expect(await searchIds(f.ownerToken, "quokk")).toEqual([]);
    expect(await searchIds(f.ownerToken, "wombat")).toEqual(["dan@x.test"]);
    await call("DELETE", `/v1/users/${u.id}`, { token: f.ownerToken });
    expect(await searchIds(f.ownerToken, "wombat")).toEqual([]);
  });

  it("never returns users of another tenant", async () => {
    const a = await createTenant();
    const b = await createTenant();
    await createUser(b.tenant.id, { email: "secret@b.test", last_name: "Platypus" });
    expect(await searchIds(a.ownerToken, "platyp")).toEqual([]);
    expect(await searchIds(a.ownerToken, "secret@b")).toEqual([]);
  });

  it("uses the trigram index for terms of three characters or more", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT u.id FROM users u WHERE u.tenant_id = ? AND u.rowid IN (SELECT rowid FROM users_search WHERE users_search MATCH ?)",
    )
      .bind("ten_x", '"abc"')
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toMatch(/VIRTUAL TABLE INDEX/);
    expect(details).not.toMatch(/SCAN u\b(?!.*INDEX)/);
  });
});
