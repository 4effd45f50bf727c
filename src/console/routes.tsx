import { Hono, type Handler, type MiddlewareHandler } from "hono";
import { ConsoleApi, executionContext, problemOf, type ApiApp } from "./api";
import { assets } from "./assets";
import { loadCaller } from "./caller";
import { formOf, noticeOf, redirectAfterWrite, secret, text, type ConsoleContext, type ConsoleEnv } from "./context";
import { Alert } from "./components";
import { Layout } from "./layout";
import { PasswordPage } from "./pages/password";
import { SignInPage } from "./pages/sign-in";
import { isAllowedOrigin } from "../lib/origin";
import { endSession, lastTenant, safeNext, savedBookmark, sessionToken, startSession } from "./session";
import { userPages } from "./users-routes";
import { userDetailPages } from "./user-routes";
import { adminPages } from "./admin-routes";
import { webhookPages } from "./webhooks-routes";

/**
 * The only origin a page may load from, frame or post to: the worker's own. No inline script or
 * style; the stylesheet and script are routes of the worker.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

const securityHeaders: MiddlewareHandler<ConsoleEnv> = async function consoleHeaders(c, next) {
  const started = performance.now();
  await next();
  const h = c.res.headers;
  h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  h.set("X-Frame-Options", "DENY");
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "same-origin");
  if (!h.has("Cache-Control")) h.set("Cache-Control", "no-store");
  // How long the worker spent on the page (every API call included), for the 300 ms target.
  h.set("Server-Timing", `app;dur=${(performance.now() - started).toFixed(1)};desc="console page"`);
};

/** Every unsafe request must come from an allowed origin: the API's own CSRF rule (src/lib/origin.ts). */
const originCheck: MiddlewareHandler<ConsoleEnv> = async function consoleOriginCheck(c, next) {
  if (c.req.method === "GET" || c.req.method === "HEAD") return next();
  if (isAllowedOrigin(c)) return next();
  return c.html(
    <Layout title="Refused">
      <h1>Refused</h1>
      <Alert problem="This form was not sent from the console's own origin, so nothing was changed. Reload the page and try again." />
    </Layout>,
    403,
  );
};

/** Pages behind a session: no cookie (or an ended session) leads to sign-in. */
const session: MiddlewareHandler<ConsoleEnv> = async function consoleSession(c, next) {
  const token = sessionToken(c);
  if (!token) return toSignIn(c);
  // `after`: a bookmark handed over in the URL where no cookie could carry it (a streamed delete).
  c.set("api", c.get("api").as(token, c.req.query("after") || savedBookmark(c)));
  await next();
};

/** The signed-in user and their permissions; a temporary password must be changed first. */
const signedIn: MiddlewareHandler<ConsoleEnv> = async function consoleCaller(c, next) {
  const outcome = await loadCaller(c.get("api"), { withRoles: /^\/console\/(users|api-keys)/.test(c.req.path) });
  if ("signIn" in outcome) {
    endSession(c);
    return toSignIn(c);
  }
  if ("changePassword" in outcome) return c.redirect("/console/password", 303);
  if ("error" in outcome) throw new Error(outcome.error);
  c.set("caller", outcome.caller);
  await next();
};

function toSignIn(c: ConsoleContext) {
  const here = new URL(c.req.url);
  const next = c.req.method === "GET" && here.pathname !== "/console" ? `?next=${encodeURIComponent(here.pathname + here.search)}` : "";
  return c.redirect(`/console/sign-in${next}`, 303);
}

/**
 * The console at `/console`: server-rendered pages over the API app it is given. Every action is
 * that API's own request (src/console/api.ts); nothing here decides a rule.
 */
export function createConsole(api: ApiApp) {
  const app = new Hono<ConsoleEnv>({ strict: false }).basePath("/console");
  app.use("*", securityHeaders);
  app.route("/assets", assets);
  app.use("*", originCheck);
  app.use("*", async function consoleApi(c, next) {
    c.set("api", new ConsoleApi(api, c, undefined));
    await next();
  });

  app.get("/sign-in", (c) =>
    c.html(<SignInPage tenant={lastTenant(c)} email="" next={safeNext(c.req.query("next"))} notice={noticeOf(c)} />),
  );
  app.post("/sign-in", async (c) => {
    const form = await formOf(c);
    const tenant = text(form, "tenant");
    const login = text(form, "email");
    const next = safeNext(text(form, "next"));
    const answer = await c.get("api").call<{ access_token: string; expires_in: number; password_change_required: boolean }>(
      "POST",
      "/v1/auth/token",
      { body: { tenant, ...(login.includes("@") || !login ? { email: login } : { username: login }), password: secret(form, "password") } },
    );
    if (!answer.ok) {
      const retryAfter = answer.headers.get("Retry-After");
      if (retryAfter) c.header("Retry-After", retryAfter);
      return c.html(<SignInPage tenant={tenant} email={login} next={next} problem={problemOf(answer)} />, answer.status as 401);
    }
    startSession(c, answer.body.access_token, answer.body.expires_in, tenant);
    return c.redirect(answer.body.password_change_required ? "/console/password" : next, 303);
  });

  app.use("*", session);

  app.post("/sign-out", async (c) => {
    await c.get("api").call("POST", "/v1/auth/logout");
    endSession(c);
    return c.redirect("/console/sign-in?notice=signed-out", 303);
  });

  app.get("/password", (c) => c.html(<PasswordPage />));
  app.post("/password", async (c) => {
    const form = await formOf(c);
    const answer = await c.get("api").call("POST", "/v1/users/me/password", {
      body: { current_password: secret(form, "current_password"), new_password: secret(form, "new_password") },
    });
    if (answer.status === 401) {
      endSession(c);
      return toSignIn(c);
    }
    if (!answer.ok) return c.html(<PasswordPage problem={problemOf(answer)} />, answer.status as 422);
    return redirectAfterWrite(c, "/console/users?notice=password-changed");
  });

  app.use("*", signedIn);
  app.get("/", (c) => c.redirect("/console/users"));
  app.route("/users", userPages);
  app.route("/users", userDetailPages);
  app.route("/", adminPages);
  app.route("/webhooks", webhookPages);

  app.notFound((c) =>
    c.html(
      <Layout title="Not found" caller={c.get("caller")}>
        <h1>Not found</h1>
        <Alert problem="There is no console page at this address." />
      </Layout>,
      404,
    ),
  );
  app.onError((err, c) => {
    console.error(JSON.stringify({ console: c.req.path, error: String(err), stack: (err as Error).stack }));
    return c.html(
      <Layout title="Something went wrong" caller={c.get("caller")}>
        <h1>Something went wrong</h1>
        <Alert problem="The console could not show this page. Try again in a moment." />
      </Layout>,
      500,
    );
  });
  return app;
}

/** What src/app.ts mounts at `/console` and `/console/*`: the console app over `api`. */
export function consoleHandler(api: ApiApp): Handler<{ Bindings: ConsoleEnv["Bindings"] }> {
  const consoleApp = createConsole(api);
  return (c) => consoleApp.fetch(c.req.raw, c.env, executionContext(c));
}
