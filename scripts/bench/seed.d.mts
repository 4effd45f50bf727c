// Types for what the test suite imports from seed.mjs (test/rows-read.test.ts).
/** mulberry32: a deterministic generator of numbers in [0, 1). */
export function prng(seed: number): () => number;
