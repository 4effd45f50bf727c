import bcrypt from "bcryptjs";
import type { HashFamily } from "./family";

/** bcrypt (`$2a$`, `$2b$`, `$2y$`): cost ≤ 14, about a second of CPU in workerd (docs/auth.md). */
export const MAX_BCRYPT_COST = 14;

interface Bcrypt {
  encoded: string;
  cost: number;
}

const PATTERN = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export const bcryptHashes: HashFamily<Bcrypt> = {
  parse(encoded) {
    const m = PATTERN.exec(encoded);
    if (!m) return null;
    const cost = Number(m[1]);
    return cost >= 4 && cost <= 31 ? { encoded, cost } : null;
  },
  tooCostly: ({ cost }) => (cost > MAX_BCRYPT_COST ? `bcrypt cost ${cost} is above ${MAX_BCRYPT_COST}.` : null),
  // The synchronous compare: the work is CPU-bound either way, and the async one only adds
  // timer round trips to it.
  verify: async (password, { encoded }) => bcrypt.compareSync(password, encoded),
};
