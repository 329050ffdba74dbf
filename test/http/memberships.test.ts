/**
 * Memberships (docs/spec/api.md §8): create/replace with token-version bumps on role removal
 * (docs/spec/tokens.md §5), removal, and the paginated member listing, on both engines.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  auditSince,
  bumps,
  expectAdminAudit,
  expectError,
  expectFields,
  ISO_UTC,
  seedUser,
  storedUser,
  UUID_V4,
} from "../support/admin.ts";
import { buildTestApp, forEachEngine, manualClock, type TestApp } from "../support/app.ts";

forEachEngine("memberships", (engine) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(async () => {
    clock = manualClock(Date.UTC(2026, 2, 1));
    t = await buildTestApp({ store: await engine.freshStore(), clock });
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
  });

  describe("POST /tenants/:tenantId/users", () => {
    it("creates a membership, sets the user's home tenant, and audits", async () => {
      const user = await seedUser(t, { email: "alice@example.com" });
      const from = t.auditLines.length;
      const res = await t.call("/tenants/acme/users", {
        json: { email: "  Alice@Example.COM ", roles: ["viewer", "editor", "viewer"] },
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({
        id: expect.stringMatching(UUID_V4),
        tenantId: "acme",
        userId: user.localId,
        email: "alice@example.com",
        roles: ["viewer", "editor"],
        createdAt: "2026-03-01T00:00:00.000Z",
      });
      expectAdminAudit(auditSince(t, from)[0], {
        action: "membership.put",
        tenantId: "acme",
        targetId: user.localId,
        requestId: res.headers.get("x-request-id"),
      });
      const after = await storedUser(t, user.localId);
      expect(after.companyId).toBe("acme");
      expect(after.tokenVersion).toBe(0);
      expect(await t.store.smembers(`membershipsByUser:${user.localId}`)).toEqual(["acme"]);
      expect(JSON.parse((await t.store.hget("memberships:acme", user.localId)) as string)).toEqual({
        id: body.id,
        tenantId: "acme",
        userId: user.localId,
        roles: ["viewer", "editor"],
        createdAt: "2026-03-01T00:00:00.000Z",
      });
    });

    it("defaults roles to [] (null too) and keeps an existing home tenant", async () => {
      await t.app.services.repos.tenants.create({ id: "other", slug: "other", name: "Other" });
      const user = await seedUser(t, { email: "bob@example.com", companyId: "other" });
      const res = await t.call("/v1/tenants/acme/users", { json: { email: "bob@example.com", roles: null } });
      expect(res.status).toBe(200);
      expect((await res.json()).roles).toEqual([]);
      expect((await storedUser(t, user.localId)).companyId).toBe("other");
    });

    it("replaces keeping id and createdAt; adding roles does not bump, removing one does", async () => {
      const user = await seedUser(t, { email: "carol@example.com" });
      const first = await (
        await t.call("/tenants/acme/users", { json: { email: user.email, roles: ["a"] } })
      ).json();
      clock.advance(60_000);
      const before = bumps(t, "membership");

      const added = await (
        await t.call("/tenants/acme/users", { json: { email: user.email, roles: ["a", "b"] } })
      ).json();
      expect(added).toMatchObject({ id: first.id, createdAt: first.createdAt, roles: ["a", "b"] });
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(0);
      expect(bumps(t, "membership")).toBe(before);

      const reordered = await (
        await t.call("/tenants/acme/users", { json: { email: user.email, roles: ["b", "a"] } })
      ).json();
      expect(reordered.roles).toEqual(["b", "a"]);
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(0);

      const removed = await (
        await t.call("/tenants/acme/users", { json: { email: user.email, roles: ["b"] } })
      ).json();
      expect(removed).toMatchObject({ id: first.id, createdAt: "2026-03-01T00:00:00.000Z", roles: ["b"] });
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(1);
      expect(bumps(t, "membership")).toBe(before + 1);

      await t.call("/tenants/acme/users", { json: { email: user.email } });
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(2);
      expect(bumps(t, "membership")).toBe(before + 2);
    });

    it("keeps working while the tenant is DISABLED (docs/spec/api.md §7.4)", async () => {
      await t.call("/tenants/acme/status", { json: { status: "DISABLED" } });
      await seedUser(t, { email: "dan@example.com" });
      expect((await t.call("/tenants/acme/users", { json: { email: "dan@example.com" } })).status).toBe(200);
      expect((await t.call("/tenants/acme/users")).status).toBe(200);
    });

    it("answers each documented error", async () => {
      await seedUser(t, { email: "erin@example.com" });
      await expectError(
        await t.call("/tenants/nope/users", { json: { email: "erin@example.com" } }),
        "TENANT_NOT_FOUND",
      );
      await expectError(
        await t.call("/tenants/bad%20id/users", { json: { email: "erin@example.com" } }),
        "INVALID_TENANT",
      );
      await expectError(
        await t.call("/tenants/acme/users", { json: { email: "ghost@example.com" } }),
        "USER_NOT_FOUND",
      );
      await expectError(await t.call("/tenants/acme/users", { json: { email: "  " } }), "INVALID_ARGUMENT", {
        email: "must not be blank",
      });
      await expectError(
        await t.call("/tenants/acme/users", { json: { email: "not-an-email" } }),
        "INVALID_ARGUMENT",
        { email: "must be a valid email address" },
      );
      await expectError(
        await t.call("/tenants/acme/users", {
          json: { email: "erin@example.com", roles: ["ok", "bad role"] },
        }),
        "INVALID_ARGUMENT",
        { "roles.1": "must match ^[A-Za-z0-9._:-]{1,128}$" },
      );
      const tooMany = Array.from({ length: 51 }, (_, i) => `r${i}`);
      await expectError(
        await t.call("/tenants/acme/users", { json: { email: "erin@example.com", roles: tooMany } }),
        "INVALID_ARGUMENT",
        { roles: "must have at most 50 unique entries" },
      );
      expect(
        (
          await t.call("/tenants/acme/users", {
            json: { email: "erin@example.com", roles: tooMany.slice(0, 50) },
          })
        ).status,
      ).toBe(200);
      await expectFields(await t.call("/tenants/acme/users", { json: { roles: [] } }), "INVALID_REQUEST", [
        "email",
        "localId",
      ]);
      await expectFields(
        await t.call("/tenants/acme/users", { json: { email: "erin@example.com", roles: "admin" } }),
        "INVALID_REQUEST",
        ["roles"],
      );
      await expectFields(
        await t.call("/tenants/acme/users", { json: { email: "erin@example.com", roles: [1] } }),
        "INVALID_REQUEST",
        ["roles.0"],
      );
      // A failed change writes no audit record.
      const from = t.auditLines.length;
      await t.call("/tenants/acme/users", { json: { email: "ghost@example.com" } });
      expect(auditSince(t, from)).toEqual([]);
    });
  });

  describe("POST /tenants/:tenantId/users/remove", () => {
    it("removes the membership, keeps the user, bumps its token version and audits", async () => {
      const user = await seedUser(t, { email: "fay@example.com" });
      await t.call("/tenants/acme/users", { json: { email: user.email, roles: ["a"] } });
      clock.advance(5_000);
      const before = bumps(t, "membership");
      const from = t.auditLines.length;
      const res = await t.call("/tenants/acme/users/remove", { json: { email: "FAY@example.com" } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        tenantId: "acme",
        userId: user.localId,
        email: "fay@example.com",
        removedAt: "2026-03-01T00:00:05.000Z",
      });
      expectAdminAudit(auditSince(t, from)[0], {
        action: "membership.remove",
        tenantId: "acme",
        targetId: user.localId,
        requestId: res.headers.get("x-request-id"),
      });
      const after = await storedUser(t, user.localId);
      expect(after.tokenVersion).toBe(1);
      expect(bumps(t, "membership")).toBe(before + 1);
      expect(await t.store.hget("memberships:acme", user.localId)).toBeNull();
      expect(await t.store.smembers(`membershipsByUser:${user.localId}`)).toEqual([]);

      // Nothing left to remove: 404, nothing bumped.
      await expectError(
        await t.call("/v1/tenants/acme/users/remove", { json: { email: user.email } }),
        "MEMBERSHIP_NOT_FOUND",
      );
      expect((await storedUser(t, user.localId)).tokenVersion).toBe(1);
    });

    it("answers each documented error", async () => {
      await seedUser(t, { email: "gus@example.com" });
      await expectError(
        await t.call("/tenants/acme/users/remove", { json: { email: "ghost@example.com" } }),
        "USER_NOT_FOUND",
      );
      await expectError(
        await t.call("/tenants/acme/users/remove", { json: { email: "gus@example.com" } }),
        "MEMBERSHIP_NOT_FOUND",
      );
      await expectError(
        await t.call("/tenants/nope/users/remove", { json: { email: "gus@example.com" } }),
        "TENANT_NOT_FOUND",
      );
      await expectError(
        await t.call("/tenants/a%20b/users/remove", { json: { email: "gus@example.com" } }),
        "INVALID_TENANT",
      );
      await expectFields(
        await t.call("/tenants/acme/users/remove", { json: { email: "" } }),
        "INVALID_ARGUMENT",
        ["email"],
      );
      await expectFields(await t.call("/tenants/acme/users/remove", { json: {} }), "INVALID_REQUEST", [
        "email",
        "localId",
      ]);
    });
  });

  describe("GET /tenants/:tenantId/users", () => {
    it("lists members ordered by user id with exactly the documented fields", async () => {
      const ids = ["u-3", "u-1", "u-2"];
      for (const id of ids) {
        await seedUser(t, {
          email: `${id}@example.com`,
          localId: id,
          authSource: id === "u-2" ? "saml" : "password",
          externalSubject: id === "u-2" ? "name-id-2" : "",
          status: id === "u-3" ? "SUSPENDED" : "ACTIVE",
          tokenVersion: 7,
        });
        await t.call("/tenants/acme/users", { json: { email: `${id}@example.com`, roles: [`role-${id}`] } });
      }
      const res = await t.call("/tenants/acme/users");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        users: [
          {
            id: "u-1",
            email: "u-1@example.com",
            roles: ["role-u-1"],
            status: "ACTIVE",
            authSource: "password",
            createdAt: "2026-03-01T00:00:00.000Z",
          },
          {
            id: "u-2",
            email: "u-2@example.com",
            roles: ["role-u-2"],
            status: "ACTIVE",
            authSource: "saml",
            createdAt: "2026-03-01T00:00:00.000Z",
          },
          {
            id: "u-3",
            email: "u-3@example.com",
            roles: ["role-u-3"],
            status: "SUSPENDED",
            authSource: "password",
            createdAt: "2026-03-01T00:00:00.000Z",
          },
        ],
        nextPageToken: "",
      });
      const text = await (await t.call("/tenants/acme/users")).text();
      for (const secret of [
        '"password":',
        "tokenVersion",
        "externalSubject",
        "name-id-2",
        "not-a-real-hash",
      ]) {
        expect(text).not.toContain(secret);
      }
    });

    it("pages through 120 members 50 at a time and skips members whose user is gone", async () => {
      const ids = Array.from({ length: 121 }, (_, i) => `m-${String(i).padStart(3, "0")}`);
      for (const id of ids) {
        await seedUser(t, { email: `${id}@example.com`, localId: id });
        await t.app.services.repos.memberships.put("acme", id, ["member"]);
      }
      // A deleted user's leftover membership is skipped (docs/spec/storage.md §4.1 reader rules).
      await t.store.hdel("users_v2", "m-060");
      const seen: string[] = [];
      const sizes: number[] = [];
      let token = "";
      let guard = 0;
      do {
        const res = await t.call(`/tenants/acme/users?pageSize=50${token ? `&pageToken=${token}` : ""}`);
        expect(res.status).toBe(200);
        const body = await res.json();
        sizes.push(body.users.length);
        seen.push(...body.users.map((u: { id: string }) => u.id));
        token = body.nextPageToken;
      } while (token !== "" && ++guard < 10);
      expect(sizes).toEqual([50, 50, 20]);
      expect(seen).toEqual(ids.filter((id) => id !== "m-060"));
    });

    it("answers each documented error", async () => {
      await expectError(await t.call("/tenants/nope/users"), "TENANT_NOT_FOUND");
      await expectError(await t.call("/tenants/a%20b/users"), "INVALID_TENANT");
      await expectFields(await t.call("/tenants/acme/users?pageSize=0"), "INVALID_ARGUMENT", ["pageSize"]);
      await expectFields(await t.call("/tenants/acme/users?pageSize=x"), "INVALID_ARGUMENT", ["pageSize"]);
      const tenantsToken = btoa("tenants:acme").replace(/=+$/, "");
      await expectFields(await t.call(`/tenants/acme/users?pageToken=${tenantsToken}`), "INVALID_ARGUMENT", [
        "pageToken",
      ]);
    });
  });

  it("removal time and membership timestamps are RFC 3339 UTC", async () => {
    const user = await seedUser(t, { email: "hal@example.com" });
    const put = await (await t.call("/tenants/acme/users", { json: { email: user.email } })).json();
    expect(put.createdAt).toMatch(ISO_UTC);
    const removed = await (
      await t.call("/tenants/acme/users/remove", { json: { email: user.email } })
    ).json();
    expect(removed.removedAt).toMatch(ISO_UTC);
  });
});
