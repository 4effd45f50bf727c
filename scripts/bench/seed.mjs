// Seeds one tenant with N users straight into D1 through Miniflare's binding: multi-row INSERTs
// in batches, not N HTTP calls. The data is deterministic (a seeded PRNG), so every run and every
// machine measures the same tenant.

const FIRST_NAMES = [
  "Ada", "Alan", "Alice", "Amara", "Anders", "Aiko", "Beatriz", "Bruno", "Carla", "Chen", "Chloe", "Dmitri",
  "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana",
  "Joao", "Julia", "Kai", "Karin", "Lars", "Leila", "Liam", "Lucia", "Mateo", "Maya", "Mei", "Mohammed",
  "Nadia", "Noah", "Olga", "Omar", "Paula", "Pedro", "Priya", "Rafael", "Rosa", "Sami", "Sara", "Sofia",
  "Tariq", "Tomas", "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
];
const LAST_NAMES = [
  "Abe", "Adeyemi", "Andersson", "Bauer", "Becker", "Brown", "Campbell", "Costa", "Cruz", "Da Silva", "Dubois",
  "Eriksen", "Fischer", "Garcia", "Gonzalez", "Gupta", "Hansen", "Hernandez", "Hoffmann", "Ito", "Ivanova",
  "Jensen", "Johnson", "Kim", "Kowalski", "Kumar", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Muller",
  "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park", "Patel", "Pereira", "Petrov", "Rossi", "Santos",
  "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thomas", "Walker", "Wang", "Weber",
  "Williams", "Wilson", "Yamamoto", "Zhang",
];
const DOMAINS = ["example.com", "mail.example", "corp.example", "example.org", "inbox.example"];

/** The rare search term: a handful of users carry it as their last name, nobody else contains it. */
export const RARE_LAST_NAME = "Zyxwvut";
export const RARE_COUNT = 5;

const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // as src/lib/ids.ts
const DAY_MS = 86_400_000;
/** Seeded users were created over the two years before this instant (fixed: deterministic data). */
const SEED_EPOCH = Date.UTC(2026, 0, 1);
const SPAN_MS = 730 * DAY_MS;

/** mulberry32: small, fast, deterministic (test/rows-read.test.ts seeds with it too). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An id with the same shape as src/lib/ids.ts newId("usr", time). */
function userId(time, random) {
  let head = "";
  let t = time;
  for (let i = 0; i < 10; i++) {
    head = ID_ALPHABET[t % 32] + head;
    t = Math.floor(t / 32);
  }
  let tail = "";
  for (let i = 0; i < 16; i++) tail += ID_ALPHABET[Math.floor(random() * 32)];
  return `usr_${head}${tail}`;
}

const pick = (random, list) => list[Math.floor(random() * list.length)];
const sqlText = (value) => (value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`);

/**
 * The users of a tenant of `count` users: realistic names, unique usernames and emails, creation
 * times spread over two years (ascending, as ids are time-ordered), a few last signed in.
 */
export function generateUsers(count, seed = 20260401) {
  const random = prng(seed);
  const times = Array.from({ length: count }, () => SEED_EPOCH - Math.floor(random() * SPAN_MS)).sort((a, b) => a - b);
  // The rare users sit at evenly spread positions so they are not all on one page.
  const rareEvery = Math.max(1, Math.floor(count / RARE_COUNT));
  return times.map((time, i) => {
    const first = pick(random, FIRST_NAMES);
    const last = i % rareEvery === Math.floor(rareEvery / 2) ? RARE_LAST_NAME : pick(random, LAST_NAMES);
    const handle = `${first}.${last}`.toLowerCase().replaceAll(" ", "");
    const createdAt = new Date(time).toISOString();
    const lastLogin = random() < 0.6 ? new Date(time + Math.floor(random() * (SEED_EPOCH - time))).toISOString() : null;
    return {
      id: userId(time, random),
      username: `${handle}${i}`,
      email: `${handle}.${i}@${pick(random, DOMAINS)}`,
      first_name: first,
      last_name: last,
      is_active: random() < 0.97 ? 1 : 0,
      metadata: JSON.stringify({ department: pick(random, ["sales", "support", "engineering", "finance"]) }),
      created_at: createdAt,
      last_login_at: lastLogin,
    };
  });
}

function usersInsert(tenantId, rows) {
  const values = rows.map(
    (u) =>
      `(${[u.id, tenantId, u.username, u.email, u.first_name, u.last_name].map(sqlText).join(", ")}, ${u.is_active}, ` +
      `${sqlText(u.metadata)}, ${sqlText(u.created_at)}, ${sqlText(u.created_at)}, ${sqlText(u.last_login_at)})`,
  );
  return (
    "INSERT INTO users (id, tenant_id, username, email, first_name, last_name, is_active, metadata, created_at, updated_at, last_login_at) VALUES " +
    values.join(", ")
  );
}

function rolesInsert(tenantId, rows) {
  return (
    "INSERT INTO user_roles (tenant_id, user_id, role) VALUES " +
    rows.map((u) => `(${sqlText(tenantId)}, ${sqlText(u.id)}, 'member')`).join(", ")
  );
}

/**
 * Inserts the users with the `member` role. Values are written as SQL literals (the generator
 * controls them) so a statement can carry hundreds of rows without hitting the bound-parameter cap.
 */
export async function seedUsers(db, tenantId, users, { rowsPerStatement = 250, statementsPerBatch = 20 } = {}) {
  const statements = [];
  for (let i = 0; i < users.length; i += rowsPerStatement) {
    const rows = users.slice(i, i + rowsPerStatement);
    statements.push(usersInsert(tenantId, rows), rolesInsert(tenantId, rows));
  }
  for (let i = 0; i < statements.length; i += statementsPerBatch) {
    await db.batch(statements.slice(i, i + statementsPerBatch).map((s) => db.prepare(s)));
  }
}
