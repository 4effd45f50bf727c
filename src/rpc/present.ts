import type { Principal } from "../auth/principal";
import { BOOTSTRAP_KEY_ID } from "../middleware/authenticate";
import type { AuthenticatedPrincipal } from "./types";

/** The contract's snake_case shape of a principal (Workers RPC `authenticate`, `GET /v1/principal`). */
export function presentPrincipal(p: Principal): AuthenticatedPrincipal {
  return {
    kind: p.kind,
    tenant_id: p.tenantId,
    user_id: p.kind === "api_key" ? (p.keyCreatedBy ?? null) : p.userId,
    session_id: p.sessionId,
    key_id: p.keyId === BOOTSTRAP_KEY_ID ? null : p.keyId,
    roles: p.roles,
    permissions: p.permissions,
    password_change_required: p.passwordChangeRequired,
  };
}
