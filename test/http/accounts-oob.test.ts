/**
 * One-time codes (docs/spec/api.md §4.6–§4.9): sendOobCode, signInWithOobCode, resetPassword and the
 * tenant dispatch route; single use under concurrency, the not-stored EMAIL_SIGNIN answer, the
 * "not consumed on policy failure" rule, headers, rate limits and token version bumps.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto/compare.ts";
import { keys } from "../../src/store/keys.ts";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { forEachEngine, manualClock } from "../support/app.ts";
import {
  type AccountsApp,
  accountsApp,
  expectError,
  expectRateLimited,
  metric,
  PASSWORD,
  seedUser,
  storedUser,
  tokenFor,
  UUID_V4,
  verifiedClaims,
} from "./accounts-support.ts";

/** The store key of a one-time code: only its SHA-256 is a key name (docs/spec/storage.md §2). */
async function oobKey(code: string): Promise<string> {
  return keys.oob(await sha256Hex(code));
}

function expectOobHeaders(res: Response): void {
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("pragma")).toBe("no-cache");
  expect(res.headers.get("x-tikti-oob-delivery")).toBe("external-required");
}

forEachEngine("one-time codes", (engine) => {
  let t: AccountsApp;
  beforeAll(async () => {
    t = await accountsApp(engine);
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
  });
  const send = (requestType: unknown, email: unknown, key = true) =>
    t.post("/accounts/sendOobCode", { requestType, email }, { key });
  const oobSignIn = (email: unknown, oobCode: unknown) =>
    t.post("/accounts/signInWithOobCode", { email, oobCode, returnSecureToken: true }, { key: false });
  const reset = (oobCode: unknown, newPassword: unknown) =>
    t.post("/accounts/resetPassword", { oobCode, newPassword });
  const codeOf = async (res: Response): Promise<string> => (await res.json()).oobCode;

  describe("POST /accounts/sendOobCode", () => {
    it("stores a UUID v4 code for an ACTIVE password user and returns it with the delivery header", async () => {
      await seedUser(t, "olive@example.com");
      const res = await send("PASSWORD_RESET", "  Olive@Example.com ");
      expect(res.status).toBe(200);
      expectOobHeaders(res);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["email", "kind", "oobCode"]);
      expect(body).toMatchObject({
        kind: "identitytoolkit#GetOobConfirmationCodeResponse",
        email: "olive@example.com",
      });
      expect(body.oobCode).toMatch(UUID_V4);
      const stored = await t.store.hgetall(await oobKey(body.oobCode));
      expect(Object.fromEntries(stored)).toMatchObject({
        email: "olive@example.com",
        reqType: "PASSWORD_RESET",
      });
      const ttl = await t.store.pttl(await oobKey(body.oobCode));
      expect(ttl).toBeGreaterThan(890_000);
      expect(ttl).toBeLessThanOrEqual(900_000);
      // Case-insensitive request type.
      const signin = await send("email_signin", "olive@example.com");
      expect(Object.fromEntries(await t.store.hgetall(await oobKey(await codeOf(signin))))).toMatchObject({
        reqType: "EMAIL_SIGNIN",
      });
    });

    it("PASSWORD_RESET for no user, a non-ACTIVE or a SAML user → 404; EMAIL_SIGNIN → 200 with an unstored code", async () => {
      await seedUser(t, "paused@example.com", { status: "SUSPENDED" });
      await seedUser(t, "fed@example.com", { hash: "", authSource: "saml" });
      for (const email of ["nobody@example.com", "paused@example.com", "fed@example.com"]) {
        await expectError(await send("PASSWORD_RESET", email), "USER_NOT_FOUND");
        const res = await send("EMAIL_SIGNIN", email);
        expect(res.status, email).toBe(200);
        expectOobHeaders(res);
        const body = await res.json();
        expect(body).toMatchObject({ kind: "identitytoolkit#GetOobConfirmationCodeResponse", email });
        expect(body.oobCode).toMatch(UUID_V4);
        expect(await t.store.exists(await oobKey(body.oobCode))).toBe(false);
        await expectError(await oobSignIn(email, body.oobCode), "INVALID_OOB_CODE");
      }
    });

    it("answers 400 for an unknown type or a blank email, 401 without the key", async () => {
      await expectError(await send("MAGIC", "a@example.com"), "INVALID_ARGUMENT", {
        requestType: expect.any(String),
      });
      await expectError(await send("ıemail_signin", "a@example.com"), "INVALID_ARGUMENT", {
        requestType: expect.any(String),
      });
      await expectError(await send("EMAIL_SIGNIN", "  "), "INVALID_ARGUMENT", { email: "must not be blank" });
      await expectError(await send("EMAIL_SIGNIN", null), "INVALID_REQUEST", { email: expect.any(String) });
      await expectError(await send("EMAIL_SIGNIN", "a@example.com", false), "API_KEY_INVALID");
    });
  });

  describe("POST /accounts/signInWithOobCode", () => {
    it("signs in with an EMAIL_SIGNIN code (amr oob), once", async () => {
      const user = await seedUser(t, "pia@example.com", { companyId: "acme" });
      const code = await codeOf(await send("EMAIL_SIGNIN", "pia@example.com"));
      const res = await oobSignIn("  PIA@example.com ", ` ${code} `);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["email", "expiresIn", "idToken", "localId", "refreshToken"]);
      expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(body).toMatchObject({ email: "pia@example.com", localId: user.localId, expiresIn: 3600 });
      await verifiedClaims(body.idToken, {
        sub: user.localId,
        email: "pia@example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: "oob",
        ver: 0,
      });
      expect(await t.store.exists(await oobKey(code))).toBe(false);
      await expectError(await oobSignIn("pia@example.com", code), "INVALID_OOB_CODE");
      expect(await metric(t, "tikti_signin_total", { method: "oob", result: "success" })).toBe(1);
    });

    it("a wrong email spends the code; a PASSWORD_RESET code is refused and left in place", async () => {
      await seedUser(t, "quinn@example.com");
      const code = await codeOf(await send("EMAIL_SIGNIN", "quinn@example.com"));
      await expectError(await oobSignIn("someone-else@example.com", code), "INVALID_OOB_CODE");
      await expectError(await oobSignIn("quinn@example.com", code), "INVALID_OOB_CODE");

      const resetCode = await codeOf(await send("PASSWORD_RESET", "quinn@example.com"));
      await expectError(await oobSignIn("quinn@example.com", resetCode), "INVALID_OOB_CODE");
      expect(await t.store.exists(await oobKey(resetCode))).toBe(true);
      await expectError(
        await oobSignIn("quinn@example.com", "00000000-0000-4000-8000-000000000000"),
        "INVALID_OOB_CODE",
      );
    });

    it("a user that is no longer ACTIVE (or gone) gets 401 INVALID_CREDENTIALS", async () => {
      const user = await seedUser(t, "rita@example.com");
      const code = await codeOf(await send("EMAIL_SIGNIN", "rita@example.com"));
      await t.app.services.repos.users.mutate(user.localId, (u) => ({ ...u, status: "SUSPENDED" }));
      await expectError(await oobSignIn("rita@example.com", code), "INVALID_CREDENTIALS");

      const gone = await seedUser(t, "gone@example.com");
      const goneCode = await codeOf(await send("EMAIL_SIGNIN", "gone@example.com"));
      await t.app.services.repos.users.delete(gone.localId);
      await expectError(await oobSignIn("gone@example.com", goneCode), "INVALID_CREDENTIALS");
      expect(
        await metric(t, "tikti_auth_fail_total", {
          route: "/accounts/signInWithOobCode",
          code: "INVALID_CREDENTIALS",
        }),
      ).toBe(2);
    });

    it("answers 400 INVALID_ARGUMENT when a field is blank after trimming, INVALID_REQUEST when missing", async () => {
      await expectError(await oobSignIn("  ", "code"), "INVALID_ARGUMENT", { email: "must not be blank" });
      await expectError(await oobSignIn("a@example.com", " \t"), "INVALID_ARGUMENT", {
        oobCode: "must not be blank",
      });
      await expectError(
        await t.post("/accounts/signInWithOobCode", { email: "a@example.com" }, { key: false }),
        "INVALID_REQUEST",
        { oobCode: expect.any(String) },
      );
    });

    it("20 parallel uses of one code: exactly one 200", async () => {
      await seedUser(t, "sam@example.com");
      const code = await codeOf(await send("EMAIL_SIGNIN", "sam@example.com"));
      const results = await Promise.all(Array.from({ length: 20 }, () => oobSignIn("sam@example.com", code)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(19);
      for (const r of results.filter((x) => x.status === 401)) {
        expect(await r.json()).toEqual({ error: "invalid or expired code", code: "INVALID_OOB_CODE" });
      }
    });
  });

  describe("POST /accounts/resetPassword", () => {
    it("sets the password, bumps the version, consumes the code", async () => {
      const user = await seedUser(t, "tara@example.com");
      const oldToken = await tokenFor(t, user);
      const code = await codeOf(await send("PASSWORD_RESET", "tara@example.com"));
      const res = await reset(code, "  a new passphrase ");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ kind: "identitytoolkit#SetAccountPasswordResponse" });
      const stored = await storedUser(t, user.localId);
      expect(stored?.tokenVersion).toBe(1);
      // Not trimmed.
      expect(await t.deps.passwords.verify("  a new passphrase ", String(stored?.password))).toBe(true);
      expect(await t.store.exists(await oobKey(code))).toBe(false);
      await expectError(await t.post("/accounts/lookup", { idToken: oldToken }), "INVALID_TOKEN");
      const signIn = await t.post(
        "/accounts/signIn",
        { email: "tara@example.com", password: "  a new passphrase " },
        { key: false },
      );
      expect(signIn.status).toBe(200);
      await expectError(await reset(code, "another passphrase"), "INVALID_OOB_CODE");
    });

    it("a blank code or a policy failure answers 400 and leaves the code in place", async () => {
      await seedUser(t, "uma@example.com");
      const code = await codeOf(await send("PASSWORD_RESET", "uma@example.com"));
      await expectError(await reset("  ", "long enough pass"), "INVALID_ARGUMENT", {
        oobCode: "must not be blank",
      });
      await expectError(await reset(code, "short"), "INVALID_ARGUMENT", {
        newPassword: "must be at least 8 characters",
      });
      await expectError(await reset(code, "UMA@example.com"), "INVALID_ARGUMENT", {
        newPassword: "must not equal the email",
      });
      await expectError(await reset(code, "qwertyuiop"), "INVALID_ARGUMENT", {
        newPassword: "too common",
      });
      expect(await t.store.exists(await oobKey(code))).toBe(true);
      expect((await reset(code, "now it is fine")).status).toBe(200);
      await expectError(await reset(code, { not: "a string" }), "INVALID_REQUEST", {
        newPassword: expect.any(String),
      });
    });

    it("a new password equal to the code's email local part (any case) → 400, code left in place", async () => {
      await seedUser(t, "ursula.k@example.com");
      const code = await codeOf(await send("PASSWORD_RESET", "ursula.k@example.com"));
      await expectError(await reset(code, "URSULA.K"), "INVALID_ARGUMENT", {
        newPassword: "must not equal the email's local part",
      });
      expect(await t.store.exists(await oobKey(code))).toBe(true);
    });

    it("an EMAIL_SIGNIN code → 401 and left in place; unknown code → 401; gone user → 404", async () => {
      const user = await seedUser(t, "vera@example.com");
      const signinCode = await codeOf(await send("EMAIL_SIGNIN", "vera@example.com"));
      await expectError(await reset(signinCode, "long enough pass"), "INVALID_OOB_CODE");
      expect(await t.store.exists(await oobKey(signinCode))).toBe(true);
      await expectError(
        await reset("00000000-0000-4000-8000-000000000000", "long enough pass"),
        "INVALID_OOB_CODE",
      );
      const code = await codeOf(await send("PASSWORD_RESET", "vera@example.com"));
      await t.app.services.repos.users.delete(user.localId);
      await expectError(await reset(code, "long enough pass"), "USER_NOT_FOUND");
      await expectError(
        await t.post(
          "/accounts/resetPassword",
          { oobCode: code, newPassword: "long enough pass" },
          { key: false },
        ),
        "API_KEY_INVALID",
      );
    });
  });

  describe("codes are stored hashed and voided by any token-version bump (docs/spec/storage.md §2)", () => {
    it("the store holds the SHA-256 of the code, never the code", async () => {
      await seedUser(t, "hashed@example.com");
      const code = await codeOf(await send("PASSWORD_RESET", "hashed@example.com"));
      expect(await t.store.exists(`oob:${code}`)).toBe(false);
      const all: string[] = [];
      for await (const batch of t.store.scan("")) all.push(...batch);
      expect(all.filter((k) => k.includes(code))).toEqual([]);
      expect(all).toContain(`oob:${await sha256Hex(code)}`);
      const fields = Object.fromEntries(await t.store.hgetall(await oobKey(code)));
      expect(fields).toMatchObject({ reqType: "PASSWORD_RESET", ver: "0" });
      expect(Object.values(fields).join(" ")).not.toContain(code);
    });

    it("revocation voids outstanding codes of both types; a code issued afterwards works", async () => {
      await seedUser(t, "revoked-codes@example.com");
      const signIn = await codeOf(await send("EMAIL_SIGNIN", "revoked-codes@example.com"));
      const resetCode = await codeOf(await send("PASSWORD_RESET", "revoked-codes@example.com"));
      expect((await t.post("/accounts/revoke", { email: "revoked-codes@example.com" })).status).toBe(200);
      await expectError(await oobSignIn("revoked-codes@example.com", signIn), "INVALID_OOB_CODE");
      await expectError(await reset(resetCode, "a fresh passphrase"), "INVALID_OOB_CODE");
      // Spent by the refused attempt (single use), and the password is unchanged.
      expect(await t.store.exists(await oobKey(resetCode))).toBe(false);
      const signInWithOld = await t.post(
        "/accounts/signIn",
        { email: "revoked-codes@example.com", password: PASSWORD },
        { key: false },
      );
      expect(signInWithOld.status).toBe(200);
      const fresh = await codeOf(await send("EMAIL_SIGNIN", "revoked-codes@example.com"));
      expect((await oobSignIn("revoked-codes@example.com", fresh)).status).toBe(200);
    });

    it("a password change voids codes issued before it, a reset voids the other reset codes", async () => {
      const user = await seedUser(t, "changer@example.com");
      const before = await codeOf(await send("EMAIL_SIGNIN", "changer@example.com"));
      const update = await t.post("/accounts/update", {
        idToken: await tokenFor(t, user),
        password: "a changed passphrase",
      });
      expect(update.status).toBe(200);
      await expectError(await oobSignIn("changer@example.com", before), "INVALID_OOB_CODE");

      const first = await codeOf(await send("PASSWORD_RESET", "changer@example.com"));
      const second = await codeOf(await send("PASSWORD_RESET", "changer@example.com"));
      expect((await reset(first, "reset passphrase one")).status).toBe(200);
      await expectError(await reset(second, "reset passphrase two"), "INVALID_OOB_CODE");
      const stored = await t.app.services.repos.users.getById(user.localId);
      expect(await t.deps.passwords.verify("reset passphrase one", String(stored?.password))).toBe(true);
    });

    it("a status change (suspend, then reactivate) voids codes issued before it", async () => {
      await seedUser(t, "paused-codes@example.com");
      const code = await codeOf(await send("EMAIL_SIGNIN", "paused-codes@example.com"));
      const resetCode = await codeOf(await send("PASSWORD_RESET", "paused-codes@example.com"));
      for (const status of ["SUSPENDED", "ACTIVE"]) {
        const res = await t.post("/accounts/status", { email: "paused-codes@example.com", status });
        expect(res.status).toBe(200);
      }
      await expectError(await oobSignIn("paused-codes@example.com", code), "INVALID_OOB_CODE");
      await expectError(await reset(resetCode, "a fresh passphrase"), "INVALID_OOB_CODE");
    });

    it("a revocation between the check and the write still wins (checked inside the CAS)", async () => {
      const user = await seedUser(t, "racer@example.com");
      const code = await codeOf(await send("PASSWORD_RESET", "racer@example.com"));
      // Bump the version right after the service read the user (its first check passes), before
      // its write: only the check inside the CAS can see it.
      const { repos } = t.app.services;
      const original = repos.users.findByEmail;
      repos.users.findByEmail = async (email: string) => {
        const found = await original(email);
        await repos.users.mutate(user.localId, withTokenVersionBump);
        return found;
      };
      try {
        await expectError(await reset(code, "raced passphrase"), "INVALID_OOB_CODE");
      } finally {
        repos.users.findByEmail = original;
      }
      const stored = await repos.users.getById(user.localId);
      expect(await t.deps.passwords.verify(PASSWORD, String(stored?.password))).toBe(true);
    });
  });

  describe("POST /tenants/:tenantId/oob/send", () => {
    const tenantSend = (tenantId: string, requestType: string, email: string) =>
      t.post(`/tenants/${tenantId}/oob/send`, { requestType, email });

    it("EMAIL_SIGNIN for an unknown email creates the user and membership, then the code signs in", async () => {
      const res = await tenantSend("acme", "EMAIL_SIGNIN", " New.Member@Example.com ");
      expect(res.status).toBe(200);
      expectOobHeaders(res);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["email", "expiresIn", "kind", "oobCode", "requestType"]);
      expect(body).toMatchObject({
        kind: "tikti#SendOobResponse",
        email: "new.member@example.com",
        requestType: "EMAIL_SIGNIN",
        expiresIn: 900,
      });
      expect(body.oobCode).toMatch(UUID_V4);
      const user = await t.app.services.repos.users.findByEmail("new.member@example.com");
      expect(user).toMatchObject({
        role: "COMPANY_EMPLOYEE",
        status: "ACTIVE",
        companyId: "acme",
        authSource: "password",
        externalSubject: "",
      });
      expect(user?.password).toMatch(/^\$2b\$10\$/);
      expect((await t.app.services.repos.memberships.get("acme", user!.localId))?.roles).toEqual([
        "COMPANY_EMPLOYEE",
      ]);
      expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({
        event: "admin.user.create",
        actor: "apiKey",
        tenantId: "acme",
        targetId: user?.localId,
      });
      const signIn = await oobSignIn("new.member@example.com", body.oobCode);
      expect(signIn.status).toBe(200);
      await verifiedClaims((await signIn.json()).idToken, {
        sub: user!.localId,
        email: "new.member@example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: "oob",
        ver: 0,
      });
    });

    it("EMAIL_SIGNIN and PASSWORD_RESET for a member", async () => {
      const member = await seedUser(t, "wes@example.com");
      await t.app.services.repos.memberships.put("acme", member.localId, ["COMPANY_EMPLOYEE"]);
      const audits = t.auditLines.length;
      for (const type of ["EMAIL_SIGNIN", "password_reset"]) {
        const res = await tenantSend("acme", type, "wes@example.com");
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body.requestType).toBe(type.toUpperCase());
        expect(Object.fromEntries(await t.store.hgetall(await oobKey(body.oobCode)))).toMatchObject({
          email: "wes@example.com",
          reqType: type.toUpperCase(),
        });
      }
      expect(t.auditLines.length).toBe(audits);
    });

    it("checks the tenant first: malformed 400, absent 404, not ACTIVE 400", async () => {
      await expectError(await tenantSend("bad!id", "EMAIL_SIGNIN", "a@example.com"), "INVALID_TENANT");
      await expectError(await tenantSend("nope", "EMAIL_SIGNIN", "a@example.com"), "TENANT_NOT_FOUND");
      await t.app.services.repos.tenants.create({ id: "frozen", slug: "frozen", name: "Frozen" });
      await t.app.services.repos.tenants.setStatus("frozen", "DISABLED");
      await expectError(await tenantSend("frozen", "EMAIL_SIGNIN", "a@example.com"), "INVALID_TENANT");
      expect(await t.app.services.repos.users.findByEmail("a@example.com")).toBeNull();
      await expectError(await tenantSend("acme", "NOPE", "a@example.com"), "INVALID_ARGUMENT", {
        requestType: expect.any(String),
      });
      await expectError(await tenantSend("acme", "EMAIL_SIGNIN", "not-an-email"), "INVALID_ARGUMENT", {
        email: expect.any(String),
      });
    });

    it("PASSWORD_RESET needs an ACTIVE password member: else 404 USER_NOT_FOUND", async () => {
      await seedUser(t, "outsider@example.com");
      const suspended = await seedUser(t, "xena@example.com", { status: "SUSPENDED" });
      await t.app.services.repos.memberships.put("acme", suspended.localId, []);
      for (const email of ["outsider@example.com", "xena@example.com", "unknown-reset@example.com"]) {
        await expectError(await tenantSend("acme", "PASSWORD_RESET", email), "USER_NOT_FOUND");
      }
      expect(await t.app.services.repos.users.findByEmail("unknown-reset@example.com")).toBeNull();
    });

    it("EMAIL_SIGNIN for a known user: not ACTIVE or SAML → 403 ACCOUNT_DISABLED; not a member → 403 TENANT_ACCESS_DENIED", async () => {
      const inactive = await seedUser(t, "yan@example.com", { status: "INACTIVE" });
      await t.app.services.repos.memberships.put("acme", inactive.localId, []);
      const saml = await seedUser(t, "zoe@example.com", { hash: "", authSource: "saml" });
      await t.app.services.repos.memberships.put("acme", saml.localId, []);
      await seedUser(t, "stranger@example.com");
      await expectError(await tenantSend("acme", "EMAIL_SIGNIN", "yan@example.com"), "ACCOUNT_DISABLED");
      await expectError(await tenantSend("acme", "EMAIL_SIGNIN", "zoe@example.com"), "ACCOUNT_DISABLED");
      await expectError(
        await tenantSend("acme", "EMAIL_SIGNIN", "stranger@example.com"),
        "TENANT_ACCESS_DENIED",
      );
      expect(
        await metric(t, "tikti_auth_fail_total", {
          route: "/tenants/:tenantId/oob/send",
          code: "ACCOUNT_DISABLED",
        }),
      ).toBe(2);
    });
  });

  // Last: the apps below flush the shared Redis database of this block.
  it("rate limits: oobSendEmail (known or not), oobSignInIp, oobSignInEmail", async () => {
    const limited = await accountsApp(engine, {
      config: {
        rateLimits: {
          enabled: true,
          oobSendEmail: { limit: 2, windowSeconds: 3600 },
          oobSignInIp: { limit: 3, windowSeconds: 60 },
          oobSignInEmail: { limit: 2, windowSeconds: 60 },
        },
      },
    });
    await limited.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    const post = (path: string, json: unknown) => limited.post(path, json);
    expect(
      (await post("/accounts/sendOobCode", { requestType: "EMAIL_SIGNIN", email: "ghost@example.com" }))
        .status,
    ).toBe(200);
    expect(
      (await post("/accounts/sendOobCode", { requestType: "PASSWORD_RESET", email: "Ghost@example.com" }))
        .status,
    ).toBe(404);
    await expectRateLimited(
      await post("/accounts/sendOobCode", { requestType: "EMAIL_SIGNIN", email: "ghost@example.com" }),
      3600,
    );
    // The tenant route shares the bucket.
    await expectRateLimited(
      await post("/tenants/acme/oob/send", { requestType: "EMAIL_SIGNIN", email: "ghost@example.com" }),
      3600,
    );
    expect(await limited.app.services.repos.users.findByEmail("ghost@example.com")).toBeNull();

    const signIn = (email: string) =>
      limited.post("/accounts/signInWithOobCode", { email, oobCode: crypto.randomUUID() }, { key: false });
    expect((await signIn("a1@example.com")).status).toBe(401);
    expect((await signIn("a1@example.com")).status).toBe(401);
    await expectRateLimited(await signIn("A1@example.com"), 60); // oobSignInEmail
    await expectRateLimited(await signIn("a2@example.com"), 60); // oobSignInIp (4th from this IP)
  });

  it("resetPassword clears the lockout", async () => {
    const locking = await accountsApp(engine, {
      config: { rateLimits: { enabled: true, lockout: { maxFailures: 2, windowSeconds: 900 } } },
    });
    await seedUser(locking, "locked@example.com");
    const signIn = (password: string) =>
      locking.post("/accounts/signIn", { email: "locked@example.com", password }, { key: false });
    expect((await signIn("wrong password")).status).toBe(401);
    expect((await signIn("wrong password")).status).toBe(401);
    await expectRateLimited(await signIn("wrong password"), 900);
    const code = (
      await (
        await locking.post("/accounts/sendOobCode", {
          requestType: "PASSWORD_RESET",
          email: "locked@example.com",
        })
      ).json()
    ).oobCode;
    expect(
      (await locking.post("/accounts/resetPassword", { oobCode: code, newPassword: "fresh passphrase" }))
        .status,
    ).toBe(200);
    expect((await signIn("fresh passphrase")).status).toBe(200);
  });

  it("an expired code is refused (read-time expiresAt check)", async () => {
    const clock = manualClock(Date.now());
    const timed = await accountsApp(engine, { clock });
    await seedUser(timed, "late@example.com");
    const code = (
      await (
        await timed.post("/accounts/sendOobCode", { requestType: "EMAIL_SIGNIN", email: "late@example.com" })
      ).json()
    ).oobCode;
    const resetCode = (
      await (
        await timed.post("/accounts/sendOobCode", {
          requestType: "PASSWORD_RESET",
          email: "late@example.com",
        })
      ).json()
    ).oobCode;
    clock.advance(901_000);
    await expectError(
      await timed.post(
        "/accounts/signInWithOobCode",
        { email: "late@example.com", oobCode: code },
        { key: false },
      ),
      "INVALID_OOB_CODE",
    );
    await expectError(
      await timed.post("/accounts/resetPassword", { oobCode: resetCode, newPassword: "long enough pass" }),
      "INVALID_OOB_CODE",
    );
  });
});
