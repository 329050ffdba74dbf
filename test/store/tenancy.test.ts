/**
 * Tenants, memberships, roles, clients and one-time codes against both engines
 * (docs/spec/storage.md §2.1, §4.3; docs/spec/api.md §7–§10, §4.6–§4.8).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/crypto/compare.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { createClientsRepo } from "../../src/store/repos/clients.ts";
import { createMembershipsRepo, type MembershipsRepo } from "../../src/store/repos/memberships.ts";
import { codeIsCurrent, createOobRepo } from "../../src/store/repos/oob.ts";
import { encodePageToken } from "../../src/store/repos/paging.ts";
import { createRolesRepo } from "../../src/store/repos/roles.ts";
import { createTenantsRepo, type TenantsRepo } from "../../src/store/repos/tenants.ts";
import { createUsersRepo, type UsersRepo } from "../../src/store/repos/users.ts";
import { manualClock, recordingLogger, rejection, repoDeps, storeEngines, withOverrides } from "./support.ts";

/** The store key of a one-time code: only its SHA-256 is a key name (docs/spec/storage.md §2). */
async function oobKey(code: string): Promise<string> {
  return keys.oob(await sha256Hex(code));
}

const HASH = "$2b$10$abcdefghijklmnopqrstuuJ9bZqZ0kq0lZ2Yf0rN6m0Jc7iJm3y6G";

const engines = storeEngines();

for (const engine of engines) {
  describe(`tenancy repositories [${engine.name}]`, () => {
    let kv: KV;
    let clock: ReturnType<typeof manualClock>;
    let logger: ReturnType<typeof recordingLogger>;
    let users: UsersRepo;
    let tenants: TenantsRepo;
    let memberships: MembershipsRepo;

    beforeEach(async () => {
      await engine.wipe();
      kv = engine.kv;
      clock = manualClock();
      logger = recordingLogger();
      const deps = repoDeps(kv, clock, logger);
      users = createUsersRepo(deps);
      tenants = createTenantsRepo(deps);
      memberships = createMembershipsRepo(deps, users);
    });

    describe("tenants", () => {
      it("create: HSETNX with status ACTIVE; a taken id is TENANT_EXISTS and keeps the first", async () => {
        const t = await tenants.create({ id: "acme", slug: "acme", name: "Acme" });
        expect(JSON.parse((await kv.hget(keys.tenants(), "acme"))!)).toEqual({
          id: "acme",
          slug: "acme",
          name: "Acme",
          status: "ACTIVE",
          createdAt: "2025-01-01T10:00:00.123Z",
        });
        expect(await tenants.get("acme")).toMatchObject({
          id: "acme",
          status: "ACTIVE",
          createdAt: t.createdAt,
        });
        const err = await rejection(tenants.create({ id: "acme", slug: "other", name: "Other" }));
        expect([err.code, err.status]).toEqual(["TENANT_EXISTS", 409]);
        expect((await tenants.get("acme"))?.name).toBe("Acme");
        expect(await tenants.get("nope")).toBeNull();
        const generated = await tenants.create({ slug: "gen", name: "Generated" });
        expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
      });

      it("setStatus: CAS write keeping unknown fields; same status writes nothing; absent → TENANT_NOT_FOUND", async () => {
        await kv.hset(
          keys.tenants(),
          "go-t",
          JSON.stringify({
            id: "go-t",
            slug: "go",
            name: "Go",
            status: "ACTIVE",
            createdAt: "x",
            plan: "gold",
          }),
        );
        const change = await tenants.setStatus("go-t", "DISABLED");
        expect([change.changed, change.before.status, change.after.status]).toEqual([
          true,
          "ACTIVE",
          "DISABLED",
        ]);
        expect(JSON.parse((await kv.hget(keys.tenants(), "go-t"))!)).toMatchObject({
          status: "DISABLED",
          plan: "gold",
        });
        let cas = 0;
        const counting = createTenantsRepo(
          repoDeps(
            withOverrides(kv, {
              casHset: (...a) => {
                cas++;
                return kv.casHset(...a);
              },
            }),
          ),
        );
        expect((await counting.setStatus("go-t", "DISABLED")).changed).toBe(false);
        expect(cas).toBe(0);
        expect((await rejection(tenants.setStatus("missing", "ACTIVE"))).code).toBe("TENANT_NOT_FOUND");
        const losing = createTenantsRepo(repoDeps(withOverrides(kv, { casHset: async () => false })));
        expect((await rejection(losing.setStatus("go-t", "ACTIVE"))).code).toBe("CONCURRENT_UPDATE");
      });

      it("list: ordered by id, opaque page tokens, last page has an empty token", async () => {
        const ids = ["m", "b", "z", "a", "k", "c", "y"];
        for (const id of ids) await tenants.create({ id, slug: id, name: id.toUpperCase() });
        const seen: string[][] = [];
        let token = "";
        do {
          const page = await tenants.list({ pageSize: 3, pageToken: token });
          seen.push(page.items.map((t) => t.id));
          token = page.nextPageToken;
          expect(ids).not.toContain(token); // opaque, not the raw id
        } while (token !== "");
        expect(seen).toEqual([["a", "b", "c"], ["k", "m", "y"], ["z"]]);
        const exact = await tenants.list({ pageSize: 7 });
        expect([exact.items.length, exact.nextPageToken]).toEqual([7, ""]);
        expect((await tenants.list()).items.map((t) => t.id)).toEqual([...ids].sort());
        // A token stays valid when its tenant is gone.
        const first = await tenants.list({ pageSize: 2 });
        await kv.hdel(keys.tenants(), "b");
        expect(
          (await tenants.list({ pageSize: 2, pageToken: first.nextPageToken })).items.map((t) => t.id),
        ).toEqual(["c", "k"]);
      });

      it("list: a bad page size or token is INVALID_ARGUMENT", async () => {
        await tenants.create({ id: "a", slug: "a", name: "A" });
        for (const pageSize of [0, 201, 2.5, -1, Number.NaN]) {
          const err = await rejection(tenants.list({ pageSize }));
          expect([err.code, Object.keys(err.details ?? {})], String(pageSize)).toEqual([
            "INVALID_ARGUMENT",
            ["pageSize"],
          ]);
        }
        expect((await tenants.list({ pageSize: 200 })).items).toHaveLength(1);
        expect((await tenants.list({ pageSize: 1 })).items).toHaveLength(1);
        const members = encodePageToken("members", "a");
        const canonical = encodePageToken("tenants", "a");
        for (const pageToken of [
          "%%%",
          "not base64!",
          "YQ",
          members,
          `${canonical}=`,
          btoa("tenants:"),
          "_-_-",
        ]) {
          const err = await rejection(tenants.list({ pageToken }));
          expect([err.code, err.status, Object.keys(err.details ?? {})], pageToken).toEqual([
            "INVALID_ARGUMENT",
            400,
            ["pageToken"],
          ]);
        }
      });

      it("a corrupt tenant value is INTERNAL", async () => {
        await kv.hset(keys.tenants(), "bad", "{");
        expect((await rejection(tenants.get("bad"))).code).toBe("INTERNAL");
        expect((await rejection(tenants.list())).code).toBe("INTERNAL");
      });
    });

    describe("memberships", () => {
      it("put creates the membership, the reverse set entry and sets an empty companyId", async () => {
        const u = await users.create({ email: "a@example.com", password: HASH });
        const put = await memberships.put("acme", u.localId, ["dev", "ops", "dev"]);
        expect(put).toMatchObject({ created: true, removedRoles: [], tokenVersionBumped: false });
        expect(JSON.parse((await kv.hget(keys.memberships("acme"), u.localId))!)).toEqual({
          id: put.membership.id,
          tenantId: "acme",
          userId: u.localId,
          roles: ["dev", "ops"],
          createdAt: "2025-01-01T10:00:00.123Z",
        });
        expect(await kv.smembers(keys.membershipsByUser(u.localId))).toEqual(["acme"]);
        expect(await users.getById(u.localId)).toMatchObject({ companyId: "acme", tokenVersion: 0 });
        await memberships.put("beta", u.localId, []);
        expect((await users.getById(u.localId))?.companyId).toBe("acme"); // only set when empty
        expect(JSON.parse((await kv.hget(keys.memberships("beta"), u.localId))!).roles).toEqual([]);
      });

      it("replace keeps id, createdAt and unknown fields; removing a role bumps, adding does not", async () => {
        const u = await users.create({ email: "b@example.com", password: HASH, companyId: "home" });
        const first = await memberships.put("acme", u.localId, ["dev"]);
        const text = (await kv.hget(keys.memberships("acme"), u.localId))!;
        await kv.hset(keys.memberships("acme"), u.localId, `${text.slice(0, -1)},"source":"scim"}`);
        clock.advance(60_000);
        const added = await memberships.put("acme", u.localId, ["dev", "ops"]);
        expect(added).toMatchObject({ created: false, removedRoles: [], tokenVersionBumped: false });
        expect(added.membership).toMatchObject({
          id: first.membership.id,
          createdAt: first.membership.createdAt,
        });
        expect((await users.getById(u.localId))?.tokenVersion).toBe(0);
        const removed = await memberships.put("acme", u.localId, ["ops"]);
        expect(removed).toMatchObject({ removedRoles: ["dev"], tokenVersionBumped: true });
        expect(await users.getById(u.localId)).toMatchObject({ tokenVersion: 1, companyId: "home" });
        const stored = JSON.parse((await kv.hget(keys.memberships("acme"), u.localId))!);
        expect(stored).toMatchObject({ id: first.membership.id, roles: ["ops"], source: "scim" });
        expect(stored.createdAt).toBe("2025-01-01T10:00:00.123Z");
      });

      it("reads Go memberships with roles: null as []", async () => {
        await kv.hset(
          keys.memberships("go"),
          "u1",
          JSON.stringify({
            id: "m1",
            tenantId: "go",
            userId: "u1",
            roles: null,
            createdAt: "2024-01-01T00:00:00Z",
          }),
        );
        expect((await memberships.get("go", "u1"))?.roles).toEqual([]);
        await kv.hset(keys.memberships("go"), "u2", '{"roles": "admin"}');
        expect((await rejection(memberships.get("go", "u2"))).code).toBe("INTERNAL");
      });

      it("remove: HDEL, SREM and a bump; no membership → removed false, no bump", async () => {
        const u = await users.create({ email: "c@example.com", password: HASH });
        await memberships.put("acme", u.localId, ["dev"]);
        expect(await memberships.remove("acme", u.localId)).toEqual({
          removed: true,
          tokenVersionBumped: true,
        });
        expect(await memberships.get("acme", u.localId)).toBeNull();
        expect(await kv.smembers(keys.membershipsByUser(u.localId))).toEqual([]);
        expect((await users.getById(u.localId))?.tokenVersion).toBe(1);
        expect(await memberships.remove("acme", u.localId)).toEqual({
          removed: false,
          tokenVersionBumped: false,
        });
        expect((await users.getById(u.localId))?.tokenVersion).toBe(1);
      });

      it("create (tikti-migrate): the given id, the reverse set, companyId when empty; never replaces", async () => {
        const u = await users.create({ email: "m@example.com", password: HASH });
        const made = await memberships.create("acme", u.localId, ["COMPANY_EMPLOYEE"], { id: "derived-id" });
        expect(made).toEqual({
          id: "derived-id",
          tenantId: "acme",
          userId: u.localId,
          roles: ["COMPANY_EMPLOYEE"],
          createdAt: "2025-01-01T10:00:00.123Z",
        });
        expect(JSON.parse((await kv.hget(keys.memberships("acme"), u.localId))!)).toEqual(made);
        expect(await kv.smembers(keys.membershipsByUser(u.localId))).toEqual(["acme"]);
        expect(await users.getById(u.localId)).toMatchObject({ companyId: "acme", tokenVersion: 0 });
        // An existing membership (e.g. an admin's concurrent change) wins: nothing written.
        await memberships.put("beta", u.localId, ["admin-made"]);
        expect(await memberships.create("beta", u.localId, ["COMPANY_EMPLOYEE"], { id: "other" })).toBeNull();
        expect((await memberships.get("beta", u.localId))?.roles).toEqual(["admin-made"]);
        // A user deleted meanwhile: the membership is written, the user record is left alone.
        expect((await memberships.create("acme", "ghost", ["COMPANY_EMPLOYEE"]))?.userId).toBe("ghost");
        expect(await users.getById("ghost")).toBeNull();
      });

      it("put and remove for a user deleted meanwhile do not fail", async () => {
        expect((await memberships.put("acme", "ghost", ["dev"])).tokenVersionBumped).toBe(false);
        expect((await memberships.remove("acme", "ghost")).removed).toBe(true);
      });

      it("tenantsOfUser: ordered, and a set entry without its membership (crash leftover) is ignored", async () => {
        const u = await users.create({ email: "d@example.com", password: HASH });
        await memberships.put("zeta", u.localId, ["z"]);
        await memberships.put("alpha", u.localId, ["a"]);
        await kv.sadd(keys.membershipsByUser(u.localId), "stale"); // remove crashed after step 1
        await memberships.put("beta", u.localId, ["b"]);
        await kv.hdel(keys.memberships("beta"), u.localId);
        expect((await memberships.tenantsOfUser(u.localId)).map((m) => [m.tenantId, m.roles])).toEqual([
          ["alpha", ["a"]],
          ["zeta", ["z"]],
        ]);
        // Put crashed after step 1: the membership exists but the set lacks it; listing still shows it.
        await kv.hset(
          keys.memberships("gamma"),
          u.localId,
          JSON.stringify({ id: "m", tenantId: "gamma", userId: u.localId, roles: [], createdAt: "x" }),
        );
        expect((await memberships.listForTenant("gamma")).items.map((e) => e.user.localId)).toEqual([
          u.localId,
        ]);
        expect(await memberships.tenantsOfUser("nobody")).toEqual([]);
      });

      it("listForTenant: ordered by user id, paged, skipping members whose user is gone", async () => {
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          const u = await users.create({ email: `m${i}@example.com`, password: HASH });
          await memberships.put("acme", u.localId, [`r${i}`]);
          ids.push(u.localId);
        }
        ids.sort();
        // Two users vanish (delete crashed after step 1), one in the middle and the last one.
        await kv.hdel(keys.users(), ids[2]!);
        await kv.hdel(keys.users(), ids[6]!);
        const alive = ids.filter((_, i) => i !== 2 && i !== 6);
        const pages: string[][] = [];
        let token = "";
        do {
          const page = await memberships.listForTenant("acme", { pageSize: 2, pageToken: token });
          for (const e of page.items) expect(e.user.localId).toBe(e.membership.userId);
          pages.push(page.items.map((e) => e.user.localId));
          token = page.nextPageToken;
        } while (token !== "");
        // Five live members in pages of two; the last page is not followed by an empty one even
        // though a (skipped) membership comes after it.
        expect(pages).toEqual([alive.slice(0, 2), alive.slice(2, 4), alive.slice(4)]);
        const whole = await memberships.listForTenant("acme", { pageSize: 5 });
        expect([whole.items.length, whole.nextPageToken]).toEqual([5, ""]);
        expect((await memberships.listForTenant("empty")).items).toEqual([]);
        const bad = await rejection(
          memberships.listForTenant("acme", { pageToken: encodePageToken("tenants", "x") }),
        );
        expect(bad.code).toBe("INVALID_ARGUMENT");
        expect((await rejection(memberships.listForTenant("acme", { pageSize: 201 }))).code).toBe(
          "INVALID_ARGUMENT",
        );
      });
    });

    describe("roles", () => {
      it("put writes the Go shape with de-duplicated permissions; replace keeps unknown fields", async () => {
        const roles = createRolesRepo(repoDeps(kv, clock, logger));
        const r = await roles.put("acme", { name: "dev", permissions: ["a:read", "b:*", "a:read"] });
        expect(r).toMatchObject({
          name: "dev",
          scope: "TENANT",
          tenantId: "acme",
          permissions: ["a:read", "b:*"],
        });
        expect(await kv.hget(keys.roles("acme"), "dev")).toBe(
          '{"name":"dev","scope":"TENANT","tenantId":"acme","permissions":["a:read","b:*"]}',
        );
        await kv.hset(keys.roles("acme"), "dev", '{"name":"dev","permissions":["x"],"description":"kept"}');
        await roles.put("acme", { name: "dev", permissions: ["y"] });
        expect(JSON.parse((await kv.hget(keys.roles("acme"), "dev"))!)).toEqual({
          name: "dev",
          scope: "TENANT",
          tenantId: "acme",
          permissions: ["y"],
          description: "kept",
        });
        await kv.hset(keys.roles("acme"), "broken", "{");
        await roles.put("acme", { name: "broken", permissions: [] }); // a corrupt old value is replaced
        expect((await roles.get("acme", "broken"))?.permissions).toEqual([]);
      });

      it("get: legacy values lack scope/tenantId; duplicates dropped in first-occurrence order", async () => {
        const roles = createRolesRepo(repoDeps(kv, clock, logger));
        await kv.hset(keys.roles("go"), "ops", '{"name":"ops","permissions":["b","a","b","c","a"]}');
        expect(await roles.get("go", "ops")).toMatchObject({
          name: "ops",
          scope: "TENANT",
          tenantId: "go",
          permissions: ["b", "a", "c"],
        });
        expect(await roles.get("go", "none")).toBeNull();
      });

      it("corrupt roles (unparseable, name ≠ field) are INTERNAL on read and grant nothing in the exchange", async () => {
        const roles = createRolesRepo(repoDeps(kv, clock, logger));
        await roles.put("acme", { name: "good", permissions: ["p1", "p2"] });
        await roles.put("acme", { name: "other", permissions: ["p2", "p3"] });
        await kv.hset(keys.roles("acme"), "garbled", "not json");
        await kv.hset(keys.roles("acme"), "renamed", '{"name":"admin","permissions":["everything"]}');
        await kv.hset(keys.roles("acme"), "nameless", '{"permissions":["everything"]}');
        for (const name of ["garbled", "renamed", "nameless"]) {
          const err = await rejection(roles.get("acme", name));
          expect([err.code, err.status], name).toEqual(["INTERNAL", 500]);
        }
        expect((await rejection(roles.list("acme"))).code).toBe("INTERNAL");
        expect(
          await roles.permissionsOf("acme", [
            "renamed",
            "good",
            "missing",
            "garbled",
            "other",
            "good",
            "nameless",
          ]),
        ).toEqual(["p1", "p2", "p3"]);
        const warned = logger.records
          .filter((r) => r.msg === "corrupt role grants nothing")
          .map((r) => r.role);
        expect(warned).toEqual(["renamed", "garbled", "nameless"]);
        // A store failure is not "corrupt": it still aborts.
        const down = createRolesRepo(
          repoDeps(withOverrides(kv, { hget: () => Promise.reject(new Error("down")) }), clock, logger),
        );
        await expect(down.permissionsOf("acme", ["good"])).rejects.toThrow("down");
      });

      it("list: sorted by name", async () => {
        const roles = createRolesRepo(repoDeps(kv, clock, logger));
        for (const name of ["viewer", "Admin2", "dev", "a.b:c"])
          await roles.put("acme", { name, permissions: [name] });
        expect((await roles.list("acme")).map((r) => r.name)).toEqual(["Admin2", "a.b:c", "dev", "viewer"]);
        expect(await roles.list("empty")).toEqual([]);
      });
    });

    describe("clients", () => {
      it("create: HSETNX with defaults; CLIENT_EXISTS keeps the first", async () => {
        const clients = createClientsRepo(repoDeps(kv, clock, logger));
        const c = await clients.create("acme", { clientId: "api", secretHash: HASH, type: "confidential" });
        expect(c).toMatchObject({
          clientId: "api",
          tenantId: "acme",
          type: "CONFIDENTIAL",
          allowedGrantTypes: ["token_exchange"],
          defaultScopes: [],
          status: "ACTIVE",
        });
        expect(JSON.parse((await kv.hget(keys.clients("acme"), "api"))!)).toEqual({
          clientId: "api",
          tenantId: "acme",
          secretHash: HASH,
          type: "CONFIDENTIAL",
          allowedGrantTypes: ["token_exchange"],
          defaultScopes: [],
          status: "ACTIVE",
          createdAt: "2025-01-01T10:00:00.123Z",
        });
        const err = await rejection(clients.create("acme", { clientId: "api", secretHash: "other" }));
        expect([err.code, err.status]).toEqual(["CLIENT_EXISTS", 409]);
        expect((await clients.get("acme", "api"))?.secretHash).toBe(HASH);
        const worker = await clients.create("acme", {
          clientId: "codeq-worker",
          secretHash: HASH,
          defaultScopes: ["codeq:claim"],
          allowedEventTypes: ["build.done"],
          maxTtlSeconds: 600,
        });
        expect(await clients.get("acme", "codeq-worker")).toMatchObject({
          type: "SERVICE",
          allowedEventTypes: ["build.done"],
          maxTtlSeconds: 600,
        });
        expect(worker.type).toBe("SERVICE");
      });

      it("get normalises Go-era values: type upper-cased, missing or null lists are []", async () => {
        const clients = createClientsRepo(repoDeps(kv, clock, logger));
        await kv.hset(
          keys.clients("go"),
          "legacy",
          JSON.stringify({
            clientId: "legacy",
            tenantId: "go",
            type: "service",
            status: "ACTIVE",
            managedBy: "x",
          }),
        );
        await kv.hset(
          keys.clients("go"),
          "nulls",
          JSON.stringify({ clientId: "nulls", type: "Public", allowedGrantTypes: null, defaultScopes: null }),
        );
        const legacy = await clients.get("go", "legacy");
        expect(legacy).toMatchObject({
          type: "SERVICE",
          allowedGrantTypes: [],
          defaultScopes: [],
          secretHash: "",
          allowedEventTypes: undefined,
          maxTtlSeconds: undefined,
        });
        expect(legacy?.raw).toHaveProperty("managedBy", "x");
        expect(await clients.get("go", "nulls")).toMatchObject({
          type: "PUBLIC",
          tenantId: "go",
          allowedGrantTypes: [],
        });
        expect(await clients.get("go", "absent")).toBeNull();
        await kv.hset(keys.clients("go"), "bad", '{"defaultScopes": "a b"}');
        expect((await rejection(clients.get("go", "bad"))).code).toBe("INTERNAL");
      });

      it("list: sorted by clientId", async () => {
        const clients = createClientsRepo(repoDeps(kv, clock, logger));
        for (const id of ["web", "api", "cli", "B2B"])
          await clients.create("acme", { clientId: id, secretHash: HASH });
        expect((await clients.list("acme")).map((c) => c.clientId)).toEqual(["B2B", "api", "cli", "web"]);
        expect(await clients.list("none")).toEqual([]);
      });
    });

    describe("one-time codes", () => {
      it("issue stores the fields with a TTL; consume is single-use and type-checked", async () => {
        const oob = createOobRepo(repoDeps(kv, clock, logger), { ttlSeconds: 900 });
        const { code, expiresAt } = await oob.issue({
          email: " User@Example.com",
          requestType: "EMAIL_SIGNIN",
          tokenVersion: 4,
        });
        expect(code).toMatch(/^[0-9a-f-]{36}$/);
        expect(expiresAt).toBe(Math.floor(clock.now() / 1000) + 900);
        expect(await kv.hgetall(await oobKey(code))).toEqual(
          new Map([
            ["reqType", "EMAIL_SIGNIN"],
            ["expiresAt", String(expiresAt)],
            ["ver", "4"],
            ["email", "user@example.com"],
          ]),
        );
        const ttl = await kv.pttl(await oobKey(code));
        expect(ttl).toBeGreaterThan(890_000);
        expect(ttl).toBeLessThanOrEqual(900_000);
        expect(await oob.consume(code, "PASSWORD_RESET")).toEqual({ status: "WRONG_TYPE" });
        expect(await kv.exists(await oobKey(code))).toBe(true);
        const results = await Promise.all([1, 2, 3, 4, 5].map(() => oob.consume(code, "EMAIL_SIGNIN")));
        expect(results.filter((r) => r.status === "OK")).toEqual([
          { status: "OK", email: "user@example.com", ver: "4" },
        ]);
        expect(results.filter((r) => r.status === "NONE")).toHaveLength(4);
        expect(await oob.consume("", "EMAIL_SIGNIN")).toEqual({ status: "NONE" });
      });

      it("only the SHA-256 of a code is a key: no key, field or value holds the code itself", async () => {
        const oob = createOobRepo(repoDeps(kv, clock, logger), { ttlSeconds: 900 });
        const { code } = await oob.issue({
          email: "a@example.com",
          requestType: "PASSWORD_RESET",
          tokenVersion: 2,
        });
        const digest = await sha256Hex(code);
        expect(digest).toMatch(/^[0-9a-f]{64}$/);
        const all: string[] = [];
        for await (const batch of kv.scan("")) all.push(...batch);
        expect(all).toEqual([`oob:${digest}`]);
        const fields = await kv.hgetall(`oob:${digest}`);
        for (const [field, value] of fields) {
          expect(field).not.toContain(code);
          expect(value).not.toContain(code);
        }
        // The plain code is no key, and the digest is no code.
        expect(await kv.exists(`oob:${code}`)).toBe(false);
        expect(await oob.peek(digest)).toBeNull();
        expect(await oob.consume(digest, "PASSWORD_RESET")).toEqual({ status: "NONE" });
        expect(await oob.peek(code)).toMatchObject({ email: "a@example.com", ver: "2" });
        expect(await oob.consume(code, "PASSWORD_RESET")).toEqual({
          status: "OK",
          email: "a@example.com",
          ver: "2",
        });
      });

      it("codeIsCurrent: the issued ver must equal the user's tokenVersion; absent reads as 0", () => {
        expect(codeIsCurrent("3", 3)).toBe(true);
        expect(codeIsCurrent("3", 4)).toBe(false);
        expect(codeIsCurrent("", 0)).toBe(true);
        expect(codeIsCurrent("", 1)).toBe(false);
        for (const odd of ["03", "3.0", " 3", "3 ", "-0", "x", "1e0"])
          expect(codeIsCurrent(odd, 3), odd).toBe(false);
        expect(codeIsCurrent("0", 0)).toBe(true);
      });

      it("a code past expiresAt is EXPIRED even without a TTL; a partly written code never signs in", async () => {
        const oob = createOobRepo(repoDeps(kv, clock, logger), { ttlSeconds: 900 });
        const { code } = await oob.issue({
          email: "a@example.com",
          requestType: "PASSWORD_RESET",
          tokenVersion: 0,
          code: "fixed-code",
        });
        expect(code).toBe("fixed-code");
        clock.advance(901_000);
        expect(await oob.consume(code, "PASSWORD_RESET")).toEqual({ status: "EXPIRED" });
        expect(await kv.exists(await oobKey(code))).toBe(false);
        // Crash before EXPIRE: no TTL, but the expiresAt check still refuses it in time.
        const now = Math.floor(clock.now() / 1000);
        for (const [f, v] of [
          ["reqType", "PASSWORD_RESET"],
          ["expiresAt", String(now - 1)],
          ["email", "a@example.com"],
        ]) {
          await kv.hset(await oobKey("no-ttl"), f!, v!);
        }
        expect(await kv.pttl(await oobKey("no-ttl"))).toBe(-1);
        expect(await oob.consume("no-ttl", "PASSWORD_RESET")).toEqual({ status: "EXPIRED" });
        // Crash after the first two HSETs of issue(): no email yet.
        await kv.hset(await oobKey("partial"), "reqType", "EMAIL_SIGNIN");
        await kv.hset(await oobKey("partial"), "expiresAt", String(Math.floor(clock.now() / 1000) + 900));
        expect(await oob.consume("partial", "EMAIL_SIGNIN")).toEqual({ status: "EXPIRED" });
        expect(await kv.exists(await oobKey("partial"))).toBe(false);
      });
    });
  });
}
