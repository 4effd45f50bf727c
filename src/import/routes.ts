import { Hono } from "hono";
import type { AppEnv } from "../env";
import { sessionInBatch } from "../auth/deferred";
import { idempotent } from "../middleware/idempotency";
import { describe, recordDoc } from "../openapi/registry";
import { jsonBody, queryParams } from "../lib/validate";
import { exportUsers } from "./export";
import { ExportLine, ExportQuery, HASH_FORMATS_DESCRIPTION, ImportBody, ImportEnvelope, ImportResult, MAX_IMPORT_ITEMS } from "./schemas";
import { importUsers } from "./service";

/** Moving a user base in and out: bulk import with foreign password hashes, and NDJSON export. */
export const importExport = new Hono<AppEnv>();

const tags = ["Users"];

/** The envelope validates the request; the OpenAPI document shows the items' schema as well. */
const importBody = jsonBody(ImportEnvelope);
recordDoc(importBody, { json: ImportBody });

importExport.post(
  "/import",
  describe({
    summary: "Import users (with password hashes made elsewhere)",
    description: `Needs users:write. 1–${MAX_IMPORT_ITEMS} users per request, body up to 5 MiB. One result per item, in input order; each item is applied whole or not at all, a failed item never stops the others, and only an invalid envelope fails the request (422, nothing imported). Items are applied in order, and an earlier item is an existing user for the later ones. on_conflict decides what an item whose email, username, external_id or (ids keep) id matches a user does: fail (conflict), skip, or update that user with the fields the item gives (null clears a field, roles and metadata are replaced; updating the email, username, external_id, password or activity of a user whose roles carry permissions you lack fails with forbidden; an import never moves a user to another manager: manager_change_unsupported). Granting roles follows the rules of create (forbidden when you lack a role's permissions; unknown_role). ids: "keep" keeps given ids — they are unique across the deployment, so importing an export beside its original (another tenant of the same deployment) needs "new"; "new" gives created users new ids, in input order, and rewrites manager_id references to earlier items. manager_id names an existing user of the tenant or an earlier item (its given id), else manager_not_found; with a password_hash the item fails (managed_user_password). Plaintext passwords are not accepted (password is an unknown field). Every created user gets a user.created event with "imported": true; an updated one a user.updated event with "imported": true. password_hash: ${HASH_FORMATS_DESCRIPTION}`,
    tags,
    responses: { 200: { description: "One result per item, in input order", schema: ImportResult } },
  }),
  sessionInBatch(),
  idempotent(),
  importBody,
  async (c) => c.json(await importUsers(c, c.req.valid("json"))),
);

importExport.get(
  "/export",
  describe({
    summary: "Export users as NDJSON",
    description:
      'Needs users:read. 200 application/x-ndjson: one User per line (manager_id, roles, metadata; managed and inactive users included) in id order, so every manager comes before the users they manage. At most limit lines (1–10000, default 1000); while more remain, a Link: <…?cursor=…>; rel="next" header names the next part with the same query (limit, include_credentials and tenant kept). include_credentials=true (owner * or a platform principal only, else 403) adds password_hash: null without a password, else a self-describing string the import reads without hash_config — userplane\'s own scrypt as a $scrypt$ln=…,r=…,p=…$salt$hash PHC string (base64url), a foreign hash as it was imported, a Firebase hash as $firebase-scrypt$rounds=R,mem_cost=M$signer_key$salt_separator$salt$hash. Each line is a valid ImportUser as it is: imported into an empty tenant it gives the same users, roles, metadata, managers, created_at, last_login_at and password_change_required, and every user signs in with the same password.',
    tags,
    responses: {
      200: {
        description: "One ExportLine (a User, plus password_hash with include_credentials) per line, each line ending in \\n.",
        contentType: "application/x-ndjson",
        schema: ExportLine,
        headers: { Link: '<…/v1/users/export?…&cursor=…>; rel="next" while more users remain; absent on the last part.' },
      },
    },
  }),
  sessionInBatch(),
  queryParams(ExportQuery),
  async (c) => exportUsers(c, c.req.valid("query")),
);
