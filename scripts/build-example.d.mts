/** The example Worker's code, bundled into one ES module (see build-example.mjs). */
export function buildConsumerWorker(): Promise<string>;
