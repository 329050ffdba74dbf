/**
 * POST /accounts/signUp (docs/spec/api.md §4.1): the three policy modes, privileged callers and `role`,
 * `accounts.signUpTenant`, the password policy of §2.10, uniqueness under concurrency, the
 * `signUpIp` limit, the idToken claims of docs/spec/tokens.md §2 and the audit record.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine, TEST_API_KEY } from "../support/app.ts";
import {
  type AccountsApp,
  accountsApp,
  expectError,
  expectRateLimited,
  metric,
  RFC3339,
  samlTokenFor,
  seedUser,
  storedUser,
  tokenFor,
  UUID_V4,
  verifiedClaims,
} from "./accounts-support.ts";

const STRONG = "a-strong-passphrase";

forEachEngine("POST /accounts/signUp", (engine) => {
  describe("open mode (default)", () => {
    let t: AccountsApp;
    beforeAll(async () => {
      t = await accountsApp(engine);
    });

    it("creates an ACTIVE password user and answers the documented body with a pwd idToken", async () => {
      const res = await t.post(
        "/accounts/signUp",
        { email: "  New.User@Example.COM ", password: STRONG, returnSecureToken: true },
        { key: false },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("pragma")).toBe("no-cache");
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual([
        "createdAt",
        "email",
        "expiresIn",
        "idToken",
        "localId",
        "refreshToken",
      ]);
      expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(body.localId).toMatch(UUID_V4);
      expect(body.email).toBe("new.user@example.com");
      expect(body.createdAt).toMatch(RFC3339);
      expect(body.expiresIn).toBe(3600);
      await verifiedClaims(body.idToken, {
        sub: body.localId,
        email: "new.user@example.com",
        role: "COMPANY_EMPLOYEE",
        amr: "pwd",
        ver: 0,
      });
      const stored = await storedUser(t, body.localId);
      expect(stored).toMatchObject({
        localId: body.localId,
        email: "new.user@example.com",
        role: "COMPANY_EMPLOYEE",
        status: "ACTIVE",
        tokenVersion: 0,
        createdAt: body.createdAt,
        authSource: "password",
        externalSubject: "",
      });
      expect(stored).not.toHaveProperty("companyId");
      expect(String(stored?.password)).toMatch(/^\$2b\$10\$/);
      expect(await t.store.get(keys.userByEmail("new.user@example.com"))).toBe(body.localId);
      // An anonymous self-service sign-up is not an administrative change.
      expect(t.auditLines).toEqual([]);
      expect(await metric(t, "tikti_signup_total", { result: "success" })).toBe(1);
    });

    it("is served at /v1 too, and ignores `role` from an unprivileged caller", async () => {
      const res = await t.post(
        "/v1/accounts/signUp",
        { email: "anon-admin@example.com", password: STRONG, role: "ADMIN" },
        { key: false },
      );
      expect(res.status).toBe(200);
      const body = await res.json();
      expect((await storedUser(t, body.localId))?.role).toBe("COMPANY_EMPLOYEE");
      // Not even validated: an unprivileged caller's role is ignored, whatever it is.
      const junk = await t.post(
        "/accounts/signUp",
        { email: "anon-junk@example.com", password: STRONG, role: "root" },
        { key: false },
      );
      expect(junk.status).toBe(200);
    });

    it("makes a caller with a valid API key privileged: role honoured, audit user.create", async () => {
      const res = await t.post("/accounts/signUp", {
        email: "ops-admin@example.com",
        password: STRONG,
        role: "ADMIN",
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect((await storedUser(t, body.localId))?.role).toBe("ADMIN");
      await verifiedClaims(body.idToken, {
        sub: body.localId,
        email: "ops-admin@example.com",
        role: "ADMIN",
        amr: "pwd",
        ver: 0,
      });
      const audit = JSON.parse(t.auditLines.at(-1) ?? "{}");
      expect(audit).toMatchObject({
        log: "audit",
        event: "admin.user.create",
        schemaVersion: 1,
        actor: "apiKey",
        tenantId: "",
        targetId: body.localId,
        outcome: "success",
        httpRequestId: res.headers.get("x-request-id"),
      });
      // null = absent (docs/spec/api.md §2.4): the default role.
      const nullRole = await t.post("/accounts/signUp", {
        email: "null-role@example.com",
        password: STRONG,
        role: null,
      });
      expect((await storedUser(t, (await nullRole.json()).localId))?.role).toBe("COMPANY_EMPLOYEE");
    });

    it("refuses an unknown role from a privileged caller", async () => {
      const res = await t.post("/accounts/signUp", {
        email: "r@example.com",
        password: STRONG,
        role: "root",
      });
      await expectError(res, "INVALID_ARGUMENT", { role: expect.any(String) });
    });

    it("answers an invalid API key 401 even when the body is malformed (docs/spec/api.md §2.11.6)", async () => {
      const res = await t.call("/accounts/signUp", {
        method: "POST",
        body: "{not json",
        headers: { "content-type": "application/json", "x-api-key": "wrong" },
      });
      await expectError(res, "API_KEY_INVALID");
    });

    it.each([
      ["missing password", { email: "a@example.com" }, "INVALID_REQUEST", { password: expect.any(String) }],
      [
        "email of the wrong type",
        { email: 5, password: STRONG },
        "INVALID_REQUEST",
        { email: expect.any(String) },
      ],
      [
        "returnSecureToken not a boolean",
        { email: "a@example.com", password: STRONG, returnSecureToken: "yes" },
        "INVALID_REQUEST",
        { returnSecureToken: expect.any(String) },
      ],
      ["blank email", { email: "   ", password: STRONG }, "INVALID_ARGUMENT", { email: "must not be blank" }],
      [
        "malformed email",
        { email: "no-at-sign.example.com", password: STRONG },
        "INVALID_ARGUMENT",
        { email: expect.any(String) },
      ],
      [
        "email without a dot",
        { email: "a@localhost", password: STRONG },
        "INVALID_ARGUMENT",
        { email: expect.any(String) },
      ],
      [
        "7 characters",
        { email: "a@example.com", password: "1234567" },
        "INVALID_ARGUMENT",
        { password: "must be at least 8 characters" },
      ],
      // 7 code points, 14 UTF-16 units: length is counted in code points.
      [
        "7 emoji",
        { email: "a@example.com", password: "😀".repeat(7) },
        "INVALID_ARGUMENT",
        { password: "must be at least 8 characters" },
      ],
      [
        "129 characters",
        { email: "a@example.com", password: "x".repeat(129) },
        "INVALID_ARGUMENT",
        { password: "must be at most 128 characters" },
      ],
      // 37 code points, 74 UTF-8 bytes: over bcrypt's 72-byte limit.
      [
        "over 72 bytes with bcrypt",
        { email: "a@example.com", password: "é".repeat(37) },
        "INVALID_ARGUMENT",
        { password: "must be at most 72 UTF-8 bytes" },
      ],
      [
        "the email, other case",
        { email: "Pat@Example.com", password: "pat@EXAMPLE.com" },
        "INVALID_ARGUMENT",
        { password: "must not equal the email" },
      ],
      [
        "the email's local part, other case",
        { email: "patricia.smith@example.com", password: "Patricia.Smith" },
        "INVALID_ARGUMENT",
        { password: "must not equal the email's local part" },
      ],
      [
        "a common password (zxcvbn-ts list)",
        { email: "a@example.com", password: "password123" },
        "INVALID_ARGUMENT",
        { password: "too common" },
      ],
      [
        "a common password, other case",
        { email: "a@example.com", password: "TrustNo1" },
        "INVALID_ARGUMENT",
        { password: "too common" },
      ],
    ] as const)("%s → 400", async (_name, json, code, details) => {
      await expectError(await t.post("/accounts/signUp", json, { key: false }), code, details);
    });

    it("accepts 8 emoji (8 code points) and does not trim the password", async () => {
      const emoji = await t.post(
        "/accounts/signUp",
        { email: "emoji@example.com", password: "😀".repeat(8) },
        { key: false },
      );
      expect(emoji.status).toBe(200);
      const spaced = await t.post(
        "/accounts/signUp",
        { email: "spaced@example.com", password: "  spaced out  " },
        { key: false },
      );
      expect(spaced.status).toBe(200);
      const stored = await storedUser(t, (await spaced.json()).localId);
      expect(await t.deps.passwords.verify("  spaced out  ", String(stored?.password))).toBe(true);
      expect(await t.deps.passwords.verify("spaced out", String(stored?.password))).toBe(false);
    });

    it("answers 409 EMAIL_EXISTS for a taken email in any case, and for a legacy users entry", async () => {
      await seedUser(t, "taken@example.com");
      await expectError(
        await t.post("/accounts/signUp", { email: "TAKEN@example.com", password: STRONG }, { key: false }),
        "EMAIL_EXISTS",
      );
      await t.store.hset(
        keys.legacyUsers(),
        "Legacy.Taken@Example.com",
        JSON.stringify({
          Id: "legacy-taken",
          email: "Legacy.Taken@Example.com",
          password: "$2y$04$iSm77nsrJ8j0dicMStfxpemHzN/l1iLjJp2X7tT.PK3z0LWdK42Wy",
          role: "COMPANY_EMPLOYEE",
          status: "ACTIVE",
        }),
      );
      await expectError(
        await t.post(
          "/accounts/signUp",
          { email: " Legacy.Taken@Example.com", password: STRONG },
          { key: false },
        ),
        "EMAIL_EXISTS",
      );
      expect(await metric(t, "tikti_signup_total", { result: "failure" })).toBeGreaterThanOrEqual(2);
    });
  });

  describe("apiKey mode", () => {
    let t: AccountsApp;
    beforeAll(async () => {
      t = await accountsApp(engine, { config: { accounts: { signUp: "apiKey" } } });
    });

    it("needs the API key (header or query) and makes every caller privileged", async () => {
      await expectError(
        await t.post("/accounts/signUp", { email: "k@example.com", password: STRONG }, { key: false }),
        "API_KEY_INVALID",
      );
      const viaQuery = await t.post(
        `/accounts/signUp?key=${TEST_API_KEY}`,
        { email: "k@example.com", password: STRONG, role: "COMPANY_ADMIN" },
        { key: false },
      );
      expect(viaQuery.status).toBe(200);
      expect((await storedUser(t, (await viaQuery.json()).localId))?.role).toBe("COMPANY_ADMIN");
      expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({
        event: "admin.user.create",
        actor: "apiKey",
      });
    });

    it("an administrator creating a user is held to the same password policy", async () => {
      await expectError(
        await t.post("/accounts/signUp", { email: "weak@example.com", password: "sunshine", role: "ADMIN" }),
        "INVALID_ARGUMENT",
        { password: "too common" },
      );
      await expectError(
        await t.post("/accounts/signUp", { email: "weakling@example.com", password: "WEAKLING" }),
        "INVALID_ARGUMENT",
        { password: "must not equal the email's local part" },
      );
      expect(await t.app.services.repos.users.findByEmail("weak@example.com")).toBeNull();
    });
  });

  describe("admin mode", () => {
    let t: AccountsApp;
    beforeAll(async () => {
      t = await accountsApp(engine, { config: { accounts: { signUp: "admin" } } });
    });
    const body = (email: string) => ({ email, password: STRONG, role: "COMPANY_ADMIN" });
    const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

    it("needs the API key first, then an admin bearer", async () => {
      const admin = await seedUser(t, "root@example.com", { role: "ADMIN" });
      const token = await tokenFor(t, admin);
      await expectError(
        await t.post("/accounts/signUp", body("x@example.com"), { key: false, ...bearer(token) }),
        "API_KEY_INVALID",
      );
      await expectError(await t.post("/accounts/signUp", body("x@example.com")), "ADMIN_AUTH_REQUIRED");
      await expectError(
        await t.post("/accounts/signUp", body("x@example.com"), { headers: { Authorization: "Basic abc" } }),
        "ADMIN_AUTH_REQUIRED",
      );
      await expectError(
        await t.post("/accounts/signUp", body("x@example.com"), bearer("not.a.token")),
        "INVALID_TOKEN",
      );
    });

    it("refuses a non-admin bearer (403 ADMIN_REQUIRED) and a SAML bearer (403 FEDERATED_TOKEN_NOT_ALLOWED)", async () => {
      const employee = await seedUser(t, "emp@example.com");
      await expectError(
        await t.post("/accounts/signUp", body("y@example.com"), bearer(await tokenFor(t, employee))),
        "ADMIN_REQUIRED",
      );
      await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
      const samlAdmin = await seedUser(t, "saml-root@example.com", { role: "ADMIN" });
      await expectError(
        await t.post(
          "/accounts/signUp",
          body("y@example.com"),
          bearer(await samlTokenFor(t, samlAdmin, "acme")),
        ),
        "FEDERATED_TOKEN_NOT_ALLOWED",
      );
      expect(await t.app.services.repos.users.findByEmail("y@example.com")).toBeNull();
    });

    it("creates the user for an admin bearer; the audit actor is the admin", async () => {
      const admin = await seedUser(t, "root2@example.com", { role: "ADMIN" });
      const res = await t.post(
        "/accounts/signUp",
        body("made-by-admin@example.com"),
        bearer(await tokenFor(t, admin)),
      );
      expect(res.status).toBe(200);
      const created = await res.json();
      expect((await storedUser(t, created.localId))?.role).toBe("COMPANY_ADMIN");
      expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({
        event: "admin.user.create",
        actor: `user:${admin.localId}`,
        targetId: created.localId,
      });
    });
  });

  describe("admin.requireAdminToken: the API key alone never creates an admin (issue 11 item 1)", () => {
    for (const mode of ["open", "apiKey"] as const) {
      describe(`${mode} mode`, () => {
        let t: AccountsApp;
        beforeAll(async () => {
          t = await accountsApp(engine, {
            config: { accounts: { signUp: mode }, admin: { requireAdminToken: true } },
          });
        });
        const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

        it("refuses ADMIN or COMPANY_ADMIN with only the API key (401 ADMIN_AUTH_REQUIRED), writes nothing", async () => {
          for (const role of ["ADMIN", "COMPANY_ADMIN"]) {
            const email = `${role.toLowerCase()}-key-only@example.com`;
            await expectError(
              await t.post("/accounts/signUp", { email, password: STRONG, role }),
              "ADMIN_AUTH_REQUIRED",
            );
            expect(await t.app.services.repos.users.findByEmail(email)).toBeNull();
          }
        });

        it("no user created that way can pass as the admin bearer afterwards", async () => {
          const res = await t.post("/accounts/signUp", {
            email: "would-be-root@example.com",
            password: STRONG,
            role: "ADMIN",
          });
          expect(res.status).toBe(401);
          // The route of the issue: an admin route with the key and a self-made "admin" bearer.
          const employee = await t.post("/accounts/signUp", { email: "plain@example.com", password: STRONG });
          expect(employee.status).toBe(200);
          const { idToken } = (await employee.json()) as { idToken: string };
          await expectError(
            await t.post(
              "/accounts/status",
              { email: "plain@example.com", status: "SUSPENDED" },
              bearer(idToken),
            ),
            "ADMIN_REQUIRED",
          );
        });

        it("refuses a non-admin, invalid or SAML bearer for an elevated role", async () => {
          const employee = await seedUser(t, `emp-${mode}@example.com`);
          const body = { email: "elevate@example.com", password: STRONG, role: "ADMIN" };
          await expectError(
            await t.post("/accounts/signUp", body, bearer(await tokenFor(t, employee))),
            "ADMIN_REQUIRED",
          );
          await expectError(await t.post("/accounts/signUp", body, bearer("not.a.token")), "INVALID_TOKEN");
          await t.app.services.repos.tenants.create({ id: `t-${mode}`, slug: `t-${mode}`, name: "T" });
          const samlAdmin = await seedUser(t, `saml-root-${mode}@example.com`, { role: "ADMIN" });
          await expectError(
            await t.post("/accounts/signUp", body, bearer(await samlTokenFor(t, samlAdmin, `t-${mode}`))),
            "FEDERATED_TOKEN_NOT_ALLOWED",
          );
          expect(await t.app.services.repos.users.findByEmail("elevate@example.com")).toBeNull();
        });

        it("honours the role with a valid admin bearer; the audit actor is the admin", async () => {
          const admin = await seedUser(t, `root-${mode}@example.com`, { role: "ADMIN" });
          const res = await t.post(
            "/accounts/signUp",
            { email: `new-admin-${mode}@example.com`, password: STRONG, role: "ADMIN" },
            bearer(await tokenFor(t, admin)),
          );
          expect(res.status).toBe(200);
          const created = await res.json();
          expect((await storedUser(t, created.localId))?.role).toBe("ADMIN");
          expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({
            event: "admin.user.create",
            actor: `user:${admin.localId}`,
          });
        });

        it("the default role needs no bearer (COMPANY_EMPLOYEE explicitly or absent)", async () => {
          for (const [i, role] of [undefined, "", "COMPANY_EMPLOYEE"].entries()) {
            const res = await t.post("/accounts/signUp", {
              email: `emp-${i}-${mode}@example.com`,
              password: STRONG,
              ...(role === undefined ? {} : { role }),
            });
            expect(res.status).toBe(200);
            expect((await storedUser(t, (await res.json()).localId))?.role).toBe("COMPANY_EMPLOYEE");
          }
        });
      });
    }

    it("an anonymous caller of the open mode is unprivileged: role ignored, no bearer asked", async () => {
      const t = await accountsApp(engine, { config: { admin: { requireAdminToken: true } } });
      const res = await t.post(
        "/accounts/signUp",
        { email: "anon@example.com", password: STRONG, role: "ADMIN" },
        { key: false },
      );
      expect(res.status).toBe(200);
      expect((await storedUser(t, (await res.json()).localId))?.role).toBe("COMPANY_EMPLOYEE");
    });
  });

  describe("accounts.signUpTenant", () => {
    it("adds a membership with [role] and companyId when the tenant exists and is ACTIVE", async () => {
      const t = await accountsApp(engine, { config: { accounts: { signUpTenant: "acme" } } });
      await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
      const res = await t.post("/accounts/signUp", {
        email: "m@example.com",
        password: STRONG,
        role: "COMPANY_ADMIN",
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect((await storedUser(t, body.localId))?.companyId).toBe("acme");
      const membership = await t.app.services.repos.memberships.get("acme", body.localId);
      expect(membership?.roles).toEqual(["COMPANY_ADMIN"]);
      expect(await t.store.smembers(keys.membershipsByUser(body.localId))).toEqual(["acme"]);
      await verifiedClaims(body.idToken, {
        sub: body.localId,
        email: "m@example.com",
        role: "COMPANY_ADMIN",
        tid: "acme",
        amr: "pwd",
        ver: 0,
      });
      expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({ tenantId: "acme" });
    });

    it("creates no membership when the tenant is DISABLED or absent", async () => {
      const t = await accountsApp(engine, { config: { accounts: { signUpTenant: "gone" } } });
      const absent = await (
        await t.post("/accounts/signUp", { email: "n1@example.com", password: STRONG }, { key: false })
      ).json();
      expect(await storedUser(t, absent.localId)).not.toHaveProperty("companyId");
      await t.app.services.repos.tenants.create({ id: "gone", slug: "gone", name: "Gone" });
      await t.app.services.repos.tenants.setStatus("gone", "DISABLED");
      const disabled = await (
        await t.post("/accounts/signUp", { email: "n2@example.com", password: STRONG }, { key: false })
      ).json();
      expect(await storedUser(t, disabled.localId)).not.toHaveProperty("companyId");
      expect(await t.app.services.repos.memberships.get("gone", disabled.localId)).toBeNull();
    });
  });

  it("limits sign-ups per client IP (signUpIp) with Retry-After, before any hashing", async () => {
    const t = await accountsApp(engine, {
      config: { rateLimits: { enabled: true, signUpIp: { limit: 2, windowSeconds: 3600 } } },
    });
    for (const n of [1, 2]) {
      const res = await t.post(
        "/accounts/signUp",
        { email: `ip${n}@example.com`, password: STRONG },
        { key: false },
      );
      expect(res.status).toBe(200);
    }
    const limited = await t.post(
      "/accounts/signUp",
      { email: "ip3@example.com", password: STRONG },
      { key: false },
    );
    await expectRateLimited(limited, 3600);
    expect(await t.app.services.repos.users.findByEmail("ip3@example.com")).toBeNull();
  });

  it("50 parallel sign-ups with one email: exactly one 200, 49 × 409 EMAIL_EXISTS", async () => {
    // A fast stand-in hasher: the property under test is the store's single claim, not hashing.
    const t = await accountsApp(engine, {
      passwords: (real) => ({ ...real, hash: async (p) => `$test$${p.length}` }),
    });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.post(
          "/accounts/signUp",
          { email: i % 2 ? "Race@Example.com" : "race@example.com", password: STRONG },
          { key: false },
        ),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const winner = responses.find((r) => r.status === 200)!;
    const id = (await winner.json()).localId;
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(await r.json()).toEqual({ error: "email already registered", code: "EMAIL_EXISTS" });
    }
    expect(await t.store.get(keys.userByEmail("race@example.com"))).toBe(id);
    // The losers' records were removed again (docs/spec/storage.md §4.3): only the winner is left.
    let records = 0;
    for await (const batch of t.store.hscan(keys.users())) records += batch.length;
    expect(records).toBe(1);
  });
});
