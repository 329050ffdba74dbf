/**
 * The least-privilege rules of the exchange (docs/spec/tokens.md §7 *P* and step 13) at the service level,
 * on both engines: a COMPANY_ADMIN has every scope only in its home tenant, a `subject` that is a
 * user must be an active member of the tenant, and the token's email is the subject's.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { isTiktiError } from "../../src/errors.ts";
import { createExchangeRules, type ExchangeRules, type PermissionSet } from "../../src/services/exchange.ts";
import { buildTestApp, forEachEngine, type TestApp } from "../support/app.ts";

const HOME = "home-co";
const OTHER = "other-co";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isTiktiError(err)) return err.code;
    throw err;
  }
  return "no error";
}

forEachEngine("exchange rules", (engine) => {
  let t: TestApp;
  let rules: ExchangeRules;
  let admin: User;

  beforeEach(async () => {
    t = await buildTestApp({ store: await engine.freshStore() });
    rules = createExchangeRules(t.deps, t.app.services);
    const { repos } = t.app.services;
    await repos.tenants.create({ id: HOME, slug: HOME, name: "Home" });
    await repos.tenants.create({ id: OTHER, slug: OTHER, name: "Other" });
    admin = await repos.users.create({
      localId: "company-admin",
      email: "boss@home.example",
      password: "",
      role: "COMPANY_ADMIN",
      companyId: HOME,
    });
  });

  async function permissions(user: User, tenantId: string, saml = false): Promise<PermissionSet> {
    return rules.permissionSet(
      tenantId,
      user,
      saml,
      t.app.services.repos.memberships.get(tenantId, user.localId),
    );
  }

  describe("permission set P for a COMPANY_ADMIN", () => {
    it("has every permission in its home tenant only", async () => {
      expect(rules.hasAllPermissions(admin, HOME, false)).toBe(true);
      expect(rules.hasAllPermissions(admin, OTHER, false)).toBe(false);
      expect(rules.hasAllPermissions(admin, HOME, true)).toBe(false);
      const home = await permissions(admin, HOME);
      expect(home.all).toBe(true);
      expect(home.allows("billing:write")).toBe(true);
    });

    it("in another tenant has exactly what its membership roles grant there", async () => {
      const { repos } = t.app.services;
      await repos.roles.put(OTHER, { name: "reader", permissions: ["reports:read"] });
      await repos.memberships.put(OTHER, admin.localId, ["reader"]);
      const other = await permissions(admin, OTHER);
      expect(other.all).toBe(false);
      expect(other.allows("reports:read")).toBe(true);
      expect(other.allows("billing:write")).toBe(false);
      expect(other.allows("tikti:tokens:delegate")).toBe(false);
    });

    it("without a home tenant (no companyId) has no all-permissions anywhere", async () => {
      const drifter = await t.app.services.repos.users.create({
        email: "drifter@example.com",
        password: "",
        role: "COMPANY_ADMIN",
      });
      expect(rules.hasAllPermissions(drifter, HOME, false)).toBe(false);
      expect(rules.hasAllPermissions(drifter, "", false)).toBe(false);
    });

    it("a global ADMIN keeps every permission in every tenant (not via SAML)", async () => {
      const root = await t.app.services.repos.users.create({
        email: "root@example.com",
        password: "",
        role: "ADMIN",
      });
      expect(rules.hasAllPermissions(root, OTHER, false)).toBe(true);
      expect(rules.hasAllPermissions(root, OTHER, true)).toBe(false);
    });
  });

  describe("step 13: the subject", () => {
    let employee: User;
    const all: PermissionSet = { all: true, allows: () => true };
    const none: PermissionSet = { all: false, allows: () => false };

    beforeEach(async () => {
      const { repos } = t.app.services;
      employee = await repos.users.create({ localId: "employee-1", email: "emp@home.example", password: "" });
      await repos.memberships.put(HOME, employee.localId, ["COMPANY_EMPLOYEE"]);
    });

    it("no override: the caller, with its own email", async () => {
      for (const subject of [undefined, "", admin.localId]) {
        expect(await rules.resolveSubject(subject, admin, HOME, none)).toEqual({
          sub: admin.localId,
          email: admin.email,
        });
      }
    });

    it("a member user: sub and email are the subject's, act the caller's", async () => {
      expect(await rules.resolveSubject(employee.localId, admin, HOME, all)).toEqual({
        sub: employee.localId,
        act: { sub: admin.localId },
        email: employee.email,
      });
    });

    it("a user that is no member of the tenant → DELEGATION_DENIED", async () => {
      expect(await codeOf(rules.resolveSubject(employee.localId, admin, OTHER, all))).toBe(
        "DELEGATION_DENIED",
      );
    });

    it("a member user that is not ACTIVE → DELEGATION_DENIED", async () => {
      await t.app.services.repos.users.mutate(employee.localId, (u) => ({ ...u, status: "SUSPENDED" }));
      expect(await codeOf(rules.resolveSubject(employee.localId, admin, HOME, all))).toBe(
        "DELEGATION_DENIED",
      );
    });

    it("a workload name (no such user): no email, no membership needed", async () => {
      const subject = await rules.resolveSubject("worker-01", admin, OTHER, all);
      expect(subject).toEqual({ sub: "worker-01", act: { sub: admin.localId } });
      expect(subject).not.toHaveProperty("email");
    });

    it("without the delegate permission nothing is looked up: DELEGATION_DENIED", async () => {
      expect(await codeOf(rules.resolveSubject("worker-01", admin, HOME, none))).toBe("DELEGATION_DENIED");
    });
  });
});
