/**
 * `POST /oauth/introspect` (RFC 7662) and `POST /oauth/revoke` (RFC 7009), docs/spec/oauth.md §5, §7, on
 * the embedded store and a real redis-server: real clients authenticated with their secrets, real
 * access tokens from `/oauth/token` and the legacy exchange, the shared liveness checks, the `jti`
 * denylist seen by introspection, `/accounts/validate` and the RFC 8693 grant.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import type { OAuthCaller } from "../../src/services/oauth/introspect-revoke.ts";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine, TEST_ISSUER } from "../support/app.ts";
import {
  ACCESS_TOKEN_TYPE,
  adminOk,
  basic,
  buildOAuthApp,
  type CreatedTestClient,
  createClient,
  createTenant,
  decodePart,
  expectOAuthError,
  type OAuthTestApp,
  T1,
  T2,
  TOKEN_EXCHANGE,
} from "./support.ts";

const EMAIL = "alice@example.com";

forEachEngine("introspection and revocation", (engine) => {
  let t: OAuthTestApp;
  let billing: CreatedTestClient;
  let gateway: CreatedTestClient;
  let bystander: CreatedTestClient;
  let auditor: CreatedTestClient;
  let foreign: CreatedTestClient;
  let userId: string;

  beforeEach(async () => {
    t = await buildOAuthApp(engine, { rateLimits: { enabled: false } });
    await createTenant(t, T1);
    await createTenant(t, T2);
    const { repos } = t.app.services;
    await repos.roles.put(T1, {
      name: "token-admin",
      permissions: ["tikti:tokens:introspect", "tikti:tokens:revoke"],
    });
    await repos.roles.put(T2, {
      name: "token-admin",
      permissions: ["tikti:tokens:introspect", "tikti:tokens:revoke"],
    });
    const cc = ["client_credentials"];
    billing = await createClient(t, T1, {
      clientId: "billing-api",
      allowedGrantTypes: [...cc, "token_exchange"],
    });
    gateway = await createClient(t, T1, { clientId: "gateway", allowedGrantTypes: cc });
    bystander = await createClient(t, T1, { clientId: "bystander", allowedGrantTypes: cc });
    auditor = await createClient(t, T1, {
      clientId: "auditor",
      allowedGrantTypes: cc,
      roles: ["token-admin"],
    });
    foreign = await createClient(t, T2, {
      clientId: "billing-api",
      allowedGrantTypes: cc,
      roles: ["token-admin"],
    });
    const user = await repos.users.create({ email: EMAIL, password: "" });
    userId = user.localId;
    await repos.memberships.put(T1, userId, ["COMPANY_EMPLOYEE"]);
  });

  const auth = (c: CreatedTestClient) => ({ headers: { authorization: basic(c.oauthClientId, c.secret) } });
  const introspect = (c: CreatedTestClient, token: string, path = "/oauth/introspect") =>
    t.form(path, { token }, auth(c));
  const revoke = (c: CreatedTestClient, token: string, path = "/oauth/revoke") =>
    t.form(path, { token }, auth(c));

  /** A user access token for `audience` from the legacy exchange (no client_id). */
  async function userToken(audience = "billing-api"): Promise<string> {
    const user = await t.app.services.repos.users.getById(userId);
    const { token: idToken } = await t.deps.idTokens.sign({
      sub: userId,
      email: EMAIL,
      role: "COMPANY_EMPLOYEE",
      amr: "pwd",
      ver: user?.tokenVersion ?? 0,
    });
    const res = await t.call("/accounts/token/exchange", { json: { idToken, audience, tenantId: T1 } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  /** A client-credentials token of `client` for `audience` (`sub` = `client_id`). */
  async function ccToken(client: CreatedTestClient, audience = "billing-api"): Promise<string> {
    const res = await t.form("/oauth/token", { grant_type: "client_credentials", audience }, auth(client));
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function expectInactive(res: Response): Promise<void> {
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ active: false });
  }

  async function active(res: Response): Promise<Record<string, unknown>> {
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.active).toBe(true);
    return body;
  }

  describe("POST /oauth/introspect", () => {
    it("the audience client sees a user token: the RFC 7662 members, username = the user's email", async () => {
      const token = await userToken();
      const claims = decodePart(token, 1);
      const res = await introspect(billing, token);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await active(res);
      expect(body).toEqual({
        active: true,
        iss: TEST_ISSUER,
        sub: userId,
        aud: "billing-api",
        tid: T1,
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        token_type: "Bearer",
        username: EMAIL,
      });
      // The /v1 alias behaves the same.
      await active(await introspect(billing, token, "/v1/oauth/introspect"));
    });

    it("the minting client sees its client-credentials token (client_id, no username)", async () => {
      const token = await ccToken(gateway);
      const body = await active(await introspect(gateway, token));
      expect(body).toMatchObject({
        sub: gateway.oauthClientId,
        client_id: gateway.oauthClientId,
        aud: "billing-api",
      });
      expect(body.username).toBeUndefined();
      // The audience client too.
      await active(await introspect(billing, token));
    });

    it("another client of the tenant learns nothing, unless its roles grant tikti:tokens:introspect", async () => {
      const token = await userToken();
      await expectInactive(await introspect(bystander, token));
      await active(await introspect(auditor, token));
    });

    it("another tenant's client learns nothing, even with the permission and the same clientId", async () => {
      const token = await userToken();
      await expectInactive(await introspect(foreign, token));
    });

    it("liveness as /accounts/validate: a version bump, a suspended user, a disabled issuing client", async () => {
      const { repos } = t.app.services;
      const userTok = await userToken();
      await active(await introspect(billing, userTok));
      await repos.users.mutate(userId, (u) => ({ ...u, tokenVersion: u.tokenVersion + 1 }));
      await expectInactive(await introspect(billing, userTok));

      // A token of the current version is live until the user is suspended.
      const current = await userToken();
      await active(await introspect(billing, current));
      await repos.users.mutate(userId, (u) => ({ ...u, status: "SUSPENDED" }));
      await expectInactive(await introspect(billing, current));

      const cc = await ccToken(gateway);
      await active(await introspect(billing, cc));
      await adminOk(
        t,
        `/tenants/${T1}/clients/gateway`,
        { type: "CONFIDENTIAL", allowedGrantTypes: ["client_credentials"], status: "DISABLED" },
        "PUT",
      );
      await expectInactive(await introspect(billing, cc));
    });

    it("expired, tampered, empty and foreign strings are inactive; a missing token is invalid_request", async () => {
      const token = await userToken();
      await expectInactive(await introspect(billing, `${token.slice(0, -6)}AAAAAA`));
      for (const junk of ["", "a.b.c", "rt_AAAA", "not a token"])
        await expectInactive(await introspect(billing, junk));
      t.clock.advance((3600 + 31) * 1000);
      await expectInactive(await introspect(billing, token));
      await expectOAuthError(await t.form("/oauth/introspect", {}, auth(billing)), 400, "invalid_request");
    });

    it("clients must authenticate: no credentials and a wrong secret are 401 invalid_client", async () => {
      const token = await userToken();
      await expectOAuthError(await t.form("/oauth/introspect", { token }), 401, "invalid_client");
      const wrong = await t.form(
        "/oauth/introspect",
        { token },
        { headers: { authorization: basic(billing.oauthClientId, "nope") } },
      );
      expect(wrong.headers.get("www-authenticate")).toBe('Basic realm="tikti"');
      await expectOAuthError(wrong, 401, "invalid_client");
      // client_secret_post works as well.
      await active(
        await t.form("/oauth/introspect", {
          token,
          client_id: billing.oauthClientId,
          client_secret: billing.secret,
        }),
      );
      // A JSON body is not a form.
      const json = await t.call("/oauth/introspect", {
        key: false,
        json: { token },
        headers: auth(billing).headers,
      });
      await expectOAuthError(json, 400, "invalid_request");
    });
  });

  describe("POST /oauth/revoke", () => {
    it("the audience client revokes: 200 with an empty body, then inactive, validate 'revoked', RFC 8693 refuses it", async () => {
      const token = await userToken();
      const jti = decodePart(token, 1).jti as string;
      // Before: the token is a valid RFC 8693 subject for its audience client (the negative below is not vacuous).
      const exchange = () =>
        t.form(
          "/oauth/token",
          { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE },
          auth(billing),
        );
      expect((await exchange()).status).toBe(200);

      const res = await revoke(billing, token);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.text()).toBe("");
      expect(await t.store.exists(keys.revokedJti(jti))).toBe(true);

      await expectInactive(await introspect(billing, token));
      await expectInactive(await introspect(auditor, token));
      const validate = await t.call("/accounts/validate", { json: { token, audience: "billing-api" } });
      expect([validate.status, ((await validate.json()) as { details: unknown }).details]).toEqual([
        401,
        { reason: "revoked" },
      ]);
      await expectOAuthError(await exchange(), 400, "invalid_grant");
    });

    it("the minting client revokes its client-credentials token", async () => {
      const token = await ccToken(gateway);
      expect((await revoke(gateway, token, "/v1/oauth/revoke")).status).toBe(200);
      await expectInactive(await introspect(billing, token));
    });

    it("anyone else's revocation answers 200 and changes nothing; the permission makes it count", async () => {
      const token = await userToken();
      expect((await revoke(bystander, token)).status).toBe(200);
      expect((await revoke(foreign, token)).status).toBe(200);
      await active(await introspect(billing, token));
      expect((await revoke(auditor, token)).status).toBe(200);
      await expectInactive(await introspect(billing, token));
    });

    it("junk, tampered and expired tokens answer 200 and write nothing; a missing token is invalid_request", async () => {
      const token = await userToken();
      for (const junk of ["", "a.b.c", "rt_AAAA", `${token.slice(0, -6)}AAAAAA`]) {
        expect((await revoke(billing, junk)).status).toBe(200);
      }
      t.clock.advance((3600 + 31) * 1000);
      expect((await revoke(billing, token)).status).toBe(200);
      const written: string[] = [];
      for await (const batch of t.store.scan("revokedJti:")) written.push(...batch);
      expect(written).toEqual([]);
      await expectOAuthError(await t.form("/oauth/revoke", {}, auth(billing)), 400, "invalid_request");
      await expectOAuthError(await t.form("/oauth/revoke", { token }), 401, "invalid_client");
    });
  });

  describe("service", () => {
    const caller = (tenantId: string, clientId: string, roles: string[] = []): OAuthCaller => ({
      oauthClientId: `${tenantId}/${clientId}`,
      tenantId,
      client: { clientId, roles },
    });

    it("revokeToken records the jti until exp + skew and reports whether it did", async () => {
      const svc = t.app.services.oauth.introspection;
      const token = await userToken();
      const { jti, exp } = decodePart(token, 1) as { jti: string; exp: number };
      expect(await svc.revokeToken(token, caller(T1, "bystander"), silentLogger)).toBe(false);
      expect(await svc.revokeToken(token, caller(T1, "billing-api"), silentLogger)).toBe(true);
      const pttl = await t.store.pttl(keys.revokedJti(jti));
      const until = (exp + 30) * 1000 - t.clock.now();
      expect(pttl).toBeGreaterThan(until - 5_000);
      expect(pttl).toBeLessThanOrEqual(until);
      // Revoking twice is harmless; introspection by the same caller is now inactive.
      expect(await svc.revokeToken(token, caller(T1, "billing-api"), silentLogger)).toBe(true);
      expect(await svc.introspectToken(token, caller(T1, "billing-api"), silentLogger)).toEqual({
        active: false,
      });
    });

    it("introspectToken: tenant before audience, audience before liveness (no store read reveals a foreign user)", async () => {
      const svc = t.app.services.oauth.introspection;
      const token = await userToken();
      expect((await svc.introspectToken(token, caller(T1, "billing-api"), silentLogger)).active).toBe(true);
      expect(
        await svc.introspectToken(token, caller(T2, "billing-api", ["token-admin"]), silentLogger),
      ).toEqual({
        active: false,
      });
    });
  });
});
