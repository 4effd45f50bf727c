// Sets up the tenant a bench size runs against: the tenant and its owner through the API, N users
// straight into D1, one user with a known password (created through the API so its hash has the
// real format and cost), an owner access token, and a deep-page cursor the API itself issued.
import { call } from "./http.mjs";
import { generateUsers, RARE_COUNT, RARE_LAST_NAME, seedUsers } from "./seed.mjs";

export const FIRST_NAMES_FOR_PATCH = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan"];
const PAGE = 20;
const DEEP_PAGE = 2500;
const WALK_LIMIT = 5000; // the API's largest page: walks to the deep page in few requests

export async function createFixture({ base, db, platformKey, size, log }) {
  const slug = `bench-${size}`;
  const ownerPassword = "bench-owner-password";
  const { body: tenant } = await call(base, "POST", "/v1/tenants", {
    token: platformKey,
    body: { slug, name: `Bench ${size}`, owner: { email: `owner@${slug}.example`, password: ownerPassword } },
    expect: [201],
  });

  const seeded = generateUsers(size);
  const started = Date.now();
  await seedUsers(db, tenant.id, seeded);
  const seedSeconds = (Date.now() - started) / 1000;
  log(`  seeded ${size.toLocaleString("en-US")} users into D1 in ${seedSeconds.toFixed(1)} s`);

  const owner = await signIn(base, slug, `owner@${slug}.example`, ownerPassword);
  const signInEmail = `signin@${slug}.example`;
  const signInPassword = "bench-signin-password";
  await call(base, "POST", "/v1/users", {
    token: owner,
    body: { email: signInEmail, password: signInPassword, first_name: "Sign", last_name: "In" },
    expect: [201],
  });

  const sampleIds = seeded
    .filter((u) => u.last_name !== RARE_LAST_NAME)
    .filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 1000)) === 0)
    .slice(0, 1000)
    .map((u) => u.id);

  const ctx = {
    base,
    tenantId: tenant.id,
    tenantSlug: slug,
    token: owner,
    ownerPassword,
    signInEmail,
    signInPassword,
    sampleIds,
    searchTerm: RARE_LAST_NAME,
    seedSeconds,
    runTag: `${size}-${Date.now().toString(36)}`,
    nextCreate: counter(),
  };
  Object.assign(ctx, await deepCursor(ctx, size + 2)); // + the owner and the sign-in user
  await checkSearch(ctx);
  return ctx;
}

/** A fresh owner token (access tokens live 15 minutes; each scenario asks for a new one). */
export async function refreshToken(ctx) {
  ctx.token = await signIn(ctx.base, ctx.tenantSlug, `owner@${ctx.tenantSlug}.example`, ctx.ownerPassword);
}

/** One sign-in of the known-password user (the user the sign-in scenarios use). */
export async function signInOnce(ctx) {
  await signIn(ctx.base, ctx.tenantSlug, ctx.signInEmail, ctx.signInPassword);
}

async function signIn(base, tenant, email, password) {
  const { body } = await call(base, "POST", "/v1/auth/token", { body: { tenant, email, password }, expect: [200] });
  return body.access_token;
}

function counter() {
  let n = 0;
  return () => n++;
}

/**
 * Page 2,500 of 20 (or the last full page of a smaller tenant): walks the list in pages of
 * 5,000 following next_cursor, then one shorter page to land exactly on the deep page's start.
 */
async function deepCursor(ctx, visibleUsers) {
  const page = Math.min(DEEP_PAGE, Math.floor(visibleUsers / PAGE));
  let remaining = (page - 1) * PAGE;
  let cursor = null;
  while (remaining > 0) {
    const limit = Math.min(WALK_LIMIT, remaining);
    const query = `/v1/users?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const { body } = await call(ctx.base, "GET", query, { token: ctx.token });
    if (body.items.length !== limit || !body.next_cursor) {
      throw new Error(`walking to page ${page}: ${query} gave ${body.items.length} items, next_cursor ${body.next_cursor}`);
    }
    cursor = body.next_cursor;
    remaining -= limit;
  }
  if (cursor === null) throw new Error("the tenant is too small for a deep page");
  const { body } = await call(ctx.base, "GET", `/v1/users?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`, {
    token: ctx.token,
  });
  if (body.items.length !== PAGE) throw new Error(`deep page ${page} has ${body.items.length} items, expected ${PAGE}`);
  return { deepPage: page, deepCursor: cursor };
}

async function checkSearch(ctx) {
  const { body } = await call(ctx.base, "GET", `/v1/users?search=${ctx.searchTerm}`, { token: ctx.token });
  if (body.items.length !== RARE_COUNT) {
    throw new Error(`search=${ctx.searchTerm} found ${body.items.length} users, expected ${RARE_COUNT}`);
  }
}
