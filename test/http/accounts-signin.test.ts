/**
 * POST /accounts/signIn and /accounts/signInWithPassword (docs/spec/api.md §4.2): one handler, the
 * indistinguishable failures and their timing class, rate limits and lockout before hashing, the
 * rehash upgrade (docs/spec/operations.md §2.5), and legacy `users` records.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine, TEST_API_KEY } from "../support/app.ts";
import {
  type AccountsApp,
  accountsApp,
  countingHasher,
  expectError,
  expectRateLimited,
  metric,
  PASSWORD,
  seedUser,
  storedUser,
  verifiedClaims,
} from "./accounts-support.ts";

/** `htpasswd -bnBC 4 "" 'correct horse battery staple'` (test/crypto/password.test.ts). */
const BCRYPT_COST4 = "$2y$04$iSm77nsrJ8j0dicMStfxpemHzN/l1iLjJp2X7tT.PK3z0LWdK42Wy";
/** `htpasswd -bnBC 10 "" password`. */
const BCRYPT_GO = "$2y$10$uMB41ItiY/45YRtB0Jxure18hvq9NCxQj4VzURBy1Z2DJA7y5NT6S";

forEachEngine("password sign-in", (engine) => {
  describe("signIn / signInWithPassword", () => {
    let t: AccountsApp;
    let hasher: ReturnType<typeof countingHasher>;
    beforeAll(async () => {
      t = await accountsApp(engine, {
        passwords: (real) => {
          hasher = countingHasher(real);
          return hasher;
        },
      });
      await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    });

    it("signs in with the normalised email and answers the documented body and idToken", async () => {
      const user = await seedUser(t, "alice@example.com", { companyId: "acme", role: "COMPANY_ADMIN" });
      const res = await t.post(
        "/accounts/signIn",
        { email: "  ALICE@example.com ", password: PASSWORD, returnSecureToken: true },
        { key: false },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["email", "expiresIn", "idToken", "localId", "refreshToken"]);
      expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(body).toMatchObject({ email: "alice@example.com", localId: user.localId, expiresIn: 3600 });
      await verifiedClaims(body.idToken, {
        sub: user.localId,
        email: "alice@example.com",
        role: "COMPANY_ADMIN",
        tid: "acme",
        amr: "pwd",
        ver: 0,
      });
      expect(await metric(t, "tikti_signin_total", { method: "password", result: "success" })).toBe(1);
    });

    it("signInWithPassword is the same handler behind the API key; signIn ignores a key", async () => {
      await seedUser(t, "bob@example.com");
      await expectError(
        await t.post(
          "/accounts/signInWithPassword",
          { email: "bob@example.com", password: PASSWORD },
          { key: false },
        ),
        "API_KEY_INVALID",
      );
      const keyed = await t.post("/accounts/signInWithPassword", {
        email: "bob@example.com",
        password: PASSWORD,
      });
      expect(keyed.status).toBe(200);
      expect((await keyed.json()).email).toBe("bob@example.com");
      const v1 = await t.post(`/v1/accounts/signInWithPassword?key=${TEST_API_KEY}`, {
        email: "bob@example.com",
        password: PASSWORD,
      });
      expect(v1.status).toBe(200);
      // A public route ignores the key, even a wrong one.
      const publicWithBadKey = await t.post(
        "/accounts/signIn",
        { email: "bob@example.com", password: PASSWORD },
        { key: false, headers: { "x-api-key": "wrong" } },
      );
      expect(publicWithBadKey.status).toBe(200);
    });

    it("fails every case with the same 401 after the same hash work, and counts them", async () => {
      await seedUser(t, "carol@example.com");
      await seedUser(t, "inactive@example.com", { status: "INACTIVE" });
      await seedUser(t, "suspended@example.com", { status: "SUSPENDED" });
      await seedUser(t, "saml-only@example.com", { hash: "", authSource: "saml" });
      const cases = [
        ["wrong password", "carol@example.com", "wrong password!"],
        ["unknown user", "nobody@example.com", PASSWORD],
        ["SAML-only user", "saml-only@example.com", PASSWORD],
        ["INACTIVE user, right password", "inactive@example.com", PASSWORD],
        ["SUSPENDED user, right password", "suspended@example.com", PASSWORD],
      ] as const;
      const bodies = new Set<string>();
      for (const [name, email, password] of cases) {
        const before = hasher.calls.verify + hasher.calls.verifyDummy;
        const res = await t.post("/accounts/signIn", { email, password }, { key: false });
        expect(res.status, name).toBe(401);
        bodies.add(await res.text());
        // Exactly one (real or dummy) verification per attempt: no timing shortcut.
        expect(hasher.calls.verify + hasher.calls.verifyDummy - before, name).toBe(1);
      }
      expect([...bodies]).toEqual([
        JSON.stringify({ error: "invalid credentials", code: "INVALID_CREDENTIALS" }),
      ]);
      expect(await metric(t, "tikti_signin_total", { method: "password", result: "failure" })).toBe(5);
      expect(
        await metric(t, "tikti_auth_fail_total", { route: "/accounts/signIn", code: "INVALID_CREDENTIALS" }),
      ).toBe(5);
    });

    it("validates the body: 400 INVALID_REQUEST for missing/wrong fields, INVALID_ARGUMENT for a blank email", async () => {
      await expectError(
        await t.post("/accounts/signIn", { email: "a@example.com" }, { key: false }),
        "INVALID_REQUEST",
        { password: expect.any(String) },
      );
      await expectError(
        await t.post("/accounts/signIn", { email: ["a@example.com"], password: "x" }, { key: false }),
        "INVALID_REQUEST",
        { email: expect.any(String) },
      );
      await expectError(
        await t.post("/accounts/signIn", { email: " ", password: "whatever" }, { key: false }),
        "INVALID_ARGUMENT",
        { email: "must not be blank" },
      );
    });

    it("signs in a legacy Go user from the `users` hash and copies it forward", async () => {
      await t.store.hset(
        keys.legacyUsers(),
        "Legacy.User@Example.com",
        JSON.stringify({
          Id: "legacy-user-1",
          email: "Legacy.User@Example.com",
          password: BCRYPT_GO,
          role: "COMPANY_EMPLOYEE",
          status: "ACTIVE",
          companyId: "acme",
          createdAt: "2023-05-01T12:00:00.123456789Z",
        }),
      );
      const res = await t.post(
        "/accounts/signIn",
        { email: "Legacy.User@Example.com", password: "password" },
        { key: false },
      );
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ localId: "legacy-user-1", email: "Legacy.User@Example.com" });
      await verifiedClaims(body.idToken, {
        sub: "legacy-user-1",
        email: "Legacy.User@Example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: "pwd",
        ver: 0,
      });
      expect(await t.store.get(keys.userByEmail("legacy.user@example.com"))).toBe("legacy-user-1");
      expect(await storedUser(t, "legacy-user-1")).toMatchObject({ localId: "legacy-user-1" });
    });
  });

  describe("rate limits and lockout (docs/spec/api.md §2.8), all before any hashing", () => {
    it("signInIp: the third attempt from one IP is 429 with Retry-After and spends no hash", async () => {
      let hasher!: ReturnType<typeof countingHasher>;
      const t = await accountsApp(engine, {
        config: { rateLimits: { enabled: true, signInIp: { limit: 2, windowSeconds: 60 } } },
        passwords: (real) => (hasher = countingHasher(real)),
      });
      await seedUser(t, "dora@example.com");
      for (const email of ["dora@example.com", "someone@example.com"]) {
        expect(
          (await t.post("/accounts/signIn", { email, password: PASSWORD }, { key: false })).status,
        ).not.toBe(429);
      }
      const verifies = hasher.calls.verify + hasher.calls.verifyDummy;
      const limited = await t.post(
        "/accounts/signIn",
        { email: "dora@example.com", password: PASSWORD },
        { key: false },
      );
      await expectRateLimited(limited, 60);
      expect(hasher.calls.verify + hasher.calls.verifyDummy).toBe(verifies);
      // signInWithPassword shares the bucket.
      await expectRateLimited(
        await t.post("/accounts/signInWithPassword", { email: "dora@example.com", password: PASSWORD }),
        60,
      );
    });

    it("signInEmail: limited per normalised email across addresses", async () => {
      const t = await accountsApp(engine, {
        config: {
          http: { trustedProxies: ["192.0.2.0/24"] },
          rateLimits: { enabled: true, signInEmail: { limit: 2, windowSeconds: 60 } },
        },
      });
      await seedUser(t, "erin@example.com");
      const from = (ip: string, email: string) =>
        t.post(
          "/accounts/signIn",
          { email, password: PASSWORD },
          { key: false, headers: { "X-Forwarded-For": ip } },
        );
      expect((await from("198.51.100.1", "erin@example.com")).status).toBe(200);
      expect((await from("198.51.100.2", "ERIN@example.com")).status).toBe(200);
      await expectRateLimited(await from("198.51.100.3", " Erin@Example.com"), 60);
      expect((await from("198.51.100.3", "other@example.com")).status).toBe(401);
    });

    it("lockout: after maxFailures failures even the right password is 429 until the window ends", async () => {
      let hasher!: ReturnType<typeof countingHasher>;
      const t = await accountsApp(engine, {
        config: { rateLimits: { enabled: true, lockout: { maxFailures: 3, windowSeconds: 900 } } },
        passwords: (real) => (hasher = countingHasher(real)),
      });
      await seedUser(t, "frank@example.com");
      for (let i = 0; i < 3; i++) {
        await expectError(
          await t.post(
            "/accounts/signIn",
            { email: "frank@example.com", password: "nope-nope" },
            { key: false },
          ),
          "INVALID_CREDENTIALS",
        );
      }
      const verifies = hasher.calls.verify;
      const locked = await t.post(
        "/accounts/signIn",
        { email: "Frank@example.com", password: PASSWORD },
        { key: false },
      );
      await expectRateLimited(locked, 900);
      expect(hasher.calls.verify).toBe(verifies);
      // Unknown emails lock out too (failures count whether or not the user exists).
      for (let i = 0; i < 3; i++) {
        await t.post(
          "/accounts/signIn",
          { email: "ghost@example.com", password: "nope-nope" },
          { key: false },
        );
      }
      await expectRateLimited(
        await t.post(
          "/accounts/signIn",
          { email: "ghost@example.com", password: "nope-nope" },
          { key: false },
        ),
        900,
      );
    });

    it("lockout: a success clears the failures", async () => {
      const t = await accountsApp(engine, {
        config: { rateLimits: { enabled: true, lockout: { maxFailures: 3, windowSeconds: 900 } } },
      });
      await seedUser(t, "gina@example.com");
      const attempt = (password: string) =>
        t.post("/accounts/signIn", { email: "gina@example.com", password }, { key: false });
      expect((await attempt("nope-nope")).status).toBe(401);
      expect((await attempt("nope-nope")).status).toBe(401);
      expect((await attempt(PASSWORD)).status).toBe(200);
      expect((await attempt("nope-nope")).status).toBe(401);
      expect((await attempt("nope-nope")).status).toBe(401);
      expect(await t.app.services.rateLimiter.isLockedOut("gina@example.com", "192.0.2.10")).toBe(false);
    });

    it("lockout is per email + client IP: the attacker's address is locked, the owner signs in from another", async () => {
      // The default lockout (10 per 900 s); only the per-minute sign-in buckets are raised so that
      // ten guesses from one address reach the lockout at all.
      const t = await accountsApp(engine, {
        config: {
          http: { trustedProxies: ["192.0.2.0/24"] },
          rateLimits: {
            enabled: true,
            signInIp: { limit: 1000, windowSeconds: 60 },
            signInEmail: { limit: 1000, windowSeconds: 60 },
          },
        },
      });
      await seedUser(t, "ivy@example.com");
      const attempt = (ip: string, password: string) =>
        t.post(
          "/accounts/signIn",
          { email: "ivy@example.com", password },
          { key: false, headers: { "X-Forwarded-For": ip } },
        );
      for (let i = 0; i < 10; i++) {
        await expectError(await attempt("203.0.113.66", "wrong-guess"), "INVALID_CREDENTIALS");
      }
      // The attacker is locked, even with the right password.
      await expectRateLimited(await attempt("203.0.113.66", PASSWORD), 900);
      // The owner, from elsewhere, signs in.
      expect((await attempt("198.51.100.20", PASSWORD)).status).toBe(200);
      expect(await metric(t, "tikti_rate_limited_total", { bucket: "lockout" })).toBe(1);
    });

    it("a password reset lifts the per-email ceiling; a success from another address does not", async () => {
      const t = await accountsApp(engine, {
        config: {
          http: { trustedProxies: ["192.0.2.0/24"] },
          rateLimits: {
            enabled: true,
            signInEmail: { limit: 1000, windowSeconds: 60 },
            lockout: { maxFailures: 3, windowSeconds: 900 },
            lockoutEmail: { maxFailures: 4, windowSeconds: 900 },
          },
        },
      });
      await seedUser(t, "lena@example.com");
      const from = (ip: string) => ({ key: false, headers: { "X-Forwarded-For": ip } });
      const attempt = (ip: string, password: string) =>
        t.post("/accounts/signIn", { email: "lena@example.com", password }, from(ip));
      for (const ip of ["203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"]) {
        await expectError(await attempt(ip, "wrong-guess"), "INVALID_CREDENTIALS");
      }
      await expectRateLimited(await attempt("198.51.100.20", PASSWORD), 900);
      // The owner resets the password with a code (proof of the mailbox) from their address.
      const sent = await t.post("/accounts/sendOobCode", {
        requestType: "PASSWORD_RESET",
        email: "lena@example.com",
      });
      const { oobCode } = await sent.json();
      const reset = await t.post(
        "/accounts/resetPassword",
        { oobCode, newPassword: "a brand new passphrase" },
        { headers: { "X-Forwarded-For": "198.51.100.20" } },
      );
      expect(reset.status).toBe(200);
      expect((await attempt("198.51.100.20", "a brand new passphrase")).status).toBe(200);
      // The ceiling is gone for every address, not only the owner's.
      expect(await t.app.services.rateLimiter.isLockedOut("lena@example.com", "203.0.113.3")).toBe(false);
    });

    it("lockoutEmail: failures spread over addresses still trip the per-email ceiling everywhere", async () => {
      const t = await accountsApp(engine, {
        config: {
          http: { trustedProxies: ["192.0.2.0/24"] },
          rateLimits: {
            enabled: true,
            signInEmail: { limit: 1000, windowSeconds: 60 },
            lockout: { maxFailures: 3, windowSeconds: 900 },
            lockoutEmail: { maxFailures: 6, windowSeconds: 900 },
          },
        },
      });
      await seedUser(t, "jade@example.com");
      const attempt = (ip: string, password: string) =>
        t.post(
          "/accounts/signIn",
          { email: "jade@example.com", password },
          { key: false, headers: { "X-Forwarded-For": ip } },
        );
      // Two guesses from each of three addresses: none reaches its own limit of 3.
      for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
        await expectError(await attempt(ip, "wrong-guess"), "INVALID_CREDENTIALS");
        await expectError(await attempt(ip, "wrong-guess"), "INVALID_CREDENTIALS");
      }
      // Now the email is locked from everywhere, the owner's fresh address included.
      await expectRateLimited(await attempt("198.51.100.20", PASSWORD), 900);
      expect(await metric(t, "tikti_rate_limited_total", { bucket: "lockoutEmail" })).toBe(1);
      // Other emails are not affected.
      await seedUser(t, "kim@example.com");
      expect(
        (
          await t.post(
            "/accounts/signIn",
            { email: "kim@example.com", password: PASSWORD },
            { key: false, headers: { "X-Forwarded-For": "203.0.113.1" } },
          )
        ).status,
      ).toBe(200);
    });
  });

  describe("rehash upgrade (docs/spec/operations.md §2.5)", () => {
    it("replaces a bcrypt hash with argon2id after a successful sign-in; the new hash verifies", async () => {
      const t = await accountsApp(engine, { config: { accounts: { passwordHash: { scheme: "argon2id" } } } });
      const user = await seedUser(t, "hank@example.com", { hash: BCRYPT_COST4 });
      const first = await t.post(
        "/accounts/signIn",
        { email: "hank@example.com", password: PASSWORD },
        { key: false },
      );
      expect(first.status).toBe(200);
      const upgraded = String((await storedUser(t, user.localId))?.password);
      expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await t.deps.passwords.verify(PASSWORD, upgraded)).toBe(true);
      expect(t.deps.passwords.needsRehash(upgraded)).toBe(false);
      // Nothing else changed: no version bump, same record otherwise.
      expect(await storedUser(t, user.localId)).toMatchObject({ tokenVersion: 0, email: "hank@example.com" });
      const second = await t.post(
        "/accounts/signIn",
        { email: "hank@example.com", password: PASSWORD },
        { key: false },
      );
      expect(second.status).toBe(200);
      expect(String((await storedUser(t, user.localId))?.password)).toBe(upgraded);
    });

    it("a failed upgrade is logged and never fails the sign-in", async () => {
      const t = await accountsApp(engine, {
        passwords: (real) => ({
          ...real,
          hash: async () => {
            throw new Error("hasher down");
          },
        }),
      });
      const user = await seedUser(t, "ivy@example.com", { hash: BCRYPT_COST4 });
      const res = await t.post(
        "/accounts/signIn",
        { email: "ivy@example.com", password: PASSWORD },
        { key: false },
      );
      expect(res.status).toBe(200);
      expect((await storedUser(t, user.localId))?.password).toBe(BCRYPT_COST4);
    });
  });
});
