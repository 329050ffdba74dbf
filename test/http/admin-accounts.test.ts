/**
 * Admin user lifecycle (docs/spec/api.md §6.1 `/accounts/status`, §6.2 `/accounts/revoke`) and the
 * token-version bumps they cause (docs/spec/tokens.md §5), on both engines.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  auditSince,
  bumps,
  expectAdminAudit,
  expectError,
  expectFields,
  idTokenFor,
  seedUser,
  storedUser,
} from "../support/admin.ts";
import { buildTestApp, forEachEngine, manualClock, type TestApp } from "../support/app.ts";

forEachEngine("admin user lifecycle", (engine) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(async () => {
    clock = manualClock(Date.UTC(2026, 5, 1, 8, 30));
    t = await buildTestApp({ store: await engine.freshStore(), clock });
  });

  describe("POST /accounts/status", () => {
    it("suspends a user (case-insensitive), bumps the token version and audits", async () => {
      const user = await seedUser(t, { email: "alice@example.com" });
      const token = await idTokenFor(t, user);
      const before = bumps(t, "status");
      const from = t.auditLines.length;
      const res = await t.call("/accounts/status", {
        json: { email: " Alice@Example.com ", status: "suspended" },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({
        localId: user.localId,
        email: "alice@example.com",
        status: "SUSPENDED",
      });
      expectAdminAudit(auditSince(t, from)[0], {
        action: "user.status",
        tenantId: "",
        targetId: user.localId,
        requestId: res.headers.get("x-request-id"),
      });
      const stored = await storedUser(t, user.localId);
      expect(stored.status).toBe("SUSPENDED");
      expect(stored.tokenVersion).toBe(1);
      expect(bumps(t, "status")).toBe(before + 1);

      // Back to ACTIVE: no bump, and the token issued before the suspension stays dead.
      const back = await t.call("/v1/accounts/status", {
        json: { email: "alice@example.com", status: "Active" },
      });
      expect((await back.json()).status).toBe("ACTIVE");
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(1);
      expect(bumps(t, "status")).toBe(before + 1);
      await expect(t.app.services.verifyIdToken(token)).rejects.toMatchObject({ code: "INVALID_TOKEN" });
      const fresh = await idTokenFor(t, await storedUser(t, user.localId));
      await expect(t.app.services.verifyIdToken(fresh)).resolves.toBeDefined();
    });

    it("bumps on every move into SUSPENDED or INACTIVE, and not for the same status", async () => {
      const user = await seedUser(t, { email: "bob@example.com" });
      const set = async (status: string) => {
        const res = await t.call("/accounts/status", { json: { email: user.email, status } });
        expect(res.status).toBe(200);
        return (await storedUser(t, user.localId)).tokenVersion;
      };
      expect(await set("INACTIVE")).toBe(1);
      expect(await set("SUSPENDED")).toBe(2);
      const from = t.auditLines.length;
      expect(await set("suspended")).toBe(2); // same status: no change, still 200
      expect(auditSince(t, from)).toHaveLength(1);
      expect(await set("ACTIVE")).toBe(2);
      expect(await set("ACTIVE")).toBe(2);
      expect(bumps(t, "status")).toBe(2);
    });

    it("keeps unknown stored fields of the user record (docs/spec/storage.md §2.1)", async () => {
      const user = await seedUser(t, { email: "kit@example.com", raw: { favouriteColour: "teal" } });
      await t.call("/accounts/status", { json: { email: user.email, status: "INACTIVE" } });
      expect(JSON.parse((await t.store.hget("users_v2", user.localId)) as string)).toMatchObject({
        status: "INACTIVE",
        tokenVersion: 1,
        favouriteColour: "teal",
      });
    });

    it("answers each documented error", async () => {
      await seedUser(t, { email: "carol@example.com" });
      await expectError(
        await t.call("/accounts/status", { json: { email: "carol@example.com", status: "DISABLED" } }),
        "INVALID_ARGUMENT",
        { status: "must be ACTIVE, INACTIVE or SUSPENDED" },
      );
      await expectError(
        await t.call("/accounts/status", { json: { email: "  ", status: "ACTIVE" } }),
        "INVALID_ARGUMENT",
        {
          email: "must not be blank",
        },
      );
      await expectFields(
        await t.call("/accounts/status", { json: { email: "", status: "" } }),
        "INVALID_ARGUMENT",
        ["email", "status"],
      );
      await expectFields(
        await t.call("/accounts/status", { json: { email: "carol@example.com" } }),
        "INVALID_REQUEST",
        ["status"],
      );
      await expectFields(
        await t.call("/accounts/status", { json: { status: "ACTIVE", email: 1 } }),
        "INVALID_REQUEST",
        ["email"],
      );
      await expectError(
        await t.call("/accounts/status", { json: { email: "ghost@example.com", status: "ACTIVE" } }),
        "USER_NOT_FOUND",
      );
      await expectError(
        await t.call("/accounts/status", {
          json: { email: "carol@example.com", status: "ACTIVE" },
          key: false,
        }),
        "API_KEY_INVALID",
      );
    });
  });

  describe("POST /accounts/revoke", () => {
    it("adds one to the token version, answers the server time, and audits", async () => {
      const user = await seedUser(t, { email: "dan@example.com", tokenVersion: 4 });
      const token = await idTokenFor(t, user);
      const before = bumps(t, "revoke");
      clock.advance(1_234);
      const from = t.auditLines.length;
      const res = await t.call("/accounts/revoke", { json: { email: "DAN@example.com" } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        localId: user.localId,
        email: "dan@example.com",
        tokenVersion: 5,
        revokedAt: "2026-06-01T08:30:01.234Z",
      });
      expectAdminAudit(auditSince(t, from)[0], {
        action: "user.revoke",
        tenantId: "",
        targetId: user.localId,
        requestId: res.headers.get("x-request-id"),
      });
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(5);
      expect(bumps(t, "revoke")).toBe(before + 1);
      await expect(t.app.services.verifyIdToken(token)).rejects.toMatchObject({ code: "INVALID_TOKEN" });
      // revokedAt is not stored.
      expect(await t.store.hget("users_v2", user.localId)).not.toContain("revokedAt");
    });

    it('accepts scope absent, "", "global" (any case) and null tenantId; each call bumps once', async () => {
      const user = await seedUser(t, { email: "eve@example.com" });
      const bodies = [
        { email: user.email },
        { email: user.email, scope: "" },
        { email: user.email, scope: "global" },
        { email: user.email, scope: "GLOBAL", tenantId: null },
        { email: user.email, scope: null, tenantId: "" },
      ];
      for (const [i, json] of bodies.entries()) {
        const res = await t.call("/v1/accounts/revoke", { json });
        expect(res.status, JSON.stringify(json)).toBe(200);
        expect((await res.json()).tokenVersion).toBe(i + 1);
      }
    });

    it("refuses a tenant or non-global scope with 400 UNSUPPORTED_REVOCATION_SCOPE, writing nothing", async () => {
      const user = await seedUser(t, { email: "fay@example.com" });
      const from = t.auditLines.length;
      const before = bumps(t, "revoke");
      for (const json of [
        { email: user.email, scope: "tenant" },
        { email: user.email, scope: "tenant", tenantId: "acme" },
        { email: user.email, tenantId: "acme" },
        { email: user.email, scope: "global", tenantId: "acme" },
        { email: user.email, scope: "session" },
        { email: "ghost@example.com", tenantId: "acme" },
      ]) {
        const res = await t.call("/accounts/revoke", { json });
        const body = await expectError(res, "UNSUPPORTED_REVOCATION_SCOPE");
        expect(body.error).toBe(
          "only global token revocation is supported; omit tenantId and use scope=global",
        );
      }
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(0);
      expect(bumps(t, "revoke")).toBe(before);
      expect(auditSince(t, from)).toEqual([]);
    });

    it("answers each other documented error", async () => {
      await expectError(
        await t.call("/accounts/revoke", { json: { email: "ghost@example.com" } }),
        "USER_NOT_FOUND",
      );
      await expectFields(await t.call("/accounts/revoke", { json: { email: " " } }), "INVALID_ARGUMENT", [
        "email",
      ]);
      await expectFields(await t.call("/accounts/revoke", { json: {} }), "INVALID_REQUEST", [
        "email",
        "localId",
      ]);
      await expectFields(
        await t.call("/accounts/revoke", { json: { email: "a@example.com", tenantId: 5 } }),
        "INVALID_REQUEST",
        ["tenantId"],
      );
      await expectError(await t.call("/accounts/revoke", { method: "POST" }), "INVALID_REQUEST");
      await expectError(await t.call("/accounts/revoke"), "METHOD_NOT_ALLOWED");
    });
  });
});

forEachEngine("admin user lifecycle with requireAdminToken", (engine) => {
  it("needs an ADMIN bearer and records it as the actor", async () => {
    const t = await buildTestApp({
      store: await engine.freshStore(),
      config: { admin: { requireAdminToken: true } },
    });
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const target = await seedUser(t, { email: "target@example.com" });
    await expectError(
      await t.call("/accounts/revoke", { json: { email: target.email } }),
      "ADMIN_AUTH_REQUIRED",
    );
    const employee = await seedUser(t, { email: "staff@example.com" });
    await expectError(
      await t.call("/accounts/status", {
        json: { email: target.email, status: "SUSPENDED" },
        headers: { Authorization: `Bearer ${await idTokenFor(t, employee)}` },
      }),
      "ADMIN_REQUIRED",
    );
    expect((await storedUser(t, target.localId)).status).toBe("ACTIVE");
    const from = t.auditLines.length;
    const res = await t.call("/accounts/revoke", {
      json: { email: target.email },
      headers: { Authorization: `Bearer ${await idTokenFor(t, admin)}` },
    });
    expect(res.status).toBe(200);
    expectAdminAudit(auditSince(t, from)[0], {
      action: "user.revoke",
      tenantId: "",
      targetId: target.localId,
      requestId: res.headers.get("x-request-id"),
      actor: `user:${admin.localId}`,
    });
    // An admin revoking themself ends their own bearer too.
    const token = await idTokenFor(t, admin);
    await t.call("/accounts/revoke", {
      json: { email: admin.email },
      headers: { Authorization: `Bearer ${token}` },
    });
    await expectError(
      await t.call("/accounts/revoke", {
        json: { email: target.email },
        headers: { Authorization: `Bearer ${token}` },
      }),
      "INVALID_TOKEN",
    );
  });
});
