import { createApp } from "./app";
import type { Bindings } from "./env";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";
export { ResetTokens } from "./resets/reset-tokens";
export { KeyStore } from "./keys/key-store";
export { Throttle } from "./auth/throttle";
export { UserplaneRpc } from "./rpc/entrypoint";

const app = createApp();

export default {
  fetch: app.fetch,
  /** Daily: makes sure the key store's rotation alarm is armed (rotation itself is the alarm's). */
  async scheduled(_controller, env) {
    await env.KEYS.get(env.KEYS.idFromName("keys")).material();
  },
} satisfies ExportedHandler<Bindings>;
