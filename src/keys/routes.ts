import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env";
import { isPlatform } from "../auth/principal";
import { rotateSigningKey } from "../auth/tokens";
import { forbidden } from "../lib/errors";
import { describe } from "../openapi/registry";

/** Signing keys of userplane's own access tokens (the key store Durable Object keeps them). */
export const signingKeys = new Hono<AppEnv>();

signingKeys.post(
  "/rotate",
  describe({
    summary: "Rotate the signing key",
    description:
      "Platform principals only. Starts a new Ed25519 signing key at once; new access tokens carry its kid. The retired key stays in the JWKS until the tokens it signed have expired, so tokens already issued keep working. 409 when SIGNING_KEYS pins the keys. Answers the new JWKS (public keys only).",
    tags: ["Service"],
    responses: {
      200: { description: "The published keys after rotation", schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) },
    },
  }),
  async (c) => {
    if (!isPlatform(c.get("principal"))) throw forbidden("Rotating signing keys needs a platform API key.");
    return c.json({ keys: await rotateSigningKey(c.env) });
  },
);
