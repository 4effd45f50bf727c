import { Hono } from "hono";
import { sessionInBatch } from "../auth/deferred";
import type { AppEnv } from "../env";
import { jsonBody, pathParams, queryParams } from "../lib/validate";
import { idempotent } from "../middleware/idempotency";
import { describe } from "../openapi/registry";
import { ApiKey, ApiKeyIdParam, ApiKeyList, CreateApiKeyBody, CreatedApiKey, ListApiKeysQuery } from "./schemas";
import { apiKeyEtag, createApiKey, getApiKey, listApiKeys, presentKey, revokeApiKey } from "./service";

/** API keys: opaque `up_…` credentials that act with the roles they were given. */
export const apiKeys = new Hono<AppEnv>();
const tags = ["API keys"];

const SCOPE =
  "Tenant principals manage their tenant's keys. A platform principal manages the keys of the tenant it names with X-Tenant, or, naming none, the platform keys.";

apiKeys.post(
  "/",
  describe({
    summary: "Create an API key",
    description: `Needs api_keys:write. The key (\`up_\` + 256 random bits) is in this answer only; userplane keeps its SHA-256. Roles must exist in the tenant (422) and the caller must hold every permission they carry (403): a key never has more than its creator could grant. expires_at must be in the future (422); an expired key fails at once. The key belongs to the creating user and goes when that user is deleted. ${SCOPE} A platform principal naming no tenant creates a platform key: roles must be [], and the key acts as a platform principal. An Idempotency-Key replay answers with the same key id but without \`key\`, which is never stored.`,
    tags,
    responses: { 201: { description: "The key, with its secret", schema: CreatedApiKey } },
  }),
  sessionInBatch(),
  idempotent({ omitFromReplay: ["key"] }),
  jsonBody(CreateApiKeyBody),
  async (c) => {
    const created = await createApiKey(c, c.get("principal"), c.req.valid("json"));
    c.header("Location", `/v1/api-keys/${created.id}`);
    // A key never changes, so its tag never goes stale (DELETE honours it with If-Match).
    c.header("ETag", apiKeyEtag(created.id));
    return c.json(created, 201);
  },
);

apiKeys.get(
  "/",
  describe({
    summary: "List API keys",
    description: `Needs api_keys:read. Oldest first, in cursor or page mode; expired keys are listed (with their expires_at) until deleted. Never shows a secret. ${SCOPE}`,
    tags,
    responses: { 200: { description: "A page of keys", schema: ApiKeyList } },
  }),
  queryParams(ListApiKeysQuery),
  async (c) => c.json(await listApiKeys(c, c.get("principal"), c.req.valid("query"))),
);

apiKeys.get(
  "/:id",
  describe({
    summary: "Get an API key",
    description: `Needs api_keys:read. 404 for a key outside the caller's scope. ${SCOPE}`,
    tags,
    responses: { 200: { description: "The key (no secret)", schema: ApiKey } },
  }),
  pathParams(ApiKeyIdParam),
  async (c) => {
    const key = await getApiKey(c, c.get("principal"), c.req.valid("param").id);
    c.header("ETag", apiKeyEtag(key.id));
    return c.json(presentKey(key));
  },
);

apiKeys.delete(
  "/:id",
  describe({
    summary: "Revoke an API key",
    description: `Needs api_keys:write and every permission the key's roles carry (revoking takes them away). The key fails from the next request on. If-Match honoured (a key never changes: its tag from POST or GET stays current; any other is a 412). ${SCOPE} The bootstrap key (BOOTSTRAP_API_KEY) is not a managed key: DELETE /v1/api-keys/bootstrap is a 404; rotate the secret instead.`,
    tags,
    headers: ["If-Match"],
    responses: { 204: { description: "Revoked" } },
  }),
  pathParams(ApiKeyIdParam),
  async (c) => {
    await revokeApiKey(c, c.get("principal"), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
