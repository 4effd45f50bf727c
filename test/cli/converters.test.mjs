import { describe, expect, it } from "vitest";
import { firebaseHashConfig } from "../../scripts/cli/sources/firebase.mjs";
import { toRfc3339 } from "../../scripts/cli/sources/fields.mjs";
import { convertFixture } from "./files.mjs";

const users = (records) => records.map((r) => r.result.user);

describe("auth0", () => {
  it("maps the hash export and the export job's fields", async () => {
    const records = await convertFixture("auth0", "auth0/users.ndjson");
    expect(records.map((r) => r.line)).toEqual([1, 2, 4]);
    expect(users(records)).toEqual([
      {
        external_id: "auth0|5dea9f9c82dd7c0e76e4ec93",
        email: "ada@auth0.example",
        password_hash: "$2b$10$56NTl6077WlNTr3Manp5juigzJ5h5glAjcAKvV63Zpq1r4qFo.CEq",
        metadata: {
          auth0: { email_verified: false, connection: "Username-Password-Authentication", password_set_at: "2019-12-06T18:36:12.412Z" },
        },
      },
      {
        external_id: "auth0|euclid",
        email: "grace@auth0.example",
        username: "grace",
        first_name: "Grace",
        last_name: "Hopper",
        password_hash: "$2b$10$xGgnUmPSDy546bSz6vaQE.wGWbg1qia1GDN.T.QWU5VgVftAKfoGG",
        created_at: "2020-03-01T09:30:00.000Z",
        last_login_at: "2024-05-02T10:00:00.000Z",
        metadata: {
          plan: "pro",
          locale: "en-GB",
          auth0: {
            email_verified: true,
            name: "Grace Hopper",
            nickname: "grace",
            picture: "https://s.gravatar.com/avatar/0d1e.png",
            connection: "Username-Password-Authentication",
            providers: ["auth0"],
            app_metadata: { roles: ["editor"], account: "acct_7" },
            logins_count: 42,
          },
        },
      },
      {
        external_id: "google-oauth2|104937218471200",
        email: "linus@gmail.example",
        first_name: "Linus",
        is_active: false,
        created_at: "2021-07-15T12:00:00.000Z",
        last_login_at: "2023-01-09T08:15:30.000Z",
        metadata: { auth0: { email_verified: true, name: "linus@gmail.example", connection: "google-oauth2", providers: ["google-oauth2"] } },
      },
    ]);
  });

  it("names the line and every bad field of a bad item, and goes on", async () => {
    const records = await convertFixture("auth0", "auth0/bad.ndjson");
    expect(records.map((r) => [r.line, r.result.user ? "ok" : r.result.errors.map((e) => `${e.path}:${e.code}`)])).toEqual([
      [1, "ok"],
      [2, ["custom_password_hash.algorithm:unsupported_password_hash"]],
      [3, [":unreadable_record"]],
      [4, ["email:invalid_field", "user_id:invalid_field", "blocked:invalid_field", "created_at:invalid_field", "email:missing_identity"]],
      [5, "ok"],
    ]);
    expect(records[3].result.errors[1].message).toBe("must be a string, not 42");
  });
});

describe("firebase", () => {
  const hashConfig = { firebase_scrypt: { signer_key: "k", salt_separator: "Bw==", rounds: 8, mem_cost: 14 } };

  it("maps auth:export users, keeping the scrypt hash and salt as they are", async () => {
    const records = await convertFixture("firebase", "firebase/users.json", { hashConfig });
    expect(records.map((r) => r.line)).toEqual([3, 18]);
    expect(users(records)).toEqual([
      {
        external_id: "QbnLqWMsaQVn3vRb8rSsp2EVhE43",
        email: "user1@firebase.example",
        first_name: "Marie Curie",
        password_hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
        password_salt: "42xEC+ixf3L2lw==",
        created_at: "2020-09-13T12:26:40.000Z",
        last_login_at: "2023-11-14T22:13:20.000Z",
        metadata: {
          firebase: {
            email_verified: true,
            photo_url: "https://lh3.googleusercontent.example/a/photo.jpg",
            providers: ["password"],
            custom_claims: { admin: true, team: "radium" },
          },
        },
      },
      {
        external_id: "aB3dE5fG7hI9jK1lM3nO5pQ7rS9t",
        is_active: false,
        created_at: "2022-04-15T05:20:00.000Z",
        last_login_at: "2023-07-22T04:26:40.000Z",
        metadata: { firebase: { phone_number: "+15555550100", providers: ["phone"] } },
      },
    ]);
  });

  it("fails a user with a hash when the hash parameters were not given", async () => {
    const [first] = await convertFixture("firebase", "firebase/users.json");
    expect(first.result.errors).toEqual([expect.objectContaining({ path: "passwordHash", code: "missing_hash_config" })]);
  });

  it("stops at a truncated file after the users before it, naming a bad customAttributes", async () => {
    const records = [];
    const error = await (async () => {
      try {
        const { convertRecords } = await import("../../scripts/cli/sources/index.mjs");
        const { createReadStream } = await import("node:fs");
        const { fixture } = await import("./files.mjs");
        for await (const r of convertRecords("firebase", createReadStream(fixture("firebase/truncated.json"), "utf8"), "{")) records.push(r);
      } catch (e) {
        return e;
      }
    })();
    expect(records.map((r) => r.result.errors?.[0]?.path ?? "ok")).toEqual(["ok", "customAttributes"]);
    expect(error?.message).toBe("line 6: the file ends inside the array (truncated?)");
  });

  it("reads the hash parameters as the console prints them, and refuses bad ones", () => {
    expect(firebaseHashConfig({})).toEqual({ config: null, errors: [] });
    expect(firebaseHashConfig({ hashKey: "jxspr8Ki0RYy==", saltSeparator: "Bw==", rounds: "8", memCost: "14" })).toEqual({
      config: { firebase_scrypt: { signer_key: "jxspr8Ki0RYy==", salt_separator: "Bw==", rounds: 8, mem_cost: 14 } },
      errors: [],
    });
    expect(firebaseHashConfig({ hashKey: "not base64!", rounds: "eight" }).errors).toEqual([
      "--hash-key must be the base64 signer key Firebase shows (base64_signer_key)",
      "--rounds must be an integer from 1 to 32",
      "--mem-cost must be an integer from 1 to 32",
    ]);
  });
});

describe("keycloak", () => {
  it("turns pbkdf2 credentials into PHC strings (base64 without padding) and skips service accounts", async () => {
    const { convertKeycloak } = await import("../../scripts/cli/sources/keycloak.mjs");
    expect(convertKeycloak({ id: "u", username: "u", enabled: false }).user.is_active).toBe(false);
    const records = await convertFixture("keycloak", "keycloak/realm-export.json");
    expect(records.map((r) => r.line)).toEqual([7, 42, 65]);
    expect(records[2].result).toEqual({ ignored: "a client's service account, not a person" });
    expect(records[0].result.user).toEqual({
      external_id: "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
      username: "alan",
      email: "alan@keycloak.example",
      first_name: "Alan",
      last_name: "Turing",
      password_hash: "$pbkdf2-sha256$i=27500$X/3qAraeajhxQ1lQlKJWVQ$o5QlMUZGGpcSaKPKbRzsqzOrAz524LMP6eLbb9eV8+E",
      created_at: "2023-01-01T00:00:00.000Z",
      metadata: {
        department: "cryptanalysis",
        phone: ["+441234567", "+449876543"],
        keycloak: {
          email_verified: true,
          realm_roles: ["default-roles-acme", "staff"],
          client_roles: { account: ["manage-account"] },
          groups: ["/engineering"],
        },
      },
    });
    expect(records[1].result.user).toMatchObject({
      password_hash:
        "$pbkdf2-sha512$i=210000$pKPxfWaxqMf7fWYsa7pATw$aSOFzDAs4PXQRA/9QJ4ZHUt6HuM4a7vN+l6Mx/9u71KwL56mkb4btkeYlyu5q4Yj9w8lJwp95xsoKuAx0EKwOw",
      password_change_required: true,
      metadata: { keycloak: { required_actions: ["UPDATE_PASSWORD"], realm_roles: ["default-roles-acme"] } },
    });
  });

  it("names the credential field that cannot be read", async () => {
    const { convertKeycloak } = await import("../../scripts/cli/sources/keycloak.mjs");
    const credential = (data, secret = '{"value":"aGFzaA==","salt":"c2FsdA=="}') => ({
      id: "u1",
      username: "u",
      credentials: [{ type: "otp" }, { type: "password", secretData: secret, credentialData: data }],
    });
    expect(convertKeycloak(credential('{"algorithm":"pbkdf2","hashIterations":27500}')).errors).toEqual([
      expect.objectContaining({ path: "credentials.1.credentialData.algorithm", code: "unsupported_password_hash" }),
    ]);
    expect(convertKeycloak(credential('{"algorithm":"pbkdf2-sha256"}')).errors[0].path).toBe("credentials.1.credentialData.hashIterations");
    expect(convertKeycloak(credential("{oops")).errors[0].path).toBe("credentials.1.credentialData");
    expect(convertKeycloak(credential("{}", '{"value":"%%","salt":"c2FsdA=="}')).errors[0].path).toBe("credentials.1.secretData.value");
    expect(
      convertKeycloak(
        credential('{"hashIterations":3,"algorithm":"argon2","additionalParameters":{"type":["id"],"memory":["7168"],"parallelism":["1"],"version":["1.3"]}}'),
      ).user.password_hash,
    ).toBe("$argon2id$v=19$m=7168,t=3,p=1$c2FsdA$aGFzaA");
  });
});

describe("supabase", () => {
  const now = new Date("2025-01-01T00:00:00Z");

  it("maps auth.users rows from JSON: names from user metadata, bans, deleted users left out", async () => {
    const records = await convertFixture("supabase", "supabase/users.json", { now });
    expect(records[2].result).toEqual({ ignored: "deleted in Supabase (deleted_at is set)" });
    expect(users(records.slice(0, 2))).toEqual([
      {
        external_id: "d0e1f2a3-b4c5-4d6e-8f70-8192a3b4c5d6",
        email: "rosalind@supabase.example",
        first_name: "Rosalind",
        last_name: "Franklin",
        password_hash: "$2a$10$r69iSfaxD4wX8.WzSyEcyOgm0NMus3XsJ.Lv8bDcdrd5bzoytpTqu",
        created_at: "2023-02-01T10:00:00.000Z",
        last_login_at: "2024-06-30T21:14:09.987Z",
        metadata: {
          first_name: "Rosalind",
          last_name: "Franklin",
          newsletter: true,
          supabase: {
            app_metadata: { provider: "email", providers: ["email"] },
            email_confirmed_at: "2023-02-01T10:00:05.123Z",
            role: "authenticated",
          },
        },
      },
      {
        external_id: "e1f2a3b4-c5d6-4e7f-9081-92a3b4c5d6e7",
        email: "barbara@supabase.example",
        first_name: "Barbara Liskov",
        is_active: false,
        created_at: "2023-03-01T08:00:00.000Z",
        metadata: {
          full_name: "Barbara Liskov",
          avatar_url: "https://avatars.example/u/1",
          user_name: "bliskov",
          supabase: {
            app_metadata: { provider: "github", providers: ["github"] },
            email_confirmed_at: "2023-03-01T08:00:00.000Z",
            banned_until: "2999-01-01T00:00:00.000Z",
            role: "authenticated",
          },
        },
      },
    ]);
  });

  it("maps the same columns from CSV (jsonb as text, t/f booleans, Postgres timestamps)", async () => {
    const records = await convertFixture("supabase", "supabase/users.csv", { now });
    expect(records.map((r) => r.line)).toEqual([2, 3]);
    expect(users(records)).toEqual([
      {
        external_id: "a3b4c5d6-e7f8-4091-a2b3-c4d5e6f7a8b9",
        email: "dorothy@supabase.example",
        first_name: "Dorothy",
        last_name: "Hodgkin",
        password_hash: "$2a$10$blO4u.JP3RpCs9PQtBu6CuXLq0xFAuVlxUvKbipexV03n818lPl52",
        created_at: "2023-05-01T09:00:00.000Z",
        last_login_at: "2024-07-01T12:34:56.654Z",
        metadata: {
          first_name: "Dorothy",
          last_name: "Hodgkin",
          bio: "Crystallographer,\nNobel 1964",
          supabase: {
            app_metadata: { provider: "email", providers: ["email"] },
            email_confirmed_at: "2023-05-01T09:00:00.123Z",
            role: "authenticated",
          },
        },
      },
      {
        external_id: "b4c5d6e7-f8a9-40b1-b3c4-d5e6f7a8b9c0",
        created_at: "2024-02-02T02:02:02.000Z",
        metadata: { supabase: { app_metadata: { provider: "anonymous", providers: ["anonymous"] }, role: "authenticated", is_anonymous: true } },
      },
    ]);
  });
});

describe("userplane", () => {
  it("passes export lines through as they are", async () => {
    const records = await convertFixture("userplane", "userplane/export.ndjson");
    expect(records.map((r) => r.result.user.id)).toEqual(["usr_01JD0000000000000000000001", "usr_01JD0000000000000000000002"]);
    expect(records[1].result.user.manager_id).toBe("usr_01JD0000000000000000000001");
  });
});

describe("toRfc3339", () => {
  it("reads every timestamp shape the sources write, and nothing else", () => {
    expect(toRfc3339("2024-01-02 03:04:05.123456+02")).toBe("2024-01-02T01:04:05.123Z");
    expect(toRfc3339("2024-01-02T03:04:05-0130")).toBe("2024-01-02T04:34:05.000Z");
    expect(toRfc3339("2024-01-02 03:04:05")).toBe("2024-01-02T03:04:05.000Z");
    expect(toRfc3339(1600000000000)).toBe("2020-09-13T12:26:40.000Z");
    expect(toRfc3339({ $date: "2019-12-06T18:36:12.412Z" })).toBe("2019-12-06T18:36:12.412Z");
    for (const bad of ["yesterday", "2024-13-45 00:00:00", true, "12"]) expect(toRfc3339(bad)).toBeNull();
  });
});

describe("every converter", () => {
  it("fails an item whose metadata would pass 16 KiB, naming metadata", async () => {
    const { convertAuth0 } = await import("../../scripts/cli/sources/auth0.mjs");
    const big = { user_id: "auth0|big", email: "big@x.example", user_metadata: { notes: "é".repeat(9000) } };
    expect(convertAuth0(big).errors).toEqual([expect.objectContaining({ path: "metadata", code: "metadata_too_large" })]);
    expect(convertAuth0({ ...big, user_metadata: { notes: "é".repeat(8000) } }).user).toBeDefined();
  });
});
