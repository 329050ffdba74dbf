/**
 * Every admin route that names a user by `email` also takes `localId` (issue 11 item 2): exactly
 * one of the two; both or neither → 400 naming both fields. `localId` reaches a user the email
 * index does not point at (a second record sharing an email), so status, revoke and membership
 * changes never hit the wrong account. On both engines.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { expectError, storedUser } from "../support/admin.ts";
import { buildTestApp, forEachEngine, type TestApp } from "../support/app.ts";

const SHARED = "shared@example.com";

/** The four admin routes that address a user, each with a valid rest of the body. */
const ROUTES: ReadonlyArray<{ path: string; extra: Record<string, unknown> }> = [
  { path: "/accounts/status", extra: { status: "SUSPENDED" } },
  { path: "/accounts/revoke", extra: {} },
  { path: "/tenants/tenant-b/users", extra: { roles: ["COMPANY_EMPLOYEE"] } },
  { path: "/tenants/tenant-b/users/remove", extra: {} },
];

forEachEngine("admin routes take localId beside email", (engine) => {
  let t: TestApp;
  /** The password user that owns the email index entry; a member of no tenant. */
  let innocent: User;
  /** A second record with the same email, outside the index (as SAML JIT used to create). */
  let shadow: User;

  beforeEach(async () => {
    t = await buildTestApp({ store: await engine.freshStore() });
    const { repos } = t.app.services;
    await repos.tenants.create({ id: "tenant-b", slug: "tenant-b", name: "Tenant B" });
    innocent = await repos.users.create({ email: SHARED, password: "not-a-real-hash" });
    shadow = await repos.users.insertRecord({ email: SHARED, password: "", authSource: "saml" });
    await repos.memberships.put("tenant-b", shadow.localId, ["COMPANY_EMPLOYEE"]);
    expect((await repos.users.findByEmail(SHARED))?.localId).toBe(innocent.localId);
  });

  async function post(path: string, json: Record<string, unknown>): Promise<Response> {
    return t.call(path, { json });
  }

  it("status by localId changes that user only, and answers its id", async () => {
    const res = await post("/accounts/status", { localId: shadow.localId, status: "SUSPENDED" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ localId: shadow.localId, email: SHARED, status: "SUSPENDED" });
    expect((await storedUser(t, shadow.localId)).status).toBe("SUSPENDED");
    expect((await storedUser(t, shadow.localId)).tokenVersion).toBe(1);
    expect((await storedUser(t, innocent.localId)).status).toBe("ACTIVE");
    expect((await storedUser(t, innocent.localId)).tokenVersion).toBe(0);
  });

  it("revoke by localId bumps that user only", async () => {
    const res = await post("/accounts/revoke", { localId: shadow.localId });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ localId: shadow.localId, tokenVersion: 1 });
    expect((await storedUser(t, innocent.localId)).tokenVersion).toBe(0);
  });

  it("users/remove by localId removes the listed member (by email it is the other user: 404)", async () => {
    await expectError(
      await post("/tenants/tenant-b/users/remove", { email: SHARED }),
      "MEMBERSHIP_NOT_FOUND",
    );
    const res = await post("/tenants/tenant-b/users/remove", { localId: shadow.localId });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ tenantId: "tenant-b", userId: shadow.localId, email: SHARED });
    expect(await t.app.services.repos.memberships.get("tenant-b", shadow.localId)).toBeNull();
  });

  it("users (add or replace) by localId writes the membership of that user", async () => {
    const res = await post("/tenants/tenant-b/users", { localId: innocent.localId, roles: ["reader"] });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ userId: innocent.localId, email: SHARED, roles: ["reader"] });
    expect((await t.app.services.repos.memberships.get("tenant-b", innocent.localId))?.roles).toEqual([
      "reader",
    ]);
    // The other record's membership is untouched.
    expect((await t.app.services.repos.memberships.get("tenant-b", shadow.localId))?.roles).toEqual([
      "COMPANY_EMPLOYEE",
    ]);
  });

  it("the /v1 alias takes localId too", async () => {
    const res = await post("/v1/accounts/revoke", { localId: innocent.localId });
    expect(res.status).toBe(200);
    expect((await storedUser(t, innocent.localId)).tokenVersion).toBe(1);
  });

  describe.each(ROUTES)("$path", ({ path, extra }) => {
    async function expectDetails(
      res: Response,
      code: string,
      details: Record<string, string>,
    ): Promise<void> {
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code, details });
    }

    it("both email and localId → 400 INVALID_ARGUMENT naming both; nothing written", async () => {
      const before = await t.store.hgetall("users_v2");
      await expectDetails(
        await post(path, { ...extra, email: SHARED, localId: shadow.localId }),
        "INVALID_ARGUMENT",
        {
          email: "give either email or localId, not both",
          localId: "give either email or localId, not both",
        },
      );
      // Blank values still count as given: the caller must send one field.
      await expectDetails(
        await post(path, { ...extra, email: "", localId: shadow.localId }),
        "INVALID_ARGUMENT",
        {
          localId: "give either email or localId, not both",
        },
      );
      expect(await t.store.hgetall("users_v2")).toEqual(before);
      expect(await t.app.services.repos.memberships.get("tenant-b", shadow.localId)).not.toBeNull();
    });

    it("neither (absent or null) → 400 INVALID_REQUEST naming both", async () => {
      for (const body of [extra, { ...extra, email: null, localId: null }]) {
        await expectDetails(await post(path, body), "INVALID_REQUEST", {
          email: "exactly one of email or localId is required",
          localId: "exactly one of email or localId is required",
        });
      }
    });

    it("a blank, oversized or non-string localId → 400; an unknown one → 404 USER_NOT_FOUND", async () => {
      await expectDetails(await post(path, { ...extra, localId: "  " }), "INVALID_ARGUMENT", {
        localId: "must not be blank",
      });
      await expectDetails(await post(path, { ...extra, localId: "x".repeat(257) }), "INVALID_ARGUMENT", {
        localId: "must be at most 256 characters",
      });
      const typed = await post(path, { ...extra, localId: 42 });
      expect(typed.status).toBe(400);
      expect(((await typed.json()) as { code: string }).code).toBe("INVALID_REQUEST");
      await expectError(await post(path, { ...extra, localId: "no-such-user" }), "USER_NOT_FOUND");
      // Ids are exact: no trimming, no case folding.
      await expectError(await post(path, { ...extra, localId: ` ${shadow.localId}` }), "USER_NOT_FOUND");
      await expectError(
        await post(path, { ...extra, localId: shadow.localId.toUpperCase() }),
        "USER_NOT_FOUND",
      );
    });
  });
});
