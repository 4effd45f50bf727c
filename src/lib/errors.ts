/**
 * One error type for the whole API. A throw site names a stable `code`; the registry below
 * decides the HTTP status and title, so the same failure always looks the same to a client.
 */
export const errorRegistry = {
  validation_failed: { status: 422, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  bad_request: { status: 400, title: "Bad request" },
  invalid_cursor: { status: 422, title: "Invalid cursor" },
  unauthorized: { status: 401, title: "Unauthorized" },
  invalid_credentials: { status: 401, title: "Invalid credentials" },
  invalid_refresh_token: { status: 401, title: "Invalid refresh token" },
  forbidden: { status: 403, title: "Forbidden" },
  password_change_required: { status: 403, title: "Password change required" },
  csrf_failed: { status: 403, title: "Cross-site request refused" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  last_owner: { status: 409, title: "A tenant must keep an active owner" },
  role_in_use: { status: 409, title: "Role in use" },
  role_builtin: { status: 409, title: "Built-in roles cannot change" },
  reset_token_active: { status: 409, title: "A reset token is already active" },
  idempotency_key_in_progress: { status: 409, title: "Request with this idempotency key in progress" },
  webhook_disabled: { status: 409, title: "Webhook disabled" },
  delivery_pending: { status: 409, title: "Delivery pending" },
  precondition_failed: { status: 412, title: "Precondition failed" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  idempotency_key_reused: { status: 422, title: "Idempotency key reused" },
  invalid_webhook_url: { status: 422, title: "Invalid webhook URL" },
  invalid_reset_token: { status: 400, title: "Invalid reset token" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal server error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorRegistry;

/** One bad field: `path` is dotted (`metadata.plan`, `limit`), `code` a zod-style issue code. */
export interface FieldError {
  path: string;
  message: string;
  code: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Headers the problem response must carry (`WWW-Authenticate`, `Retry-After`, `Allow`). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? errorRegistry[code].title);
    this.status = errorRegistry[code].status;
    this.title = errorRegistry[code].title;
  }
}

export const notFound = (what = "Resource") => new ApiError("not_found", `${what} not found.`);

export const forbidden = (detail = "You do not have permission for this action.") =>
  new ApiError("forbidden", detail);

export const validationError = (errors: FieldError[], detail?: string) =>
  new ApiError("validation_failed", detail ?? describeFieldErrors(errors), errors);

export const fieldError = (path: string, message: string, code = "invalid_value") =>
  validationError([{ path, message, code }]);

function describeFieldErrors(errors: FieldError[]): string {
  const names = [...new Set(errors.map((e) => e.path || "(body)"))];
  return `Invalid ${names.join(", ")}.`;
}

/** The RFC 9457 body for an error. */
export function problemBody(err: ApiError) {
  return {
    type: `https://userplane.dev/problems/${err.code.replaceAll("_", "-")}`,
    title: err.title,
    status: err.status,
    detail: err.detail ?? err.title,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
  };
}
