/**
 * The exchange service (docs/spec/tokens.md §7 steps 6–13), called as `services.exchange` built by
 * `createServices`, without HTTP: one test per failing step and the rules of scopes, event types
 * and delegation, and revocation. A refusal is the TiktiError the route answers with (same status
 * from the catalogue, code, details); the route's parsing, headers, body shape and steps 1–5 and 14
 * are proven by test/http/exchange.test.ts.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { isTiktiError, type TiktiError } from "../../src/errors.ts";
import type { ExchangeRequest, ExchangeResult } from "../../src/services/exchange.ts";
import { keys } from "../../src/store/keys.ts";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { forEachEngine, TEST_ISSUER, type TestApp } from "../support/app.ts";
import {
  buildExchangeApp,
  type Clock,
  type IdTokenOverrides,
  idToken as mintIdToken,
  type Setup,
  SID,
  seed as seedUser,
  T1,
  T2,
  USER,
  WORKER,
} from "../support/exchange-fixture.ts";

/** What the service gave: the result (status 200, as the route answers) or the refusal. */
interface Outcome {
  status: number;
  result?: ExchangeResult;
  error?: TiktiError;
}

forEachEngine("exchange service", (engine) => {
  let t: TestApp;
  let clock: Clock;
  let logLines: Record<string, unknown>[];

  async function build(config: Record<string, unknown> = {}): Promise<void> {
    ({ t, clock, logLines } = await buildExchangeApp(engine, config));
  }

  beforeEach(async () => {
    await build();
  });

  const seed = (setup?: Setup): Promise<void> => seedUser(t, setup);
  const idToken = (over?: IdTokenOverrides): Promise<string> => mintIdToken(t, over);

  /** A SAML idToken for `tid` with its live session (docs/spec/tokens.md §4.1 V10). */
  async function samlIdToken(tid: string, role = "COMPANY_EMPLOYEE"): Promise<string> {
    await t.store.set(keys.samlSession(SID), JSON.stringify({ userId: USER, tenantId: tid, nameId: "n" }));
    return idToken({ tid, amr: "saml", role });
  }

  /** `services.exchange.exchange` as the route calls it; a refusal is the TiktiError it throws. */
  async function exchange(body: Record<string, unknown>): Promise<Outcome> {
    try {
      const result = await t.app.services.exchange.exchange(
        body as unknown as ExchangeRequest,
        t.deps.logger,
      );
      return { status: 200, result };
    } catch (err) {
      if (isTiktiError(err)) return { status: err.status, error: err };
      throw err;
    }
  }

  /** The worker request of docs/spec/tokens.md §7 (example), with overrides. */
  async function workerRequest(over: Record<string, unknown> = {}): Promise<Outcome> {
    return exchange({
      idToken: await idToken(),
      audience: WORKER,
      tenantId: T1,
      scopes: ["codeq:claim", "codeq:result"],
      eventTypes: ["render_video", "generate_master"],
      ttlSeconds: 1800,
      ...over,
    });
  }

  /** The refusal the route answers with: the same status (from the catalogue), code and details. */
  async function expectError(
    res: Outcome,
    status: number,
    code: string,
    details?: Record<string, string>,
  ): Promise<void> {
    expect({ status: res.status, code: res.error?.code }).toEqual({ status, code });
    if (details) expect(res.error?.details).toEqual(details);
  }

  /** The claims of an access token (signature checked by jose against the served JWKS). */
  async function claimsOf(res: Outcome): Promise<Record<string, unknown>> {
    expect(res.status).toBe(200);
    const jwks = (await (await t.call("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(res.result?.accessToken ?? "", createLocalJWKSet(jwks), {
      issuer: TEST_ISSUER,
      algorithms: ["RS256"],
      currentDate: new Date(clock.now()),
    });
    return payload as Record<string, unknown>;
  }

  describe("step 6: SAML binding", () => {
    it("a SAML token for another tenant → 403 TENANT_ACCESS_DENIED", async () => {
      await seed({ memberships: { [T1]: ["COMPANY_EMPLOYEE"], [T2]: ["COMPANY_EMPLOYEE"] } });
      const saml = await samlIdToken(T2);
      await expectError(await workerRequest({ idToken: saml }), 403, "TENANT_ACCESS_DENIED");
      // Its own tenant is fine (the client lives in tenant-1 only, so bind to tenant-1).
      const own = await samlIdToken(T1);
      expect((await workerRequest({ idToken: own })).status).toBe(200);
      expect((await workerRequest({ idToken: own, tenantId: undefined })).status).toBe(200);
    });

    it("V10: a session record that does not say whose session it is (no nameId, not JSON) → 401", async () => {
      await seed();
      const token = await samlIdToken(T1);
      expect((await workerRequest({ idToken: token })).status).toBe(200);
      // docs/api-decisions.md "One decoder of a SAML session record": tenantId, userId and nameId.
      for (const stored of [JSON.stringify({ userId: USER, tenantId: T1 }), "not json", "null"]) {
        await t.store.set(keys.samlSession(SID), stored);
        await expectError(await workerRequest({ idToken: token }), 401, "INVALID_TOKEN");
      }
    });
  });

  describe("step 7: membership", () => {
    it("no membership → 403 TENANT_ACCESS_DENIED (COMPANY_ADMIN included)", async () => {
      await seed({ memberships: { [T2]: ["COMPANY_EMPLOYEE"] } });
      await expectError(await workerRequest(), 403, "TENANT_ACCESS_DENIED");
      await t.app.services.repos.users.mutate(USER, (u) => ({ ...u, role: "COMPANY_ADMIN" }));
      await expectError(await workerRequest(), 403, "TENANT_ACCESS_DENIED");
    });

    it("a global ADMIN needs no membership, but still meets the client ceiling", async () => {
      await seed({ role: "ADMIN", memberships: {} });
      const token = await idToken({ role: "ADMIN" });
      const claims = await claimsOf(await workerRequest({ idToken: token, scopes: ["codeq:claim"] }));
      expect(claims).toMatchObject({ tid: T1, scope: "codeq:claim" });
      await expectError(
        await workerRequest({ idToken: token, scopes: ["codeq:admin"] }),
        403,
        "UNAUTHORIZED_SCOPES",
      );
    });

    it("the ADMIN exemption does not apply to a SAML token", async () => {
      await seed({ role: "ADMIN", memberships: {} });
      await expectError(
        await workerRequest({ idToken: await samlIdToken(T1, "ADMIN") }),
        403,
        "TENANT_ACCESS_DENIED",
      );
    });
  });

  describe("step 8: the client", () => {
    it("an unknown audience → 400 INVALID_AUDIENCE client_not_found", async () => {
      await seed({ client: { tenantId: T2 } });
      await expectError(await workerRequest(), 400, "INVALID_AUDIENCE", { reason: "client_not_found" });
    });

    it("an inactive client → 400 INVALID_AUDIENCE client_inactive", async () => {
      await seed({ client: null });
      await t.store.hset(
        keys.clients(T1),
        WORKER,
        JSON.stringify({
          clientId: WORKER,
          tenantId: T1,
          secretHash: "",
          type: "SERVICE",
          allowedGrantTypes: ["token_exchange"],
          defaultScopes: [],
          status: "DISABLED",
        }),
      );
      await expectError(await workerRequest(), 400, "INVALID_AUDIENCE", { reason: "client_inactive" });
    });

    it("a client whose grant types lack token_exchange → 400 INVALID_AUDIENCE grant_not_allowed", async () => {
      await seed({ client: { allowedGrantTypes: ["client_credentials"] } });
      await expectError(await workerRequest(), 400, "INVALID_AUDIENCE", { reason: "grant_not_allowed" });
    });

    it("a Go-era client (no allowedGrantTypes, no defaultScopes) allows the exchange", async () => {
      await seed({ client: null });
      await t.store.hset(
        keys.clients(T1),
        WORKER,
        JSON.stringify({ clientId: WORKER, tenantId: T1, secretHash: "", type: "service", status: "ACTIVE" }),
      );
      const claims = await claimsOf(await workerRequest());
      expect(claims.scope).toBe("codeq:claim codeq:result");
    });
  });

  describe("steps 9–11: scopes", () => {
    it("no requested scopes → the client's defaultScopes", async () => {
      await seed();
      const claims = await claimsOf(await workerRequest({ scopes: [] }));
      expect(claims.scope).toBe("codeq:claim codeq:result codeq:subscribe");
    });

    it("duplicates are removed keeping request order", async () => {
      await seed();
      const claims = await claimsOf(
        await workerRequest({ scopes: ["codeq:result", "codeq:claim", "codeq:result"] }),
      );
      expect(claims.scope).toBe("codeq:result codeq:claim");
    });

    it("a scope above the client ceiling → 403 UNAUTHORIZED_SCOPES", async () => {
      await seed();
      // codeq:heartbeat is a COMPANY_EMPLOYEE permission but not in the client's defaultScopes.
      await expectError(
        await workerRequest({ scopes: ["codeq:claim", "codeq:heartbeat"] }),
        403,
        "UNAUTHORIZED_SCOPES",
      );
    });

    it("an empty defaultScopes sets no ceiling, but the role permissions still bound the scopes", async () => {
      await seed({ client: { defaultScopes: [] } });
      const claims = await claimsOf(await workerRequest({ scopes: ["codeq:heartbeat"] }));
      expect(claims.scope).toBe("codeq:heartbeat");
      await expectError(await workerRequest({ scopes: ["billing:read"] }), 403, "UNAUTHORIZED_SCOPES");
      // No scopes requested and none by default: a token without `scope`.
      const none = await claimsOf(await workerRequest({ scopes: [] }));
      expect(none).not.toHaveProperty("scope");
    });

    it("membership roles grant their stored permissions", async () => {
      await seed({ memberships: { [T1]: ["billing"] }, client: { defaultScopes: [] } });
      await expectError(await workerRequest({ scopes: ["billing:read"] }), 403, "UNAUTHORIZED_SCOPES");
      await t.app.services.repos.roles.put(T1, { name: "billing", permissions: ["billing:read"] });
      const claims = await claimsOf(await workerRequest({ scopes: ["billing:read", "codeq:claim"] }));
      // codeq:claim comes from the global role COMPANY_EMPLOYEE's implicit permissions.
      expect(claims.scope).toBe("billing:read codeq:claim");
    });

    it("the global role name grants its stored role too, but not for a SAML token", async () => {
      await seed({ client: { defaultScopes: [] }, memberships: { [T1]: [] } });
      await t.app.services.repos.roles.put(T1, { name: "COMPANY_EMPLOYEE", permissions: ["reports:read"] });
      expect((await claimsOf(await workerRequest({ scopes: ["reports:read"] }))).scope).toBe("reports:read");
      await expectError(
        await workerRequest({ idToken: await samlIdToken(T1), scopes: ["reports:read"] }),
        403,
        "UNAUTHORIZED_SCOPES",
      );
      await expectError(
        await workerRequest({ idToken: await samlIdToken(T1), scopes: ["codeq:claim"] }),
        403,
        "UNAUTHORIZED_SCOPES",
      );
    });

    it("a SAML token gets the permissions of its membership roles", async () => {
      await seed({ client: { defaultScopes: [] } });
      // Membership role COMPANY_EMPLOYEE → implicit codeq permissions, even via SAML.
      const claims = await claimsOf(
        await workerRequest({ idToken: await samlIdToken(T1), scopes: ["codeq:nack"] }),
      );
      expect(claims.scope).toBe("codeq:nack");
    });

    it("implicitRolePermissions come from the configuration", async () => {
      await build({ authorization: { implicitRolePermissions: { COMPANY_EMPLOYEE: ["jobs:run"] } } });
      await seed({ client: { defaultScopes: [] } });
      expect((await claimsOf(await workerRequest({ scopes: ["jobs:run"] }))).scope).toBe("jobs:run");
      await expectError(await workerRequest({ scopes: ["codeq:claim"] }), 403, "UNAUTHORIZED_SCOPES");
    });

    it("a corrupt role grants nothing (no 500)", async () => {
      await seed({ memberships: { [T1]: ["billing"] }, client: { defaultScopes: [] } });
      await t.store.hset(keys.roles(T1), "billing", "{not json");
      await expectError(await workerRequest({ scopes: ["billing:read"] }), 403, "UNAUTHORIZED_SCOPES");
      expect((await workerRequest({ scopes: ["codeq:claim"] })).status).toBe(200);
    });

    it("a role named like an Object.prototype member grants nothing", async () => {
      await seed({ memberships: { [T1]: ["constructor", "__proto__"] }, client: { defaultScopes: [] } });
      await expectError(await workerRequest({ scopes: ["toString"] }), 403, "UNAUTHORIZED_SCOPES");
    });

    it("COMPANY_ADMIN (not via SAML) in its home tenant is permitted every scope within the client ceiling", async () => {
      await seed({ role: "COMPANY_ADMIN", companyId: T1, client: { defaultScopes: [] } });
      const claims = await claimsOf(await workerRequest({ scopes: ["anything:at-all"] }));
      expect(claims.scope).toBe("anything:at-all");
    });

    it("COMPANY_ADMIN in another tenant has only its membership roles there", async () => {
      await seed({ role: "COMPANY_ADMIN", companyId: T2, client: { defaultScopes: [] } });
      await expectError(await workerRequest({ scopes: ["anything:at-all"] }), 403, "UNAUTHORIZED_SCOPES");
      // The implicit COMPANY_EMPLOYEE permissions of its membership role still apply.
      const claims = await claimsOf(await workerRequest({ scopes: ["codeq:claim"] }));
      expect(claims.scope).toBe("codeq:claim");
      // ... and it cannot delegate there either.
      await expectError(await workerRequest({ subject: "service-account-9" }), 403, "DELEGATION_DENIED");
    });
  });

  describe("step 12: event types", () => {
    it("required for codeq-worker: none, or only blanks → 400 INVALID_ARGUMENT", async () => {
      await seed();
      await expectError(await workerRequest({ eventTypes: undefined }), 400, "INVALID_ARGUMENT");
      await expectError(await workerRequest({ eventTypes: [] }), 400, "INVALID_ARGUMENT");
      await expectError(await workerRequest({ eventTypes: ["", "   "] }), 400, "INVALID_ARGUMENT", {
        eventTypes: "required for this audience",
      });
    });

    it("not required for other audiences; entries trimmed, blanks dropped, duplicates removed", async () => {
      await seed({ client: { clientId: "reports", defaultScopes: [] } });
      const none = await claimsOf(await workerRequest({ audience: "reports", scopes: [], eventTypes: [] }));
      expect(none).not.toHaveProperty("eventTypes");
      expect(none.aud).toBe("reports");
      const some = await claimsOf(
        await workerRequest({ audience: "reports", scopes: [], eventTypes: [" a ", "", "b", "a", "\tb"] }),
      );
      expect(some.eventTypes).toEqual(["a", "b"]);
    });

    it("the required audiences come from the configuration", async () => {
      await build({ authorization: { eventTypesRequiredAudiences: ["reports"] } });
      await seed({ client: { clientId: "reports", defaultScopes: [] } });
      await expectError(
        await workerRequest({ audience: "reports", eventTypes: [] }),
        400,
        "INVALID_ARGUMENT",
      );
    });

    it("an event type outside the client's allowedEventTypes → 403 UNAUTHORIZED_EVENT_TYPES", async () => {
      await seed({ client: { allowedEventTypes: ["render_video"] } });
      await expectError(await workerRequest(), 403, "UNAUTHORIZED_EVENT_TYPES");
      const claims = await claimsOf(await workerRequest({ eventTypes: ["render_video"] }));
      expect(claims.eventTypes).toEqual(["render_video"]);
    });
  });

  describe("step 13: subject override", () => {
    it("without tikti:tokens:delegate → 403 DELEGATION_DENIED", async () => {
      await seed();
      await expectError(await workerRequest({ subject: "service-account-9" }), 403, "DELEGATION_DENIED");
    });

    it("the caller's own id is not an override: no act, no permission needed", async () => {
      await seed();
      const claims = await claimsOf(await workerRequest({ subject: USER }));
      expect(claims.sub).toBe(USER);
      expect(claims).not.toHaveProperty("act");
      const empty = await claimsOf(await workerRequest({ subject: "" }));
      expect(empty.sub).toBe(USER);
    });

    it("with the permission: sub is the subject and act.sub the caller", async () => {
      await seed({ memberships: { [T1]: ["COMPANY_EMPLOYEE", "delegator"] } });
      await t.app.services.repos.roles.put(T1, { name: "delegator", permissions: ["tikti:tokens:delegate"] });
      const claims = await claimsOf(await workerRequest({ subject: "service-account-9" }));
      expect(claims).toMatchObject({ sub: "service-account-9", act: { sub: USER } });
      // A workload subject has no email: the caller's must not be attributed to it (docs/spec/tokens.md §3).
      expect(claims).not.toHaveProperty("email");
      expect(Object.keys(claims).slice(0, 5)).toEqual(["iss", "aud", "sub", "act", "tid"]);
      const line = logLines.filter((l) => l.msg === "token exchange").at(-1);
      expect(line?.subject).toMatch(/^sha256:/);
    });

    it("a user subject must be a member of the tenant; the token carries the subject's email", async () => {
      await seed({ memberships: { [T1]: ["COMPANY_EMPLOYEE", "delegator"] } });
      const { repos } = t.app.services;
      await repos.roles.put(T1, { name: "delegator", permissions: ["tikti:tokens:delegate"] });
      await repos.users.create({ localId: "user-2", email: "other@example.com", password: "" });
      await expectError(await workerRequest({ subject: "user-2" }), 403, "DELEGATION_DENIED");
      await repos.memberships.put(T2, "user-2", ["COMPANY_EMPLOYEE"]);
      await expectError(await workerRequest({ subject: "user-2" }), 403, "DELEGATION_DENIED");
      await repos.memberships.put(T1, "user-2", ["COMPANY_EMPLOYEE"]);
      const claims = await claimsOf(await workerRequest({ subject: "user-2" }));
      expect(claims).toMatchObject({
        sub: "user-2",
        act: { sub: USER },
        email: "other@example.com",
        tid: T1,
      });
    });

    it("a global ADMIN may delegate (every permission)", async () => {
      await seed({ role: "ADMIN" });
      const claims = await claimsOf(
        await workerRequest({ idToken: await idToken({ role: "ADMIN" }), subject: "service-account-9" }),
      );
      expect(claims.act).toEqual({ sub: USER });
    });
  });

  describe("revocation", () => {
    it("a tokenVersion bump stops the old idToken; a new one works", async () => {
      await seed();
      const old = await idToken();
      expect((await workerRequest({ idToken: old })).status).toBe(200);
      await t.app.services.repos.users.mutate(USER, withTokenVersionBump);
      await expectError(await workerRequest({ idToken: old }), 401, "INVALID_TOKEN");
      const fresh = await claimsOf(await workerRequest({ idToken: await idToken({ ver: 8 }) }));
      expect(fresh.ver).toBe(8);
    });

    it("a suspended user cannot exchange", async () => {
      await seed();
      const token = await idToken();
      await t.app.services.repos.users.mutate(USER, (u) => ({ ...u, status: "SUSPENDED" }));
      await expectError(await workerRequest({ idToken: token }), 401, "INVALID_TOKEN");
    });
  });
});
