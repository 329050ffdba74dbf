/**
 * Tenant roles (docs/spec/api.md §9) and clients (§10), on both engines: defaults, limits, sort orders,
 * the client secret (shown once, only its SHA-256 stored, never returned again).
 */
import { beforeEach, expect, it } from "vitest";
import { verifyClientSecret } from "../../src/crypto/client-secret.ts";
import { auditSince, expectAdminAudit, expectError, expectFields } from "../support/admin.ts";
import { buildTestApp, forEachEngine, manualClock, type TestApp } from "../support/app.ts";

forEachEngine("roles", (engine) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ store: await engine.freshStore(), clock: manualClock() });
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
  });

  it("creates and replaces a role, de-duplicating permissions in first-occurrence order", async () => {
    const from = t.auditLines.length;
    const res = await t.call("/tenants/acme/roles", {
      json: { name: "editor", permissions: ["docs:write", "docs:read", "docs:write", "*", "a/b"] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "editor",
      scope: "TENANT",
      tenantId: "acme",
      permissions: ["docs:write", "docs:read", "*", "a/b"],
    });
    expectAdminAudit(auditSince(t, from)[0], {
      action: "role.put",
      tenantId: "acme",
      targetId: "editor",
      requestId: res.headers.get("x-request-id"),
    });
    const replaced = await t.call("/v1/tenants/acme/roles", { json: { name: "editor", permissions: [] } });
    expect((await replaced.json()).permissions).toEqual([]);
    expect(JSON.parse((await t.store.hget("roles:acme", "editor")) as string)).toEqual({
      name: "editor",
      scope: "TENANT",
      tenantId: "acme",
      permissions: [],
    });
  });

  it("counts the 500-permission limit after de-duplication", async () => {
    const five = Array.from({ length: 500 }, (_, i) => `p${i}`);
    const ok = await t.call("/tenants/acme/roles", {
      json: { name: "big", permissions: [...five, ...five] },
    });
    expect(ok.status).toBe(200);
    expect((await ok.json()).permissions).toHaveLength(500);
    await expectError(
      await t.call("/tenants/acme/roles", { json: { name: "big", permissions: [...five, "p500"] } }),
      "INVALID_ARGUMENT",
      { permissions: "must have at most 500 unique entries" },
    );
  });

  it("refuses the global roles ADMIN and COMPANY_ADMIN as tenant role names", async () => {
    for (const name of ["ADMIN", "COMPANY_ADMIN", "admin", "Company_Admin"]) {
      await expectError(
        await t.call("/tenants/acme/roles", { json: { name, permissions: [] } }),
        "INVALID_ARGUMENT",
        {
          name: "is a global role and cannot be a tenant role",
        },
      );
    }
    expect(
      (await t.call("/tenants/acme/roles", { json: { name: "COMPANY_EMPLOYEE", permissions: [] } })).status,
    ).toBe(200);
  });

  it("answers each documented error", async () => {
    await expectError(
      await t.call("/tenants/acme/roles", {
        json: { name: "bad name", permissions: ["ok", "ok", "no space"] },
      }),
      "INVALID_ARGUMENT",
      {
        name: "must match ^[A-Za-z0-9._:-]{1,128}$",
        "permissions.2": "must match ^[A-Za-z0-9._:/*-]{1,128}$",
      },
    );
    await expectFields(
      await t.call("/tenants/acme/roles", { json: { name: "r", permissions: ["x".repeat(129)] } }),
      "INVALID_ARGUMENT",
      ["permissions.0"],
    );
    await expectFields(
      await t.call("/tenants/acme/roles", { json: { name: "", permissions: [] } }),
      "INVALID_ARGUMENT",
      ["name"],
    );
    await expectFields(await t.call("/tenants/acme/roles", { json: { name: "r" } }), "INVALID_REQUEST", [
      "permissions",
    ]);
    await expectFields(
      await t.call("/tenants/acme/roles", { json: { name: "r", permissions: null } }),
      "INVALID_REQUEST",
      ["permissions"],
    );
    await expectError(
      await t.call("/tenants/nope/roles", { json: { name: "r", permissions: [] } }),
      "TENANT_NOT_FOUND",
    );
    await expectError(
      await t.call("/tenants/a%20b/roles", { json: { name: "r", permissions: [] } }),
      "INVALID_TENANT",
    );
  });

  it("lists roles sorted by name and reads one; unknown → 404 ROLE_NOT_FOUND", async () => {
    for (const name of ["viewer", "Admin2", "editor", "a:b"]) {
      await t.call("/tenants/acme/roles", { json: { name, permissions: [`${name}:x`] } });
    }
    const list = await (await t.call("/tenants/acme/roles")).json();
    expect(list.map((r: { name: string }) => r.name)).toEqual(["Admin2", "a:b", "editor", "viewer"]);
    expect(list[2]).toEqual({ name: "editor", scope: "TENANT", tenantId: "acme", permissions: ["editor:x"] });
    const one = await t.call("/v1/tenants/acme/roles/a:b");
    expect(await one.json()).toEqual({
      name: "a:b",
      scope: "TENANT",
      tenantId: "acme",
      permissions: ["a:b:x"],
    });
    await expectError(await t.call("/tenants/acme/roles/nope"), "ROLE_NOT_FOUND");
    await expectError(await t.call("/tenants/nope/roles"), "TENANT_NOT_FOUND");
    await expectError(await t.call("/tenants/nope/roles/editor"), "TENANT_NOT_FOUND");
    await expectError(await t.call("/tenants/a%20b/roles/editor"), "INVALID_TENANT");
    expect(await (await t.call("/tenants/acme/roles")).json()).toHaveLength(4);
  });

  it("reads legacy roles without scope/tenantId and answers 500 for a corrupt one", async () => {
    await t.store.hset("roles:acme", "old", JSON.stringify({ name: "old", permissions: ["a", "a", "b"] }));
    expect(await (await t.call("/tenants/acme/roles/old")).json()).toEqual({
      name: "old",
      scope: "TENANT",
      tenantId: "acme",
      permissions: ["a", "b"],
    });
    await t.store.hset("roles:acme", "broken", JSON.stringify({ name: "other", permissions: [] }));
    await expectError(await t.call("/tenants/acme/roles/broken"), "INTERNAL");
  });
});

forEachEngine("clients", (engine) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ store: await engine.freshStore(), clock: manualClock(Date.UTC(2026, 4, 2)) });
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
  });

  it("creates a client with the defaults and returns its secret once", async () => {
    const from = t.auditLines.length;
    const res = await t.call("/tenants/acme/clients", { json: { clientId: "billing-api" } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      clientId: "billing-api",
      oauthClientId: "acme/billing-api",
      type: "SERVICE",
      status: "ACTIVE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: [],
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expectAdminAudit(auditSince(t, from)[0], {
      action: "client.create",
      tenantId: "acme",
      targetId: "billing-api",
      requestId: res.headers.get("x-request-id"),
    });
    // The secret decodes to 32 bytes and is never stored; only its SHA-256 is (docs/spec/oauth.md §2).
    const bytes = Uint8Array.from(atob(body.secret.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
      c.charCodeAt(0),
    );
    expect(bytes).toHaveLength(32);
    const stored = JSON.parse((await t.store.hget("clients:acme", "billing-api")) as string);
    expect(stored).toEqual({
      clientId: "billing-api",
      tenantId: "acme",
      secretHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      type: "SERVICE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: [],
      status: "ACTIVE",
      createdAt: "2026-05-02T00:00:00.000Z",
    });
    expect(JSON.stringify(stored)).not.toContain(body.secret);
    expect(await verifyClientSecret(body.secret, stored.secretHash)).toBe(true);
    const wrong = `${body.secret.slice(0, 42)}${body.secret.endsWith("A") ? "B" : "A"}`;
    expect(await verifyClientSecret(wrong, stored.secretHash)).toBe(false);

    // Never returned again.
    const list = await (await t.call("/tenants/acme/clients")).text();
    const one = await (await t.call("/tenants/acme/clients/billing-api")).text();
    for (const text of [list, one]) {
      expect(text).not.toContain(body.secret);
      expect(text).not.toContain("secret");
      expect(text).not.toContain("sha256:");
    }
    expect(JSON.parse(one)).toEqual({
      clientId: "billing-api",
      oauthClientId: "acme/billing-api",
      type: "SERVICE",
      status: "ACTIVE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: [],
    });
  });

  it("takes every optional field, upper-cases the type, and gives each client its own secret", async () => {
    const res = await t.call("/v1/tenants/acme/clients", {
      json: {
        clientId: "worker:events",
        type: "confidential",
        allowedGrantTypes: ["token_exchange", "token_exchange"],
        defaultScopes: ["events:read", "events:write", "events:read"],
        allowedEventTypes: ["order.created", "ünïcode.event"],
        maxTtlSeconds: 60,
      },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      clientId: "worker:events",
      oauthClientId: "acme/worker:events",
      type: "CONFIDENTIAL",
      status: "ACTIVE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: ["events:read", "events:write"],
      allowedEventTypes: ["order.created", "ünïcode.event"],
      maxTtlSeconds: 60,
      secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const other = await (
      await t.call("/tenants/acme/clients", {
        json: { clientId: "public-app", type: "Public", allowedGrantTypes: [], maxTtlSeconds: 86_400 },
      })
    ).json();
    expect(other).toMatchObject({ type: "PUBLIC", allowedGrantTypes: [], maxTtlSeconds: 86_400 });
    expect(other.secret).not.toBe(body.secret);
    const nulls = await t.call("/tenants/acme/clients", {
      json: {
        clientId: "nulls",
        type: null,
        allowedGrantTypes: null,
        defaultScopes: null,
        maxTtlSeconds: null,
      },
    });
    expect(await nulls.json()).toMatchObject({ type: "SERVICE", allowedGrantTypes: ["token_exchange"] });
  });

  it("lists clients sorted by client id and reads Go-era clients normalised", async () => {
    for (const clientId of ["zeta", "Alpha", "beta"]) {
      await t.call("/tenants/acme/clients", { json: { clientId } });
    }
    await t.store.hset(
      "clients:acme",
      "go-era",
      JSON.stringify({
        clientId: "go-era",
        tenantId: "acme",
        secretHash: "$2a$10$x",
        type: "service",
        status: "ACTIVE",
      }),
    );
    const list = await (await t.call("/tenants/acme/clients")).json();
    expect(list.map((c: { clientId: string }) => c.clientId)).toEqual(["Alpha", "beta", "go-era", "zeta"]);
    expect(list[2]).toEqual({
      clientId: "go-era",
      oauthClientId: "acme/go-era",
      type: "SERVICE",
      status: "ACTIVE",
      allowedGrantTypes: [],
      defaultScopes: [],
    });
    expect(await (await t.call("/tenants/acme/clients/go-era")).json()).toEqual(list[2]);
  });

  it("answers 409 CLIENT_EXISTS without touching the stored client", async () => {
    await t.call("/tenants/acme/clients", { json: { clientId: "dup" } });
    const before = await t.store.hget("clients:acme", "dup");
    const from = t.auditLines.length;
    await expectError(
      await t.call("/tenants/acme/clients", { json: { clientId: "dup", type: "PUBLIC" } }),
      "CLIENT_EXISTS",
    );
    expect(await t.store.hget("clients:acme", "dup")).toBe(before);
    expect(auditSince(t, from)).toEqual([]);
  });

  it("answers each documented validation error", async () => {
    const call = (json: Record<string, unknown>) =>
      t.call("/tenants/acme/clients", { json: { clientId: "c", ...json } });
    await expectError(
      await t.call("/tenants/acme/clients", { json: { clientId: "has space" } }),
      "INVALID_ARGUMENT",
      {
        clientId: "must match ^[A-Za-z0-9._:-]{1,128}$",
      },
    );
    await expectError(await call({ type: "ROBOT" }), "INVALID_ARGUMENT", {
      type: "must be CONFIDENTIAL, PUBLIC or SERVICE",
    });
    await expectFields(await call({ type: "" }), "INVALID_ARGUMENT", ["type"]);
    await expectError(
      await call({ allowedGrantTypes: ["token_exchange", "authorization_code"] }),
      "INVALID_ARGUMENT",
      {
        "allowedGrantTypes.1": "must be one of token_exchange, client_credentials",
      },
    );
    await expectFields(await call({ allowedGrantTypes: ["TOKEN_EXCHANGE"] }), "INVALID_ARGUMENT", [
      "allowedGrantTypes.0",
    ]);
    await expectError(await call({ defaultScopes: ["ok", "not ok"] }), "INVALID_ARGUMENT", {
      "defaultScopes.1": "must match ^[A-Za-z0-9._:/*-]{1,128}$",
    });
    const many = Array.from({ length: 501 }, (_, i) => `s${i}`);
    await expectError(await call({ defaultScopes: many }), "INVALID_ARGUMENT", {
      defaultScopes: "must have at most 500 unique entries",
    });
    await expectError(await call({ allowedEventTypes: many }), "INVALID_ARGUMENT", {
      allowedEventTypes: "must have at most 500 unique entries",
    });
    await expectFields(await call({ allowedEventTypes: ["with space"] }), "INVALID_ARGUMENT", [
      "allowedEventTypes.0",
    ]);
    await expectFields(await call({ allowedEventTypes: ["tab\tinside"] }), "INVALID_ARGUMENT", [
      "allowedEventTypes.0",
    ]);
    await expectFields(await call({ allowedEventTypes: [""] }), "INVALID_ARGUMENT", ["allowedEventTypes.0"]);
    for (const ttl of [59, 86_401, 60.5, -1, 0]) {
      await expectError(await call({ maxTtlSeconds: ttl }), "INVALID_ARGUMENT", {
        maxTtlSeconds: "must be an integer from 60 to 86400",
      });
    }
    await expectFields(await call({ maxTtlSeconds: "60" }), "INVALID_REQUEST", ["maxTtlSeconds"]);
    await expectFields(await call({ defaultScopes: "a b" }), "INVALID_REQUEST", ["defaultScopes"]);
    await expectFields(
      await t.call("/tenants/acme/clients", { json: { type: "SERVICE" } }),
      "INVALID_REQUEST",
      ["clientId"],
    );
    // Several rule failures at once: every field named.
    await expectFields(
      await t.call("/tenants/acme/clients", { json: { clientId: "", type: "x", maxTtlSeconds: 1 } }),
      "INVALID_ARGUMENT",
      ["clientId", "type", "maxTtlSeconds"],
    );
    expect(await t.store.hgetall("clients:acme")).toEqual(new Map());
  });

  it("answers tenant and client lookups errors", async () => {
    await expectError(await t.call("/tenants/nope/clients", { json: { clientId: "c" } }), "TENANT_NOT_FOUND");
    await expectError(await t.call("/tenants/a%20b/clients", { json: { clientId: "c" } }), "INVALID_TENANT");
    await expectError(await t.call("/tenants/nope/clients"), "TENANT_NOT_FOUND");
    await expectError(await t.call("/tenants/acme/clients/nope"), "CLIENT_NOT_FOUND");
    await expectError(await t.call("/tenants/nope/clients/c"), "TENANT_NOT_FOUND");
    await expectError(await t.call("/tenants/a%20b/clients/c"), "INVALID_TENANT");
    expect(await (await t.call("/tenants/acme/clients")).json()).toEqual([]);
  });
});
