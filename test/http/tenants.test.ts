/**
 * Tenants (docs/spec/api.md §7) and the admin guard on the admin routes (§2.3), on the embedded store
 * and on a real redis-server.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  auditSince,
  expectAdminAudit,
  expectError,
  expectFields,
  idTokenFor,
  samlIdTokenFor,
  seedUser,
  UUID_V4,
} from "../support/admin.ts";
import { buildTestApp, type Engine, forEachEngine, manualClock, type TestApp } from "../support/app.ts";

async function fresh(engine: Engine, config: Record<string, unknown> = {}): Promise<TestApp> {
  return buildTestApp({ store: await engine.freshStore(), config, clock: manualClock(Date.UTC(2026, 2, 1)) });
}

forEachEngine("tenants", (engine) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await fresh(engine);
  });

  describe("POST /tenants", () => {
    it("creates an ACTIVE tenant, trims the name, and writes the audit record", async () => {
      const from = t.auditLines.length;
      const res = await t.call("/tenants", { json: { name: "  Acme Corp ", slug: "acme", id: "acme-1" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("pragma")).toBe("no-cache");
      expect(await res.json()).toEqual({
        id: "acme-1",
        name: "Acme Corp",
        slug: "acme",
        status: "ACTIVE",
        createdAt: "2026-03-01T00:00:00.000Z",
      });
      const [record, ...rest] = auditSince(t, from);
      expect(rest).toEqual([]);
      expectAdminAudit(record, {
        action: "tenant.create",
        tenantId: "acme-1",
        targetId: "acme-1",
        requestId: res.headers.get("x-request-id"),
      });
      // Stored exactly in the Go shape (docs/spec/storage.md §2.1).
      expect(JSON.parse((await t.store.hget("tenants", "acme-1")) as string)).toEqual({
        id: "acme-1",
        slug: "acme",
        name: "Acme Corp",
        status: "ACTIVE",
        createdAt: "2026-03-01T00:00:00.000Z",
      });
    });

    it("defaults the id to a UUID v4 (null counts as absent) and serves /v1", async () => {
      const a = await (await t.call("/tenants", { json: { name: "A", slug: "a" } })).json();
      expect(a.id).toMatch(UUID_V4);
      const b = await t.call("/v1/tenants", { json: { name: "B", slug: "a", id: null } });
      expect(b.status).toBe(200);
      const body = await b.json();
      expect(body.id).toMatch(UUID_V4);
      expect(body.slug).toBe("a"); // slugs need not be unique
      expect(body.id).not.toBe(a.id);
    });

    it("refuses a taken id with 409 TENANT_EXISTS and writes no audit record", async () => {
      expect((await t.call("/tenants", { json: { name: "A", slug: "a", id: "taken" } })).status).toBe(200);
      const from = t.auditLines.length;
      await expectError(
        await t.call("/tenants", { json: { name: "Other", slug: "b", id: "taken" } }),
        "TENANT_EXISTS",
      );
      expect(auditSince(t, from)).toEqual([]);
      expect((await (await t.call("/tenants/taken")).json()).name).toBe("A");
    });

    it("answers wrong types and missing fields 400 INVALID_REQUEST", async () => {
      await expectFields(await t.call("/tenants", { json: { slug: "a" } }), "INVALID_REQUEST", ["name"]);
      await expectFields(await t.call("/tenants", { json: { name: 5, slug: "a" } }), "INVALID_REQUEST", [
        "name",
      ]);
      await expectFields(
        await t.call("/tenants", { json: { name: "A", slug: "a", id: 7 } }),
        "INVALID_REQUEST",
        ["id"],
      );
      await expectError(await t.call("/tenants", { json: "[]" }), "INVALID_REQUEST");
    });

    it("answers grammar failures 400 INVALID_ARGUMENT naming each field (docs/spec/api.md §2.11.1)", async () => {
      await expectError(
        await t.call("/tenants", { json: { name: "   ", slug: "Bad_Slug", id: "id" } }),
        "INVALID_ARGUMENT",
        {
          name: "must be 1-200 characters after trimming",
          slug: "must match ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
          id: '"id" is reserved',
        },
      );
      for (const id of ["", "UPPER", "-dash", "dash-", "a".repeat(64), "under_score"]) {
        await expectFields(
          await t.call("/tenants", { json: { name: "A", slug: "a", id } }),
          "INVALID_ARGUMENT",
          ["id"],
        );
      }
      // The reserved word is named: "id" matches the pattern, so quoting it would not help.
      await expectError(await t.call("/tenants", { json: { name: "A", slug: "id" } }), "INVALID_ARGUMENT", {
        slug: '"id" is reserved',
      });
      await expectFields(
        await t.call("/tenants", { json: { name: "x".repeat(201), slug: "a" } }),
        "INVALID_ARGUMENT",
        ["name"],
      );
      // 200 code points after trimming is fine (an astral character counts once).
      const ok = await t.call("/tenants", { json: { name: ` ${"😀".repeat(200)} `, slug: "a" } });
      expect(ok.status).toBe(200);
      expect((await ok.json()).name).toBe("😀".repeat(200));
      expect(
        (await t.call("/tenants", { json: { name: "A", slug: "a", id: `a${"-".repeat(61)}b` } })).status,
      ).toBe(200);
    });

    it("needs the API key (401 API_KEY_INVALID before the body is read)", async () => {
      await expectError(await t.call("/tenants", { json: "not json", key: false }), "API_KEY_INVALID");
      await expectError(await t.call("/tenants", { key: false }), "API_KEY_INVALID");
    });
  });

  describe("GET /tenants/:tenantId and /tenants/id/:tenantId", () => {
    it("reads a tenant on both paths and their /v1 aliases", async () => {
      await t.call("/tenants", { json: { name: "Acme", slug: "acme", id: "acme" } });
      const expected = {
        id: "acme",
        name: "Acme",
        slug: "acme",
        status: "ACTIVE",
        createdAt: "2026-03-01T00:00:00.000Z",
      };
      for (const path of ["/tenants/acme", "/tenants/id/acme", "/v1/tenants/acme", "/v1/tenants/id/acme"]) {
        const res = await t.call(path);
        expect(res.status, path).toBe(200);
        expect(await res.json()).toEqual(expected);
      }
    });

    it("reads Go-era tenant ids outside the new-tenant grammar", async () => {
      await t.store.hset(
        "tenants",
        "Legacy.Tenant_1",
        JSON.stringify({
          id: "Legacy.Tenant_1",
          slug: "legacy",
          name: "Legacy",
          status: "ACTIVE",
          createdAt: "x",
        }),
      );
      expect((await (await t.call("/tenants/Legacy.Tenant_1")).json()).slug).toBe("legacy");
    });

    it("answers 404 TENANT_NOT_FOUND and 400 INVALID_TENANT for a malformed path id", async () => {
      await expectError(await t.call("/tenants/nope"), "TENANT_NOT_FOUND");
      await expectError(await t.call("/tenants/id/nope"), "TENANT_NOT_FOUND");
      for (const bad of ["bad%20id", "caf%C3%A9", "a".repeat(129), "a%2Fb"]) {
        await expectError(await t.call(`/tenants/${bad}`), "INVALID_TENANT");
        await expectError(await t.call(`/tenants/id/${bad}`), "INVALID_TENANT");
      }
    });

    it("reads /tenants/id/<segment> as the tenant <segment> (the id `id` is reserved)", async () => {
      await t.app.services.repos.tenants.create({ id: "users", slug: "users", name: "Users Inc" });
      await t.app.services.repos.tenants.create({ id: "roles", slug: "roles", name: "Roles Inc" });
      expect((await (await t.call("/tenants/id/users")).json()).name).toBe("Users Inc");
      expect((await (await t.call("/tenants/id/roles")).json()).name).toBe("Roles Inc");
      await expectError(await t.call("/tenants/id/clients"), "TENANT_NOT_FOUND");
    });
  });

  describe("POST /tenants/:tenantId/status", () => {
    it("sets the status case-insensitively, answers the tenant and audits", async () => {
      await t.call("/tenants", { json: { name: "Acme", slug: "acme", id: "acme" } });
      const from = t.auditLines.length;
      const res = await t.call("/tenants/acme/status", { json: { status: "disabled" } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        id: "acme",
        name: "Acme",
        slug: "acme",
        status: "DISABLED",
        createdAt: "2026-03-01T00:00:00.000Z",
      });
      expectAdminAudit(auditSince(t, from)[0], {
        action: "tenant.status",
        tenantId: "acme",
        targetId: "acme",
        requestId: res.headers.get("x-request-id"),
      });
      expect((await (await t.call("/tenants/acme")).json()).status).toBe("DISABLED");
      // Same status: no change, still 200.
      const again = await t.call("/tenants/acme/status", { json: { status: "DISABLED" } });
      expect(again.status).toBe(200);
      expect((await again.json()).status).toBe("DISABLED");
      const back = await t.call("/v1/tenants/acme/status", { json: { status: "Active" } });
      expect((await back.json()).status).toBe("ACTIVE");
    });

    it("keeps unknown stored fields on rewrite (docs/spec/storage.md §2.1)", async () => {
      await t.store.hset(
        "tenants",
        "acme",
        JSON.stringify({
          id: "acme",
          slug: "acme",
          name: "A",
          status: "ACTIVE",
          createdAt: "c",
          plan: "gold",
        }),
      );
      await t.call("/tenants/acme/status", { json: { status: "DISABLED" } });
      expect(JSON.parse((await t.store.hget("tenants", "acme")) as string)).toMatchObject({
        status: "DISABLED",
        plan: "gold",
      });
    });

    it("answers each documented error", async () => {
      await t.call("/tenants", { json: { name: "Acme", slug: "acme", id: "acme" } });
      await expectError(
        await t.call("/tenants/acme/status", { json: { status: "SUSPENDED" } }),
        "INVALID_ARGUMENT",
        {
          status: "must be ACTIVE or DISABLED",
        },
      );
      await expectFields(
        await t.call("/tenants/acme/status", { json: { status: "dısabled" } }),
        "INVALID_ARGUMENT",
        ["status"],
      );
      await expectFields(await t.call("/tenants/acme/status", { json: {} }), "INVALID_REQUEST", ["status"]);
      await expectFields(
        await t.call("/tenants/acme/status", { json: { status: true } }),
        "INVALID_REQUEST",
        ["status"],
      );
      await expectError(
        await t.call("/tenants/nope/status", { json: { status: "ACTIVE" } }),
        "TENANT_NOT_FOUND",
      );
      await expectError(
        await t.call("/tenants/bad%20id/status", { json: { status: "ACTIVE" } }),
        "INVALID_TENANT",
      );
      await expectError(
        await t.call("/tenants/acme/status", {
          method: "POST",
          body: "{}",
          headers: { "content-type": "text/plain" },
        }),
        "UNSUPPORTED_MEDIA_TYPE",
      );
    });
  });

  describe("GET /tenants", () => {
    it("walks 120 tenants in pages of 50, ordered by id", async () => {
      const ids = Array.from({ length: 120 }, (_, i) => `t-${String((i * 37) % 120).padStart(3, "0")}`);
      for (const id of ids) await t.app.services.repos.tenants.create({ id, slug: "s", name: id });
      const seen: string[] = [];
      const sizes: number[] = [];
      let token = "";
      let pages = 0;
      do {
        const res = await t.call(`/tenants?pageSize=50${token ? `&pageToken=${token}` : ""}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { tenants: Array<Record<string, unknown>>; nextPageToken: string };
        expect(Object.keys(body).sort()).toEqual(["nextPageToken", "tenants"]);
        for (const tenant of body.tenants) {
          expect(Object.keys(tenant).sort()).toEqual(["createdAt", "id", "name", "slug", "status"]);
        }
        sizes.push(body.tenants.length);
        seen.push(...body.tenants.map((x) => x.id as string));
        token = body.nextPageToken;
        pages++;
      } while (token !== "" && pages < 10);
      expect(sizes).toEqual([50, 50, 20]);
      expect(seen).toEqual([...ids].sort());
    });

    it("defaults to 50 per page, allows 200, and pages under /v1 too", async () => {
      for (let i = 0; i < 60; i++) {
        await t.app.services.repos.tenants.create({
          id: `x${String(i).padStart(2, "0")}`,
          slug: "s",
          name: "n",
        });
      }
      const first = await (await t.call("/tenants")).json();
      expect(first.tenants).toHaveLength(50);
      expect(first.nextPageToken).not.toBe("");
      const rest = await (await t.call(`/v1/tenants?pageToken=${first.nextPageToken}`)).json();
      expect(rest.tenants.map((x: { id: string }) => x.id)).toEqual(
        Array.from({ length: 10 }, (_, i) => `x${50 + i}`),
      );
      expect(rest.nextPageToken).toBe("");
      const all = await (await t.call("/tenants?pageSize=200")).json();
      expect(all.tenants).toHaveLength(60);
      expect(all.nextPageToken).toBe("");
      expect((await (await t.call("/tenants?pageSize=")).json()).tenants).toHaveLength(50);
    });

    it("answers an empty list with an empty token", async () => {
      expect(await (await t.call("/tenants")).json()).toEqual({ tenants: [], nextPageToken: "" });
    });

    it("answers a bad pageSize or pageToken 400 INVALID_ARGUMENT", async () => {
      for (const size of ["0", "201", "abc", "1.5", "-1", "+5", "1e2", "99999999999"]) {
        await expectFields(await t.call(`/tenants?pageSize=${size}`), "INVALID_ARGUMENT", ["pageSize"]);
      }
      // A member-listing token, garbage, and a non-canonical spelling.
      const memberToken = btoa("members:u1").replace(/=+$/, "");
      for (const token of ["%21%21", "zzz", memberToken, btoa("tenants:ab")]) {
        await expectFields(await t.call(`/tenants?pageToken=${token}`), "INVALID_ARGUMENT", ["pageToken"]);
      }
    });
  });
});

forEachEngine("admin bearer on admin routes (docs/spec/api.md §2.3)", (engine) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await fresh(engine, { admin: { requireAdminToken: true } });
  });

  const create = (headers: Record<string, string> = {}) =>
    t.call("/tenants", { json: { name: "Acme", slug: "acme" }, headers });

  it("answers 401 ADMIN_AUTH_REQUIRED without a usable Bearer header", async () => {
    await expectError(await create(), "ADMIN_AUTH_REQUIRED");
    await expectError(await create({ Authorization: "Basic Zm9vOmJhcg==" }), "ADMIN_AUTH_REQUIRED");
    await expectError(await create({ Authorization: "Bearer" }), "ADMIN_AUTH_REQUIRED");
    await expectError(await t.call("/tenants"), "ADMIN_AUTH_REQUIRED");
  });

  it("answers 401 INVALID_TOKEN for a token that fails verification", async () => {
    await expectError(await create({ Authorization: "Bearer not.a.token" }), "INVALID_TOKEN");
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const token = await idTokenFor(t, admin);
    // A revoked token (stale version) is refused like any other bad token.
    await t.app.services.repos.users.mutate(admin.localId, (u) => ({
      ...u,
      tokenVersion: u.tokenVersion + 1,
    }));
    await expectError(await create({ Authorization: `Bearer ${token}` }), "INVALID_TOKEN");
  });

  it("answers 403 FEDERATED_TOKEN_NOT_ALLOWED for a SAML idToken, even an admin's", async () => {
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const token = await samlIdTokenFor(t, admin, "idp-tenant");
    await expectError(await create({ Authorization: `Bearer ${token}` }), "FEDERATED_TOKEN_NOT_ALLOWED");
  });

  it("answers 403 ADMIN_REQUIRED for a user without the global ADMIN role", async () => {
    for (const role of ["COMPANY_ADMIN", "COMPANY_EMPLOYEE"]) {
      const user = await seedUser(t, { email: `${role.toLowerCase()}@example.com`, role });
      await expectError(
        await create({ Authorization: `Bearer ${await idTokenFor(t, user)}` }),
        "ADMIN_REQUIRED",
      );
    }
  });

  it("accepts an ADMIN bearer (scheme case-insensitive) and audits the user as the actor", async () => {
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const from = t.auditLines.length;
    const res = await create({ Authorization: `bEaReR ${await idTokenFor(t, admin)}` });
    expect(res.status).toBe(200);
    const tenant = await res.json();
    expectAdminAudit(auditSince(t, from)[0], {
      action: "tenant.create",
      tenantId: tenant.id,
      targetId: tenant.id,
      requestId: res.headers.get("x-request-id"),
      actor: `user:${admin.localId}`,
    });
    const list = await t.call("/tenants", {
      headers: { Authorization: `Bearer ${await idTokenFor(t, admin)}` },
    });
    expect(list.status).toBe(200);
  });

  it("still needs the API key next to a valid admin bearer", async () => {
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const res = await t.call("/tenants", {
      json: { name: "Acme", slug: "acme" },
      key: false,
      headers: { Authorization: `Bearer ${await idTokenFor(t, admin)}` },
    });
    await expectError(res, "API_KEY_INVALID");
  });
});

forEachEngine("optional admin bearer (default mode)", (engine) => {
  it("uses a valid admin bearer as the audit actor and ignores a bad one", async () => {
    const t = await fresh(engine);
    const admin = await seedUser(t, { email: "root@example.com", role: "ADMIN" });
    const from = t.auditLines.length;
    const withAdmin = await t.call("/tenants", {
      json: { name: "A", slug: "a", id: "a" },
      headers: { Authorization: `Bearer ${await idTokenFor(t, admin)}` },
    });
    expect(withAdmin.status).toBe(200);
    const withJunk = await t.call("/tenants", {
      json: { name: "B", slug: "b", id: "b" },
      headers: { Authorization: "Bearer junk" },
    });
    expect(withJunk.status).toBe(200);
    const [first, second] = auditSince(t, from);
    expect(first?.actor).toBe(`user:${admin.localId}`);
    expect(second?.actor).toBe("apiKey");
  });
});
