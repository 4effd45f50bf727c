import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv, Bindings, Db } from "./env";
import { dbOver } from "./db/client";
import { ApiError, problemBody } from "./lib/errors";
import { requestId } from "./middleware/request-id";
import { bodyGuard } from "./middleware/body-guard";
import { etags } from "./middleware/etag";
import { authenticate } from "./middleware/authenticate";
import { cors } from "./middleware/cors";
import { dbSession } from "./middleware/db-session";
import { bookmarkRefused, isBookmarkRefusal } from "./db/bookmark";
import { sessionAnswersFirst } from "./auth/deferred";
import { matchedRoutes } from "hono/route";
import { allowedMethods } from "./lib/method-matcher";
import { CachedTrieRouter } from "./lib/router";
import { service } from "./service/routes";
import { tenants } from "./tenants/routes";
import { users } from "./users/routes";
import { managedUsers } from "./users/managed-routes";
import { shares } from "./shares/routes";
import { passwords } from "./passwords/routes";
import { sessions } from "./sessions/routes";
import { userDeletion } from "./deletion/routes";
import { auth } from "./sign-in/routes";
import { resets } from "./resets/routes";
import { roles, permissions } from "./roles/routes";
import { apiKeys } from "./api-keys/routes";
import { events } from "./events/routes";
import { importExport } from "./import/routes";
import { signingKeys } from "./keys/routes";
import { principal } from "./rpc/routes";
import { webhooks } from "./webhooks/routes";
import { webhookProducer } from "./webhooks/producer";
import { openApiDocument } from "./openapi/document";
import { describe } from "./openapi/registry";
import { consoleHandler } from "./console/routes";

const MAX_BODY_BYTES = 64 * 1024;
/** Routes that take bigger bodies than the rest (a thousand users with their metadata). */
const LARGE_BODY_ROUTES = { "POST /v1/users/import": 5 * 1024 * 1024 };
/** Deepest JSON nesting a request body may have (metadata documents included). */
const MAX_BODY_DEPTH = 64;

/** Routes that take no credentials. */
const PUBLIC_ROUTES = new Set([
  "POST /v1/auth/token",
  "POST /v1/auth/refresh",
  "POST /v1/password-resets",
  "POST /v1/password-resets/confirm",
]);

/**
 * Whether a route handles this method on this path (middleware is registered as ALL). Requests
 * that match none get their 404/405 without asking for credentials first.
 */
const hasHandler = (c: Context<AppEnv>) => matchedRoutes(c).some((r) => r.method !== "ALL");

/** A drizzle client over the `DB` binding itself (the primary), for work outside a request: RPC, queue consumer, sweep. */
const clients = new WeakMap<D1Database, Db>();
export function dbFor(env: Bindings): Db {
  let db = clients.get(env.DB);
  if (!db) {
    db = dbOver(env.DB);
    clients.set(env.DB, db);
  }
  return db;
}

/** Builds the userplane API: middleware order, routes, and the one problem+json error renderer. */
export function createApp() {
  // `/v1/users/` is `/v1/users`: the 405 matcher (src/lib/method-matcher.ts) and the public-route
  // check already treat a trailing slash so, and a strict router made GET /v1/users/ a 405 "use GET".
  const app = new Hono<AppEnv>({ strict: false, router: new CachedTrieRouter() });

  app.use("*", requestId());
  // The web console (src/console) answers before the JSON API's middleware: it is not part of the
  // API (ALL routes stay out of the OpenAPI document and the 405 matcher) and calls this same app
  // in-process for every read and write.
  const consolePages = consoleHandler(app);
  app.all("/console", consolePages);
  app.all("/console/*", consolePages);
  app.use("*", cors());
  app.use("*", dbSession());
  // After every write: a hint that events may have been recorded (see src/webhooks/producer.ts).
  app.use("*", webhookProducer());
  app.use("*", bodyGuard({ maxBytes: MAX_BODY_BYTES, maxDepth: MAX_BODY_DEPTH, largerFor: LARGE_BODY_ROUTES }));
  app.use("/v1/*", etags());

  app.use(
    "/v1/*",
    authenticate({
      skip: (c) =>
        PUBLIC_ROUTES.has(`${c.req.method} ${c.req.path.replace(/\/+$/, "")}`) || !hasHandler(c),
    }),
  );

  app.route("/", service);
  app.route("/v1/tenants", tenants);
  app.route("/v1/auth", auth);
  app.route("/v1/password-resets", resets);
  // Sub-resources of users first: their paths are longer, but keeping them ahead of
  // `/v1/users/:id` makes the order obvious.
  app.route("/v1/users/me/shares", shares);
  app.route("/v1/users", importExport);
  app.route("/v1/users", managedUsers);
  app.route("/v1/users", passwords);
  app.route("/v1/users", sessions);
  app.route("/v1/users", userDeletion);
  app.route("/v1/users", users);
  app.route("/v1/roles", roles);
  app.route("/v1/permissions", permissions);
  app.route("/v1/api-keys", apiKeys);
  app.route("/v1/events", events);
  app.route("/v1/signing-keys", signingKeys);
  app.route("/v1/principal", principal);
  app.route("/v1/webhooks", webhooks);

  let document: ReturnType<typeof openApiDocument> | undefined;
  app.get(
    "/openapi.json",
    describe({
      summary: "OpenAPI 3.1 document",
      description: "Generated from the same zod schemas that validate requests.",
      tags: ["Service"],
      security: "public",
      responses: { 200: { description: "The OpenAPI document" } },
    }),
    (c) => c.json((document ??= openApiDocument(app))),
  );

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return problem(
        c,
        new ApiError("method_not_allowed", `Use ${allowed.join(", ")} on this path.`, undefined, {
          Allow: allowed.join(", "),
        }),
      );
    }
    return problem(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}.`));
  });

  app.onError(async (err, c) => {
    const known = clientError(c, err);
    if (known) return problem(c, await sessionAnswersFirst(c, known));
    console.error(JSON.stringify({ requestId: c.get("requestId"), error: String(err), stack: (err as Error).stack }));
    return problem(c, new ApiError("internal_error", `Something went wrong (request ${c.get("requestId")}).`));
  });

  return app;
}

/** The problem a thrown error is for the caller, when it is theirs to fix (not a fault of ours). */
function clientError(c: Context<AppEnv>, err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  // D1 refusing a bookmark that passed our check is still the caller's bookmark: a 422.
  if (c.get("bookmarkGiven") && isBookmarkRefusal(err)) return bookmarkRefused();
  if (err instanceof HTTPException && err.status === 400) return new ApiError("malformed_json", "The request body is not valid JSON.");
  return undefined;
}

function problem(c: Context<AppEnv>, err: ApiError): Response {
  const headers: Record<string, string> = { "Content-Type": "application/problem+json", ...err.headers };
  if (err.status === 401 && !headers["WWW-Authenticate"]) headers["WWW-Authenticate"] = "Bearer";
  if (c.get("requestId")) headers["X-Request-Id"] = c.get("requestId");
  return new Response(JSON.stringify(problemBody(err)), { status: err.status, headers });
}

export type App = ReturnType<typeof createApp>;
