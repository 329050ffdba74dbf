/**
 * A Go Tikti keyspace keeps working after one `tikti-migrate` (spec/README.md "Compatibility
 * statement", docs/spec/cli.md §9): every legacy user signs in with the original password through the real
 * app, the bcrypt hash is upgraded on that sign-in (docs/spec/operations.md §2.5), Go-era clients (no
 * `allowedGrantTypes`) still exchange tokens, and the tokens keep their claim names (docs/spec/tokens.md §2,
 * §3). On the embedded store and a real redis-server.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInProcessPasswordHasher } from "../../src/crypto/password-portable.ts";
import type { KV } from "../../src/store/kv.ts";
import { buildTestApp, TEST_ISSUER, type TestApp } from "../support/app.ts";
import {
  CLIENT_SECRET,
  DEFAULT_TENANT,
  IDS,
  PASSWORDS,
  USERS,
  user,
  writeGoFixtures,
} from "./go-fixtures.ts";
import { migrateEngines, runCli } from "./support.ts";

/** Fails with a clear message when a route another change adds is not mounted (yet). */
function requireRoute(t: TestApp, method: string, path: string): void {
  if (!t.app.routeSpecs.some((r) => r.method === method && r.path === path)) {
    throw new Error(
      `${method} ${path} is not registered in createApp (src/http/routes): this check needs the route ` +
        "and passes once it is mounted",
    );
  }
}

/** Claim names of docs/spec/tokens.md §2 (password sign-in, user with a home tenant) and §3. */
const ID_TOKEN_CLAIMS = [
  "amr",
  "aud",
  "email",
  "exp",
  "iat",
  "iss",
  "jti",
  "role",
  "sub",
  "tid",
  "userId",
  "ver",
];
const ACCESS_TOKEN_CLAIMS = ["aud", "email", "exp", "iat", "iss", "jti", "scope", "sub", "tid", "ver"];

for (const engine of migrateEngines()) {
  describe(`a Go Tikti keyspace after tikti-migrate [${engine.name}]`, () => {
    let store: KV;
    let t: TestApp;
    const idTokens = new Map<string, string>();

    beforeAll(async () => {
      await engine.reset();
      await engine.use((kv) => writeGoFixtures(kv));
      const run = await runCli([...engine.args(), "--default-tenant", DEFAULT_TENANT]);
      expect(run.code, run.all).toBe(0);
      store = await engine.open();
      t = await buildTestApp({ store, config: { rateLimits: { enabled: false } } });
    });
    afterAll(async () => {
      await store?.close();
    });

    it("every stored bcrypt hash verifies with the original password (repositories + hasher)", async () => {
      const hasher = createInProcessPasswordHasher(t.deps.config.accounts.passwordHash);
      for (const u of USERS) {
        const found = await t.app.services.repos.users.findByEmail(u.storedEmail);
        expect(found?.localId, u.label).toBe(u.id);
        expect(found?.password, u.label).toMatch(/^\$2[aby]\$10\$/);
        expect(await hasher.verify(u.password, found!.password), u.label).toBe(true);
        expect(await hasher.verify(`${u.password}x`, found!.password), u.label).toBe(false);
      }
      const client = await t.app.services.repos.clients.get("acme", "docs-api");
      expect(client?.allowedGrantTypes).toEqual([]);
      expect(await hasher.verify(CLIENT_SECRET, client!.secretHash)).toBe(true);
    });

    it("every user signs in with the original password (POST /accounts/signIn); the hash is upgraded", async () => {
      requireRoute(t, "POST", "/accounts/signIn");
      for (const u of USERS) {
        // As users type it: the stored spelling for some, lower case for others.
        const email = u.id === IDS.carol ? u.storedEmail : u.normalised;
        const res = await t.call("/accounts/signIn", { json: { email, password: u.password } });
        const body = (await res.json()) as Record<string, unknown>;
        expect(res.status, `${u.label}: ${JSON.stringify(body)}`).toBe(200);
        expect(body.localId, u.label).toBe(u.id);
        expect(body.email, u.label).toBe(u.storedEmail);
        idTokens.set(u.id, body.idToken as string);
        // Weaker than the default policy (argon2id): replaced on this sign-in.
        const stored = JSON.parse((await store.hget("users_v2", u.id))!) as { password: string };
        expect(stored.password, u.label).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
        const again = await t.call("/accounts/signIn", { json: { email, password: u.password } });
        expect(again.status, `${u.label} after the upgrade`).toBe(200);
      }
      // frank's users_v2 record (newer password) won over his legacy entry.
      const old = await t.call("/accounts/signIn", {
        json: { email: user("frank").normalised, password: PASSWORDS.frankOld },
      });
      expect(old.status).toBe(401);
    });

    it("idTokens keep the Go claim names and values", async () => {
      requireRoute(t, "POST", "/accounts/signIn");
      const bob = idTokens.get(IDS.bob);
      expect(bob, "needs the sign-in test above").toBeDefined();
      const claims = decodeJwt(bob!);
      expect(Object.keys(claims).sort()).toEqual(ID_TOKEN_CLAIMS);
      expect(claims).toMatchObject({
        iss: TEST_ISSUER,
        sub: IDS.bob,
        userId: IDS.bob,
        email: "Bob@Example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: ["pwd"],
        ver: 2,
      });
      expect(decodeJwt(idTokens.get(IDS.dave)!)).toMatchObject({
        role: "COMPANY_ADMIN",
        tid: DEFAULT_TENANT,
      });
    });

    it("Go-era clients (no allowedGrantTypes) exchange tokens; access tokens keep their claim names", async () => {
      requireRoute(t, "POST", "/accounts/token/exchange");
      const jwks = createLocalJWKSet(await (await t.call("/.well-known/jwks.json")).json());
      const cases = [
        // bob: Go membership with a tenant role (roles:acme without scope/tenantId).
        { id: IDS.bob, audience: "docs-api", tenantId: "acme", scope: "docs:read" },
        // carol: legacy user, membership from companyId (0003).
        { id: IDS.carol, audience: "billing-worker", tenantId: "acme", scope: "codeq:claim codeq:result" },
        // grace: users_v2 record with the legacy `Id`, membership from companyId (0003).
        { id: IDS.grace, audience: "billing-worker", tenantId: "globex", scope: "codeq:claim" },
        // frank: legacy + users_v2, membership from companyId (0003); the tenant comes from the idToken.
        { id: IDS.frank, audience: "billing-worker", tenantId: undefined, scope: "codeq:claim" },
      ];
      for (const c of cases) {
        const idToken = idTokens.get(c.id);
        expect(idToken, "needs the sign-in test above").toBeDefined();
        const res = await t.call("/accounts/token/exchange", {
          json: { idToken, audience: c.audience, ...(c.tenantId ? { tenantId: c.tenantId } : {}) },
        });
        const body = (await res.json()) as Record<string, unknown>;
        expect(res.status, `${c.id}: ${JSON.stringify(body)}`).toBe(200);
        expect(body.tokenType).toBe("Bearer");
        const { payload } = await jwtVerify(body.accessToken as string, jwks, {
          issuer: TEST_ISSUER,
          audience: c.audience,
        });
        expect(Object.keys(payload).sort(), c.id).toEqual(ACCESS_TOKEN_CLAIMS);
        expect(payload, c.id).toMatchObject({ sub: c.id, scope: c.scope, tid: c.tenantId ?? "globex" });
      }
      // henry's companyId names no tenant: no membership was invented, so no token.
      const henry = await t.call("/accounts/token/exchange", {
        json: { idToken: idTokens.get(IDS.henry), audience: "billing-worker", tenantId: "acme" },
      });
      expect(henry.status).toBe(403);
    });
  });
}
