/**
 * POST /accounts/lookup, /accounts/update, /accounts/delete (docs/spec/api.md §4.3–§4.5, docs/spec/tokens.md §4.2,
 * §5): procedure V on the presented idToken, the response shapes, token version bumps, email index
 * moves, and the removal of memberships on delete.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine } from "../support/app.ts";
import {
  type AccountsApp,
  accountsApp,
  expectError,
  metric,
  PASSWORD,
  samlTokenFor,
  seedUser,
  storedUser,
  tokenFor,
  verifiedClaims,
} from "./accounts-support.ts";

forEachEngine("account management", (engine) => {
  let t: AccountsApp;
  beforeAll(async () => {
    t = await accountsApp(engine);
    for (const id of ["acme", "beta", "zeta"]) {
      await t.app.services.repos.tenants.create({ id, slug: id, name: id });
    }
  });
  const lookup = (idToken: unknown, key = true) => t.post("/accounts/lookup", { idToken }, { key });

  describe("POST /accounts/lookup", () => {
    it("answers the user; tenantId is the smallest membership tenant", async () => {
      const user = await seedUser(t, "lu1@example.com", { companyId: "zeta", role: "COMPANY_ADMIN" });
      await t.app.services.repos.memberships.put("zeta", user.localId, ["x"]);
      await t.app.services.repos.memberships.put("beta", user.localId, ["x"]);
      const res = await lookup(await tokenFor(t, user));
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({
        users: [
          {
            localId: user.localId,
            email: "lu1@example.com",
            role: "COMPANY_ADMIN",
            status: "ACTIVE",
            tenantId: "beta",
          },
        ],
      });
      expect(await metric(t, "tikti_lookup_total", { result: "success" })).toBeGreaterThanOrEqual(1);
    });

    it("falls back to companyId, omits an empty tenantId and role, and uses tid for SAML tokens", async () => {
      const homed = await seedUser(t, "lu2@example.com", { companyId: "acme" });
      expect((await (await lookup(await tokenFor(t, homed))).json()).users[0].tenantId).toBe("acme");

      const roleless = await seedUser(t, "lu3@example.com");
      await t.app.services.repos.users.mutate(roleless.localId, (u) => ({ ...u, role: "" }));
      expect((await (await lookup(await tokenFor(t, roleless))).json()).users[0]).toEqual({
        localId: roleless.localId,
        email: "lu3@example.com",
        status: "ACTIVE",
      });

      const federated = await seedUser(t, "lu4@example.com", { companyId: "acme" });
      await t.app.services.repos.memberships.put("acme", federated.localId, []);
      await t.app.services.repos.memberships.put("beta", federated.localId, []);
      const saml = await lookup(await samlTokenFor(t, federated, "beta"));
      expect((await saml.json()).users[0].tenantId).toBe("beta");
    });

    it("answers 401 INVALID_TOKEN for every verification failure, 404 when the user is gone", async () => {
      const user = await seedUser(t, "lu5@example.com");
      const token = await tokenFor(t, user);
      await expectError(await lookup("not-a-jwt"), "INVALID_TOKEN");
      await expectError(await lookup(""), "INVALID_TOKEN");
      await expectError(await lookup(`${token.slice(0, -2)}xx`), "INVALID_TOKEN");
      // Stale version.
      await t.app.services.repos.users.mutate(user.localId, (u) => ({
        ...u,
        tokenVersion: u.tokenVersion + 1,
      }));
      await expectError(await lookup(token), "INVALID_TOKEN");
      // Verified token, user gone: 404 (docs/spec/api.md §2.11.3).
      const gone = await seedUser(t, "lu6@example.com");
      const goneToken = await tokenFor(t, gone);
      await t.app.services.repos.users.delete(gone.localId);
      await expectError(await lookup(goneToken), "USER_NOT_FOUND");
      // A token whose tid tenant is DISABLED (docs/spec/api.md §2.11.4).
      await t.app.services.repos.tenants.create({ id: "off", slug: "off", name: "off" });
      const homed = await seedUser(t, "lu7@example.com", { companyId: "off" });
      const homedToken = await tokenFor(t, homed);
      expect((await lookup(homedToken)).status).toBe(200);
      await t.app.services.repos.tenants.setStatus("off", "DISABLED");
      await expectError(await lookup(homedToken), "INVALID_TOKEN");
      expect(await metric(t, "tikti_lookup_total", { result: "failure" })).toBeGreaterThanOrEqual(6);
      expect(
        await metric(t, "tikti_auth_fail_total", { route: "/accounts/lookup", code: "INVALID_TOKEN" }),
      ).toBeGreaterThanOrEqual(5);
    });

    it("needs the API key and an idToken string", async () => {
      const user = await seedUser(t, "lu8@example.com");
      await expectError(await lookup(await tokenFor(t, user), false), "API_KEY_INVALID");
      await expectError(await t.post("/accounts/lookup", {}), "INVALID_REQUEST", {
        idToken: expect.any(String),
      });
      await expectError(await lookup(42), "INVALID_REQUEST", { idToken: expect.any(String) });
    });
  });

  describe("POST /accounts/update", () => {
    const update = (json: Record<string, unknown>) => t.post("/accounts/update", json);

    it("changes the email: index entry moves, version bumps, the old token stops working", async () => {
      const user = await seedUser(t, "up1@example.com", { companyId: "acme" });
      const old = await tokenFor(t, user);
      const res = await update({ idToken: old, email: "  Up1.New@Example.com " });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["email", "expiresIn", "idToken", "localId", "refreshToken"]);
      expect(body.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(body).toMatchObject({ localId: user.localId, email: "up1.new@example.com", expiresIn: 3600 });
      await verifiedClaims(body.idToken, {
        sub: user.localId,
        email: "up1.new@example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: "pwd",
        ver: 1,
      });
      expect(await storedUser(t, user.localId)).toMatchObject({
        email: "up1.new@example.com",
        tokenVersion: 1,
      });
      expect(await t.store.get(keys.userByEmail("up1.new@example.com"))).toBe(user.localId);
      expect(await t.store.get(keys.userByEmail("up1@example.com"))).toBeNull();
      await expectError(await lookup(old), "INVALID_TOKEN");
      expect((await lookup(body.idToken)).status).toBe(200);
      expect(await metric(t, "tikti_token_version_bumps_total", { cause: "email" })).toBeGreaterThanOrEqual(
        1,
      );
    });

    it("changes the password with the current scheme; the new token copies amr (oob)", async () => {
      const user = await seedUser(t, "up2@example.com");
      const old = await tokenFor(t, user, "oob");
      const res = await update({ idToken: old, password: "brand new secret", email: null });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.email).toBe("up2@example.com");
      await verifiedClaims(body.idToken, {
        sub: user.localId,
        email: "up2@example.com",
        role: "COMPANY_EMPLOYEE",
        amr: "oob",
        ver: 1,
      });
      const stored = await storedUser(t, user.localId);
      expect(String(stored?.password)).toMatch(/^\$2b\$10\$/);
      expect(await t.deps.passwords.verify("brand new secret", String(stored?.password))).toBe(true);
      await expectError(await lookup(old), "INVALID_TOKEN");
      expect(
        await metric(t, "tikti_token_version_bumps_total", { cause: "password" }),
      ).toBeGreaterThanOrEqual(1);
    });

    it("changes both in one write (one bump)", async () => {
      const user = await seedUser(t, "up3@example.com");
      const res = await update({
        idToken: await tokenFor(t, user),
        email: "up3b@example.com",
        password: "another secret",
      });
      expect(res.status).toBe(200);
      const stored = await storedUser(t, user.localId);
      expect(stored).toMatchObject({ email: "up3b@example.com", tokenVersion: 1 });
      expect(await t.deps.passwords.verify("another secret", String(stored?.password))).toBe(true);
    });

    it("answers 400 INVALID_ARGUMENT for no change requested, a bad email and a policy failure", async () => {
      const user = await seedUser(t, "up4@example.com");
      const token = await tokenFor(t, user);
      await expectError(await update({ idToken: token }), "INVALID_ARGUMENT");
      await expectError(await update({ idToken: token, email: null, password: null }), "INVALID_ARGUMENT");
      await expectError(await update({ idToken: token, email: "not-an-email" }), "INVALID_ARGUMENT", {
        email: expect.any(String),
      });
      await expectError(await update({ idToken: token, password: "short" }), "INVALID_ARGUMENT", {
        password: "must be at least 8 characters",
      });
      // The rule compares with the email the password will belong to: the new one when it changes.
      await expectError(
        await update({ idToken: token, email: "fresh@example.com", password: "FRESH@example.com" }),
        "INVALID_ARGUMENT",
        { password: "must not equal the email" },
      );
      await expectError(await update({ idToken: token, password: "UP4@example.com" }), "INVALID_ARGUMENT", {
        password: "must not equal the email",
      });
      await expectError(await update({ idToken: token, password: "iloveyou1" }), "INVALID_ARGUMENT", {
        password: "too common",
      });
      // The local part of the email the password will belong to.
      await expectError(
        await update({ idToken: token, email: "longlocal@example.com", password: "LongLocal" }),
        "INVALID_ARGUMENT",
        { password: "must not equal the email's local part" },
      );
      expect((await storedUser(t, user.localId))?.tokenVersion).toBe(0);
      await expectError(await update({ idToken: token, email: 7 }), "INVALID_REQUEST", {
        email: expect.any(String),
      });
    });

    it("answers 409 EMAIL_EXISTS for a taken email and changes nothing", async () => {
      await seedUser(t, "owner@example.com");
      const user = await seedUser(t, "up5@example.com");
      await expectError(
        await update({ idToken: await tokenFor(t, user), email: "OWNER@example.com" }),
        "EMAIL_EXISTS",
      );
      expect(await storedUser(t, user.localId)).toMatchObject({ email: "up5@example.com", tokenVersion: 0 });
    });

    it("refuses SAML tokens (403), SAML users (400), bad tokens (401) and gone users (404)", async () => {
      const federated = await seedUser(t, "up6@example.com", { companyId: "acme" });
      await expectError(
        await update({ idToken: await samlTokenFor(t, federated, "acme"), password: "new password 1" }),
        "FEDERATED_TOKEN_NOT_ALLOWED",
      );
      const samlUser = await seedUser(t, "up7@example.com", { hash: "", authSource: "saml" });
      await expectError(
        await update({ idToken: await tokenFor(t, samlUser), email: "elsewhere@example.com" }),
        "INVALID_ARGUMENT",
        { idToken: expect.any(String) },
      );
      await expectError(await update({ idToken: "garbage", password: "new password 1" }), "INVALID_TOKEN");
      const gone = await seedUser(t, "up8@example.com");
      const goneToken = await tokenFor(t, gone);
      await t.app.services.repos.users.delete(gone.localId);
      await expectError(await update({ idToken: goneToken, password: "new password 1" }), "USER_NOT_FOUND");
      await expectError(
        await t.post("/accounts/update", { idToken: goneToken, password: "x" }, { key: false }),
        "API_KEY_INVALID",
      );
      expect(
        await metric(t, "tikti_auth_fail_total", {
          route: "/accounts/update",
          code: "FEDERATED_TOKEN_NOT_ALLOWED",
        }),
      ).toBe(1);
    });
  });

  describe("POST /accounts/delete", () => {
    const del = (idToken: string) => t.post("/accounts/delete", { idToken });

    it("deletes the user, its email index entry and every membership; audits user.delete", async () => {
      const user = await seedUser(t, "del1@example.com", { companyId: "acme" });
      await t.app.services.repos.memberships.put("acme", user.localId, ["COMPANY_EMPLOYEE"]);
      await t.app.services.repos.memberships.put("beta", user.localId, []);
      const token = await tokenFor(t, user);
      const res = await del(token);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ kind: "identitytoolkit#DeleteAccountResponse" });
      expect(await storedUser(t, user.localId)).toBeNull();
      expect(await t.store.get(keys.userByEmail("del1@example.com"))).toBeNull();
      expect(await t.store.hget(keys.memberships("acme"), user.localId)).toBeNull();
      expect(await t.store.hget(keys.memberships("beta"), user.localId)).toBeNull();
      expect(await t.store.exists(keys.membershipsByUser(user.localId))).toBe(false);
      expect(JSON.parse(t.auditLines.at(-1) ?? "{}")).toMatchObject({
        event: "admin.user.delete",
        actor: `user:${user.localId}`,
        tenantId: "acme",
        targetId: user.localId,
        outcome: "success",
        httpRequestId: res.headers.get("x-request-id"),
      });
      await expectError(await lookup(token), "USER_NOT_FOUND");
      // Deleted: a second delete with the same token finds no user.
      await expectError(await del(token), "USER_NOT_FOUND");
      // The email is free again.
      const again = await t.post(
        "/accounts/signUp",
        { email: "del1@example.com", password: PASSWORD },
        { key: false },
      );
      expect(again.status).toBe(200);
    });

    it("refuses SAML tokens (403), SAML users (400) and bad tokens (401)", async () => {
      const federated = await seedUser(t, "del2@example.com");
      await expectError(await del(await samlTokenFor(t, federated, "acme")), "FEDERATED_TOKEN_NOT_ALLOWED");
      const samlUser = await seedUser(t, "del3@example.com", { hash: "", authSource: "saml" });
      await expectError(await del(await tokenFor(t, samlUser)), "INVALID_ARGUMENT", {
        idToken: expect.any(String),
      });
      expect(await storedUser(t, samlUser.localId)).not.toBeNull();
      await expectError(await del("x.y.z"), "INVALID_TOKEN");
      await expectError(await t.post("/accounts/delete", {}), "INVALID_REQUEST", {
        idToken: expect.any(String),
      });
    });
  });

  // Last: building another app flushes the shared Redis database of this block.
  it("a revocation that lands between verification and the write wins (no resurrection)", async () => {
    // The hasher runs after the token was verified and before the CAS write: revoke there.
    let revoke: (() => Promise<unknown>) | undefined;
    const racy = await accountsApp(engine, {
      passwords: (real) => ({
        ...real,
        hash: async (p) => {
          await revoke?.();
          return real.hash(p);
        },
      }),
    });
    const user = await seedUser(racy, "up9@example.com", {
      hash: "$2b$10$abcdefghijklmnopqrstuuJ9bZqZ0kq0lZ2Yf0rN6m0Jc7iJm3y6G",
    });
    const token = await tokenFor(racy, user);
    revoke = () =>
      racy.app.services.repos.users.mutate(user.localId, (u) => ({ ...u, tokenVersion: u.tokenVersion + 1 }));
    await expectError(
      await racy.post("/accounts/update", { idToken: token, password: "new password 1" }),
      "INVALID_TOKEN",
    );
    // An email change too.
    const fresh = await tokenFor(racy, user);
    await expectError(
      await racy.post("/accounts/update", {
        idToken: fresh,
        email: "up9b@example.com",
        password: "new password 1",
      }),
      "INVALID_TOKEN",
    );
    const stored = await storedUser(racy, user.localId);
    expect(stored).toMatchObject({ email: "up9@example.com", tokenVersion: 2 });
    // The failed email change released its claim on the new address.
    expect(await racy.store.get(keys.userByEmail("up9b@example.com"))).toBeNull();
  });
});
