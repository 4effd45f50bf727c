import type { MiddlewareHandler } from "hono";
import type { z } from "zod";

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** The body's media type when it is not application/json (e.g. application/x-ndjson). */
  contentType?: string;
  /** Response headers worth documenting, by name, with what they carry. */
  headers?: Record<string, string>;
}

/** What the OpenAPI document knows of one route; assembled from the route's own middleware. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  /** Who may call: `public` routes take no credentials. */
  security: "public" | "bearer";
  /** Route-level headers it honours (Idempotency-Key, If-Match). */
  headers?: ("Idempotency-Key" | "If-Match")[];
  responses: Record<number, ResponseDoc>;
  json?: z.ZodType;
  query?: z.ZodType;
  param?: z.ZodType;
}

const docs = new WeakMap<MiddlewareHandler, Partial<RouteDoc>>();

export function recordDoc(handler: MiddlewareHandler, doc: Partial<RouteDoc>): void {
  docs.set(handler, doc);
}

export function docOf(handler: unknown): Partial<RouteDoc> | undefined {
  return docs.get(handler as MiddlewareHandler);
}

/**
 * Documents a route: a pass-through middleware that carries the route's summary and responses.
 * The generator reads it back from the app's route table.
 */
export function describe(doc: Omit<RouteDoc, "json" | "query" | "param" | "security"> & { security?: RouteDoc["security"] }): MiddlewareHandler {
  const mw: MiddlewareHandler = async (_c, next) => next();
  recordDoc(mw, { security: "bearer", ...doc });
  return mw;
}

/** An outgoing call the API makes (OpenAPI 3.1 top-level `webhooks`): name → what is POSTed. */
export interface WebhookDoc {
  summary: string;
  description: string;
  /** Request headers the receiver gets, with what each means. */
  headers: Record<string, string>;
  payload: z.ZodType;
}

const webhookDocs = new Map<string, WebhookDoc>();

export function describeWebhook(name: string, doc: WebhookDoc): void {
  webhookDocs.set(name, doc);
}

export const describedWebhooks = (): ReadonlyMap<string, WebhookDoc> => webhookDocs;
