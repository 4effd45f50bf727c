import { createApp } from "./app";
import type { Bindings } from "./env";
import { consumeWebhookBatch } from "./webhooks/consumer";
import type { WebhookMessage } from "./webhooks/messages";
import { sweepWebhooks, WEBHOOK_SWEEP_CRON } from "./webhooks/sweep";

export { TenantCoordinator } from "./coordinator/tenant-coordinator";
export { ResetTokens } from "./resets/reset-tokens";
export { KeyStore } from "./keys/key-store";
export { Throttle } from "./sign-in/throttle";
export { UserplaneRpc } from "./rpc/entrypoint";

const app = createApp();

export default {
  fetch: app.fetch,
  /** Daily: makes sure the key store's rotation alarm is armed (rotation itself is the alarm's). Every minute: the webhook sweep. */
  async scheduled(controller, env) {
    if (controller.cron === WEBHOOK_SWEEP_CRON) {
      await sweepWebhooks(env, controller.scheduledTime);
      return;
    }
    await env.KEYS.get(env.KEYS.idFromName("keys")).material();
  },
  /** The webhook queue's consumer: fan-out of new events and delivery attempts. */
  async queue(batch, env) {
    await consumeWebhookBatch(batch, env);
  },
} satisfies ExportedHandler<Bindings, WebhookMessage>;
