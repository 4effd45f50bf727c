import { pbkdf2Sync } from "node:crypto";

/*
 * Every format is checked against hashes made by an independent implementation:
 * - zitadel/passwap internal/testvalues (password "password", salt "randomsaltishard"): bcrypt
 *   made by passlib, argon2 by the reference `argon2` CLI, scrypt and PBKDF2 by passlib;
 * - RFC 7914 §12 for scrypt (N=1024, r=8, p=16, "password"/"NaCl");
 * - Firebase's published vector (github.com/firebase/scrypt README);
 * - Django's format computed here with node:crypto's PBKDF2 (Django's own algorithm).
 */
export const VECTORS = {
  bcrypt2a: "$2a$12$aLYFkieuqJyeynvptPTxpehSViui5WeAPuR2Xw1wui9CPHEaacmFq",
  bcrypt2b: "$2b$12$bIRGj4QPPoSUMWsJE.4Pk.T1qTpDWz7HhMnuiQhGzGinKPsx/HQdq",
  bcrypt2y: "$2y$12$hXUrnqdq1RIIYZ2HPytIIe5lXdIvbhqrTvdPsSF7o.jFh817Z6lwm",
  argon2i: "$argon2i$v=19$m=4096,t=3,p=1$cmFuZG9tc2FsdGlzaGFyZA$YMvo8AUoNtnKYGqeODruCjHdiEbl1pKL2MsYy9VgU/E",
  argon2id: "$argon2id$v=19$m=4096,t=3,p=1$cmFuZG9tc2FsdGlzaGFyZA$DYojYpnUWSMmTtrkVXyaNWVGxLmGe1n8VJBPDdFkbjU",
  scrypt: "$scrypt$ln=16,r=8,p=1$cmFuZG9tc2FsdGlzaGFyZA$Rh+NnJNo1I6nRwaNqbDm6kmADswD1+7FTKZ7Ln9D8nQ",
  pbkdf2Sha256: "$pbkdf2-sha256$12$cmFuZG9tc2FsdGlzaGFyZA$OFvEcLOIPFd/oq8egf10i.qJLI7A8nDjPLnolCWarQY",
  pbkdf2Sha512:
    "$pbkdf2-sha512$12$cmFuZG9tc2FsdGlzaGFyZA$e297piXvkpYxoYQAWD9zn1aKXCo3XmR91Xn9/WEGsHXU/7xaQzCV9upu4T5Jntq6AiZ6YX0diXnY7Ju5TEfUMA",
} as const;
export const VECTOR_PASSWORD = "password";

const RFC7914_KEY =
  "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640";
const hexToBase64 = (hex: string) => btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16)))).replace(/=+$/, "");
export const RFC7914_SCRYPT = `$scrypt$ln=10,r=8,p=16$${btoa("NaCl").replace(/=+$/, "")}$${hexToBase64(RFC7914_KEY)}`;

export const FIREBASE = {
  config: {
    signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    salt_separator: "Bw==",
    rounds: 8,
    mem_cost: 14,
  },
  salt: "42xEC+ixf3L2lw==",
  hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
  password: "user1password",
};

/** Django's make_password for pbkdf2_sha256, with node:crypto's PBKDF2. */
export function djangoHash(password: string, salt: string, iterations: number): string {
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64")}`;
}

/** The PHC form @phc/pbkdf2 writes (`i=`, standard base64 without padding). */
export function phcPbkdf2(password: string, digest: "sha256" | "sha512", iterations: number): string {
  const salt = new TextEncoder().encode("saltysaltysalty!");
  const key = pbkdf2Sync(password, salt, iterations, digest === "sha256" ? 32 : 64, digest);
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/=+$/, "");
  return `$pbkdf2-${digest}$i=${iterations}$${b64(salt)}$${b64(new Uint8Array(key))}`;
}
