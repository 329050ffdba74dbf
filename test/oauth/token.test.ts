/**
 * `POST /oauth/token` (docs/spec/oauth.md §4): every row of the client_credentials and RFC 8693 step
 * tables, the token shapes (`typ: at+jwt`, `client_id`, nested `act`), the response rules of §4.3,
 * `/accounts/validate` on OAuth-issued tokens (docs/spec/tokens.md §4.3 step 6), and the decision log, audit
 * record and metric of every request — on the embedded store and a real Redis.
 */
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { forEachEngine, TEST_ISSUER } from "../support/app.ts";
import {
  ACCESS_TOKEN_TYPE,
  adminOk,
  basic,
  buildOAuthApp,
  createClient,
  createTenant,
  expectOAuthError,
  ID_TOKEN_TYPE,
  type OAuthTestApp,
  T1,
  T2,
  TOKEN_EXCHANGE,
} from "./support.ts";

const TOKEN = "/oauth/token";
const USER = "user-1";
const EMAIL = "alice@example.com";
const ACTOR = "user-2";
const ACTOR_EMAIL = "bob@example.com";
const SID = "0123456789abcdef0123456789abcdef";

forEachEngine("POST /oauth/token", (engine) => {
  let t: OAuthTestApp;
  let worker: { oauthClientId: string; secret: string };
  let backend: { oauthClientId: string; secret: string };

  beforeEach(async () => {
    t = await buildOAuthApp(engine);
    await createTenant(t, T1);
    await createTenant(t, T2);
    await adminOk(t, `/tenants/${T1}/roles`, { name: "reader", permissions: ["docs:read", "docs:list"] });
    await adminOk(t, `/tenants/${T1}/roles`, { name: "delegator", permissions: ["tikti:tokens:delegate"] });
    worker = await createClient(t, T1, {
      clientId: "worker",
      allowedGrantTypes: ["client_credentials"],
      roles: ["reader"],
      maxTtlSeconds: 1200,
    });
    await createClient(t, T1, {
      clientId: "docs-api",
      defaultScopes: ["docs:read", "docs:list", "docs:write"],
    });
    backend = await createClient(t, T1, {
      clientId: "backend",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: ["docs:read", "docs:list"],
    });
    const { repos } = t.app.services;
    await repos.users.create({
      localId: USER,
      email: EMAIL,
      password: "",
      role: "COMPANY_EMPLOYEE",
      tokenVersion: 3,
    });
    await repos.users.create({ localId: ACTOR, email: ACTOR_EMAIL, password: "", role: "COMPANY_EMPLOYEE" });
    await repos.memberships.put(T1, USER, ["reader"]);
  });

  const asWorker = (params: Record<string, string>) =>
    t.form(
      TOKEN,
      { grant_type: "client_credentials", ...params },
      {
        headers: { authorization: basic(worker.oauthClientId, worker.secret) },
      },
    );
  const asBackend = (params: Record<string, string>) =>
    t.form(
      TOKEN,
      { grant_type: TOKEN_EXCHANGE, ...params },
      {
        headers: { authorization: basic(backend.oauthClientId, backend.secret) },
      },
    );

  async function idToken(
    over: { sub?: string; email?: string; ver?: number; tid?: string; saml?: boolean } = {},
  ) {
    const saml = over.saml ?? false;
    const signed = await t.deps.idTokens.sign({
      sub: over.sub ?? USER,
      email: over.email ?? EMAIL,
      role: "COMPANY_EMPLOYEE",
      amr: saml ? "saml" : "pwd",
      ver: over.ver ?? (over.sub === ACTOR ? 0 : 3),
      ...(over.tid ? { tid: over.tid } : {}),
      ...(saml ? { sid: SID } : {}),
    });
    return signed.token;
  }

  async function verify(token: string, audience: string) {
    const jwks = (await (await t.call("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: TEST_ISSUER, audience, typ: "at+jwt" });
  }

  async function subjectExchange(params: Record<string, string> = {}) {
    return asBackend({ subject_token: await idToken(), subject_token_type: ID_TOKEN_TYPE, ...params });
  }

  describe("§4.1 client_credentials", () => {
    it("issues an at+jwt for the client itself: sub = client_id = OAuth client id, no email/ver", async () => {
      const res = await asWorker({ audience: "docs-api", scope: "docs:read" });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
      expect(body.token_type).toBe("Bearer");
      expect(body.expires_in).toBe(1200); // the client's own maxTtlSeconds caps 3600
      const { payload, protectedHeader } = await verify(body.access_token, "docs-api");
      expect(protectedHeader).toEqual({ alg: "RS256", typ: "at+jwt", kid: "test-key-1" });
      expect(Object.keys(payload)).toEqual([
        "iss",
        "aud",
        "sub",
        "client_id",
        "tid",
        "scope",
        "iat",
        "exp",
        "jti",
      ]);
      expect(payload).toMatchObject({
        sub: "acme/worker",
        client_id: "acme/worker",
        aud: "docs-api",
        tid: T1,
        scope: "docs:read",
      });
      expect((payload.exp as number) - (payload.iat as number)).toBe(1200);
    });

    it("step 1: a client without client_credentials in allowedGrantTypes is unauthorized_client", async () => {
      const res = await t.form(
        TOKEN,
        { grant_type: "client_credentials" },
        {
          headers: { authorization: basic(backend.oauthClientId, backend.secret) },
        },
      );
      await expectOAuthError(res, 400, "unauthorized_client");
    });

    it("step 2: audience defaults to the client; unknown, inactive, other-tenant audiences are invalid_target", async () => {
      await adminOk(
        t,
        `/tenants/${T1}/clients/worker`,
        { allowedGrantTypes: ["client_credentials"], roles: ["reader"], defaultScopes: ["docs:read"] },
        "PUT",
      );
      const own = await asWorker({});
      expect(own.status).toBe(200);
      const { payload } = await verify((await own.json()).access_token, "worker");
      expect(payload.aud).toBe("worker");
      await createClient(t, T2, { clientId: "elsewhere" });
      await createClient(t, T1, { clientId: "off" });
      await adminOk(t, `/tenants/${T1}/clients/off`, { status: "DISABLED" }, "PUT");
      for (const audience of ["ghost", "elsewhere", "off", "bad audience"]) {
        await expectOAuthError(await asWorker({ audience }), 400, "invalid_target");
      }
    });

    it("step 3: scope defaults to the audience's defaultScopes; bad grammar is invalid_scope", async () => {
      await adminOk(t, `/tenants/${T1}/roles`, {
        name: "reader",
        permissions: ["docs:read", "docs:list", "docs:write"],
      });
      const res = await asWorker({ audience: "docs-api" });
      const body = await res.json();
      expect(body.scope).toBe("docs:read docs:list docs:write"); // none requested → scope present
      await expectOAuthError(
        await asWorker({ audience: "docs-api", scope: "docs:read b@d!" }),
        400,
        "invalid_scope",
      );
    });

    it("step 4: above the audience's ceiling or outside P_c is invalid_scope; deduplicated, no scope when as asked", async () => {
      await expectOAuthError(
        await asWorker({ audience: "docs-api", scope: "docs:admin" }),
        400,
        "invalid_scope",
      );
      await expectOAuthError(
        await asWorker({ audience: "docs-api", scope: "docs:write" }),
        400,
        "invalid_scope",
      );
      const ok = await asWorker({ audience: "docs-api", scope: "docs:list  docs:read docs:list" });
      const okBody = await ok.json();
      expect(okBody.scope).toBeUndefined(); // granted = the (deduplicated) request
      expect((await verify(okBody.access_token, "docs-api")).payload.scope).toBe("docs:list docs:read");
      const exact = await (await asWorker({ audience: "docs-api", scope: "docs:read" })).json();
      expect(exact.scope).toBeUndefined();
      // a client without roles holds nothing: P_c = {}
      await adminOk(t, `/tenants/${T1}/clients/worker`, { allowedGrantTypes: ["client_credentials"] }, "PUT");
      await expectOAuthError(
        await asWorker({ audience: "docs-api", scope: "docs:read" }),
        400,
        "invalid_scope",
      );
    });

    it("step 5: event_types follow docs/spec/tokens.md §7 step 12 (required audience → invalid_request; ceiling → invalid_scope)", async () => {
      await createClient(t, T1, { clientId: "codeq-worker", allowedEventTypes: ["render_video"] });
      await expectOAuthError(await asWorker({ audience: "codeq-worker" }), 400, "invalid_request");
      await expectOAuthError(
        await asWorker({ audience: "codeq-worker", event_types: "other" }),
        400,
        "invalid_scope",
      );
      const ok = await asWorker({ audience: "codeq-worker", event_types: "render_video render_video" });
      const { payload } = await verify((await ok.json()).access_token, "codeq-worker");
      expect(payload.eventTypes).toEqual(["render_video"]);
      expect(payload.scope).toBeUndefined();
    });

    it("step 6: TTL is accessTokenTtlSeconds capped by both clients' maxTtlSeconds", async () => {
      await adminOk(
        t,
        `/tenants/${T1}/clients/docs-api`,
        { defaultScopes: ["docs:read"], maxTtlSeconds: 300 },
        "PUT",
      );
      const body = await (await asWorker({ audience: "docs-api" })).json();
      expect(body.expires_in).toBe(300);
    });

    it("answers unsupported_grant_type for password, refresh_token, authorization_code and unknown grants", async () => {
      for (const grant of ["password", "refresh_token", "authorization_code", "urn:x"]) {
        await expectOAuthError(await asWorker({ grant_type: grant }), 400, "unsupported_grant_type");
      }
    });

    it("/accounts/validate accepts the token while the client is ACTIVE, then answers client_inactive", async () => {
      const token = (await (await asWorker({ audience: "docs-api", scope: "docs:read" })).json())
        .access_token;
      const ok = await t.call("/accounts/validate", { json: { token, audience: "docs-api" } });
      expect(ok.status).toBe(200);
      expect((await ok.json()).client_id).toBe("acme/worker");
      await adminOk(
        t,
        `/tenants/${T1}/clients/worker`,
        { allowedGrantTypes: ["client_credentials"], status: "DISABLED" },
        "PUT",
      );
      const off = await t.call("/accounts/validate", { json: { token, audience: "docs-api" } });
      expect(off.status).toBe(401);
      expect((await off.json()).details).toEqual({ reason: "client_inactive" });
    });

    it("writes one decision log line, one audit record and one metric per request", async () => {
      const before = t.auditLines.length;
      await asWorker({ audience: "docs-api", scope: "docs:read" });
      await asWorker({ audience: "ghost" });
      await t.form(TOKEN, { grant_type: "client_credentials", client_id: "acme/worker", client_secret: "x" });
      const audits = t.auditLines.slice(before).map((l) => JSON.parse(l));
      expect(audits.map((a) => [a.event, a.grant, a.result, a.actor])).toEqual([
        ["oauth.token", "client_credentials", "success", "client:acme/worker"],
        ["oauth.token", "client_credentials", "invalid_target", "client:acme/worker"],
        ["oauth.token", "other", "invalid_client", "anonymous"],
      ]);
      expect(audits[0]).toMatchObject({
        tenantId: T1,
        subject: "acme/worker",
        audience: "docs-api",
        scopes: ["docs:read"],
        outcome: "success",
      });
      const lines = t.logLines.filter((l) => l.msg === "oauth token");
      expect(lines).toHaveLength(3);
      expect(JSON.stringify(lines)).not.toContain(worker.secret);
      const metrics = await (await t.call("/metrics", { key: false })).text();
      expect(metrics).toContain(
        'tikti_oauth_token_requests_total{grant="client_credentials",result="success"} 1',
      );
      expect(metrics).toContain(
        'tikti_oauth_token_requests_total{grant="client_credentials",result="invalid_target"} 1',
      );
    });
  });

  describe("§4.2 token exchange (RFC 8693)", () => {
    it("trades an idToken for an at+jwt of the subject with client_id and issued_token_type", async () => {
      const res = await subjectExchange({ audience: "docs-api", scope: "docs:read" });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({
        access_token: expect.any(String),
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: 3600,
      });
      const { payload, protectedHeader } = await verify(body.access_token, "docs-api");
      expect(protectedHeader.typ).toBe("at+jwt");
      expect(payload).toMatchObject({
        sub: USER,
        client_id: "acme/backend",
        email: EMAIL,
        tid: T1,
        ver: 3,
        scope: "docs:read",
      });
      expect(payload.act).toBeUndefined();
      const validated = await t.call("/accounts/validate", {
        json: { token: body.access_token, audience: "docs-api" },
      });
      expect(validated.status).toBe(200);
    });

    it("step 1: the grant must be listed (an empty list allows only the legacy route)", async () => {
      const legacy = await createClient(t, T1, { clientId: "legacy", allowedGrantTypes: [] });
      const res = await t.form(
        TOKEN,
        { grant_type: TOKEN_EXCHANGE, subject_token: await idToken(), subject_token_type: ID_TOKEN_TYPE },
        {
          headers: { authorization: basic(legacy.oauthClientId, legacy.secret) },
        },
      );
      await expectOAuthError(res, 400, "unauthorized_client");
    });

    it("step 2: subject_token and its type are required; other types are invalid_request; bad tokens invalid_grant", async () => {
      await expectOAuthError(await asBackend({ subject_token_type: ID_TOKEN_TYPE }), 400, "invalid_request");
      await expectOAuthError(await asBackend({ subject_token: await idToken() }), 400, "invalid_request");
      await expectOAuthError(
        await asBackend({
          subject_token: await idToken(),
          subject_token_type: "urn:ietf:params:oauth:token-type:saml2",
        }),
        400,
        "invalid_request",
      );
      await expectOAuthError(
        await asBackend({ subject_token: "x.y.z", subject_token_type: ID_TOKEN_TYPE }),
        400,
        "invalid_grant",
      );
      await expectOAuthError(
        await asBackend({ subject_token: await idToken({ ver: 2 }), subject_token_type: ID_TOKEN_TYPE }),
        400,
        "invalid_grant",
      );
      await expectOAuthError(
        await asBackend({
          subject_token: await idToken({ sub: "ghost", email: "ghost@example.com" }),
          subject_token_type: ID_TOKEN_TYPE,
        }),
        400,
        "invalid_grant",
      );
    });

    it("step 2: an access-token subject must be addressed to the exchanging client and of its tenant", async () => {
      const toBackend = (await (await subjectExchange({ audience: "backend", scope: "docs:read" })).json())
        .access_token;
      const toDocs = (await (await subjectExchange({ audience: "docs-api", scope: "docs:read" })).json())
        .access_token;
      await expectOAuthError(
        await asBackend({
          subject_token: toDocs,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: "docs-api",
        }),
        400,
        "invalid_grant",
      );
      const ok = await asBackend({
        subject_token: toBackend,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: "docs-api",
      });
      expect(ok.status).toBe(200);
      const { payload } = await verify((await ok.json()).access_token, "docs-api");
      expect(payload).toMatchObject({ sub: USER, scope: "docs:read", client_id: "acme/backend" });
      // revoking the user's tokens (version bump) kills the access-token subject too
      await t.app.services.repos.users.mutate(USER, withTokenVersionBump);
      await expectOAuthError(
        await asBackend({
          subject_token: toBackend,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: "docs-api",
        }),
        400,
        "invalid_grant",
      );
    });

    it("step 3: the subject needs a membership in T (no ADMIN exemption); a SAML idToken must carry tid = T", async () => {
      await t.app.services.repos.users.create({
        localId: "admin-1",
        email: "root@example.com",
        password: "",
        role: "ADMIN",
      });
      const admin = await t.deps.idTokens.sign({
        sub: "admin-1",
        email: "root@example.com",
        role: "ADMIN",
        amr: "pwd",
        ver: 0,
      });
      await expectOAuthError(
        await asBackend({ subject_token: admin.token, subject_token_type: ID_TOKEN_TYPE }),
        400,
        "invalid_grant",
      );
      await t.store.set(keys.samlSession(SID), JSON.stringify({ userId: USER, tenantId: T2, nameId: "n" }));
      await t.app.services.repos.memberships.put(T2, USER, []);
      const saml = await idToken({ saml: true, tid: T2 });
      await expectOAuthError(
        await asBackend({ subject_token: saml, subject_token_type: ID_TOKEN_TYPE }),
        400,
        "invalid_grant",
      );
    });

    it("step 4: actor_token needs tikti:tokens:delegate in T and nests act chains (current actor outermost)", async () => {
      const actorToken = await idToken({ sub: ACTOR, email: ACTOR_EMAIL });
      const withActor = (subject: string, type = ID_TOKEN_TYPE, extra: Record<string, string> = {}) =>
        asBackend({
          subject_token: subject,
          subject_token_type: type,
          actor_token: actorToken,
          actor_token_type: ID_TOKEN_TYPE,
          audience: "backend",
          scope: "docs:read",
          ...extra,
        });
      await expectOAuthError(await withActor(await idToken()), 400, "invalid_grant"); // not a member
      await t.app.services.repos.memberships.put(T1, ACTOR, ["reader"]);
      await expectOAuthError(await withActor(await idToken()), 400, "invalid_grant"); // no delegate permission
      await t.app.services.repos.memberships.put(T1, ACTOR, ["reader", "delegator"]);
      const first = await withActor(await idToken());
      expect(first.status).toBe(200);
      const firstToken = (await first.json()).access_token;
      expect((await verify(firstToken, "backend")).payload.act).toEqual({ sub: ACTOR });
      // without actor_token the subject token's act is copied unchanged
      const copied = await asBackend({
        subject_token: firstToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: "docs-api",
      });
      expect((await verify((await copied.json()).access_token, "docs-api")).payload.act).toEqual({
        sub: ACTOR,
      });
      // a second actor nests the chain: {sub: new, act: {sub: previous}}
      await t.app.services.repos.users.create({
        localId: "user-3",
        email: "carol@example.com",
        password: "",
        role: "COMPANY_EMPLOYEE",
      });
      await t.app.services.repos.memberships.put(T1, "user-3", ["delegator"]);
      const carol = await idToken({ sub: "user-3", email: "carol@example.com", ver: 0 });
      const nested = await asBackend({
        subject_token: firstToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: carol,
        actor_token_type: ID_TOKEN_TYPE,
        audience: "docs-api",
      });
      const nestedClaims = (await verify((await nested.json()).access_token, "docs-api")).payload;
      expect(nestedClaims.act).toEqual({ sub: "user-3", act: { sub: ACTOR } });
      expect(
        (
          await t.call("/accounts/validate", {
            json: {
              token: (
                await asBackend({
                  subject_token: firstToken,
                  subject_token_type: ACCESS_TOKEN_TYPE,
                  audience: "docs-api",
                }).then((r) => r.json())
              ).access_token,
              audience: "docs-api",
            },
          })
        ).status,
      ).toBe(200);
      // actor_token without its type is invalid_request
      await expectOAuthError(
        await asBackend({
          subject_token: await idToken(),
          subject_token_type: ID_TOKEN_TYPE,
          actor_token: actorToken,
        }),
        400,
        "invalid_request",
      );
      // a deactivated actor makes the delegated token fail validation
      await t.app.services.repos.users.mutate(ACTOR, (u) => ({ ...u, status: "SUSPENDED" }));
      const v = await t.call("/accounts/validate", { json: { token: firstToken, audience: "backend" } });
      expect((await v.json()).details).toEqual({ reason: "user_inactive" });
    });

    it("step 5: audience defaults to the client; unknown or grant-less audiences are invalid_target", async () => {
      const res = await subjectExchange({ scope: "docs:read" });
      expect((await verify((await res.json()).access_token, "backend")).payload.aud).toBe("backend");
      await createClient(t, T1, { clientId: "cc-only", allowedGrantTypes: ["client_credentials"] });
      await expectOAuthError(await subjectExchange({ audience: "ghost" }), 400, "invalid_target");
      await expectOAuthError(await subjectExchange({ audience: "cc-only" }), 400, "invalid_target");
    });

    it("step 6: scopes bounded by the ceiling, P, and for access-token subjects by their own scope", async () => {
      await expectOAuthError(
        await subjectExchange({ audience: "docs-api", scope: "docs:write" }),
        400,
        "invalid_scope",
      );
      await expectOAuthError(
        await subjectExchange({ audience: "docs-api", scope: "docs:admin" }),
        400,
        "invalid_scope",
      );
      const dflt = await (await subjectExchange({ audience: "backend" })).json();
      expect(dflt.scope).toBe("docs:read docs:list");
      const narrow = (await (await subjectExchange({ audience: "backend", scope: "docs:read" })).json())
        .access_token;
      await expectOAuthError(
        await asBackend({
          subject_token: narrow,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: "docs-api",
          scope: "docs:list",
        }),
        400,
        "invalid_scope",
      );
      const inherit = await (
        await asBackend({
          subject_token: narrow,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: "docs-api",
        })
      ).json();
      expect(inherit.scope).toBe("docs:read");
    });

    it("step 7: event_types per docs/spec/tokens.md §7 step 12", async () => {
      await createClient(t, T1, { clientId: "codeq-worker", allowedEventTypes: ["render_video"] });
      await expectOAuthError(await subjectExchange({ audience: "codeq-worker" }), 400, "invalid_request");
      await expectOAuthError(
        await subjectExchange({ audience: "codeq-worker", event_types: "nope" }),
        400,
        "invalid_scope",
      );
      expect((await subjectExchange({ audience: "codeq-worker", event_types: "render_video" })).status).toBe(
        200,
      );
    });

    it("step 8: requested_token_type access_token or jwt only", async () => {
      expect(
        (await subjectExchange({ requested_token_type: "urn:ietf:params:oauth:token-type:jwt" })).status,
      ).toBe(200);
      expect((await subjectExchange({ requested_token_type: ACCESS_TOKEN_TYPE })).status).toBe(200);
      await expectOAuthError(
        await subjectExchange({ requested_token_type: ID_TOKEN_TYPE }),
        400,
        "invalid_request",
      );
    });

    it("step 9: exchangeUser limits the subject user; TTL capped by the subject token's remaining life", async () => {
      const short = (await (await subjectExchange({ audience: "backend", scope: "docs:read" })).json())
        .access_token;
      t.clock.advance(3000_000);
      const res = await (
        await asBackend({ subject_token: short, subject_token_type: ACCESS_TOKEN_TYPE, audience: "docs-api" })
      ).json();
      expect(res.expires_in).toBeLessThanOrEqual(600);
      expect(res.expires_in).toBeGreaterThan(590);
      const small = await buildOAuthApp(engine, {
        rateLimits: { exchangeUser: { limit: 1, windowSeconds: 60 } },
      });
      await createTenant(small, T1);
      const b = await createClient(small, T1, { clientId: "b", allowedGrantTypes: ["token_exchange"] });
      await small.app.services.repos.users.create({
        localId: USER,
        email: EMAIL,
        password: "",
        role: "COMPANY_EMPLOYEE",
      });
      await small.app.services.repos.memberships.put(T1, USER, []);
      const tok = (
        await small.deps.idTokens.sign({
          sub: USER,
          email: EMAIL,
          role: "COMPANY_EMPLOYEE",
          amr: "pwd",
          ver: 0,
        })
      ).token;
      const go = () =>
        small.form(TOKEN, {
          grant_type: TOKEN_EXCHANGE,
          subject_token: tok,
          subject_token_type: ID_TOKEN_TYPE,
          client_id: b.oauthClientId,
          client_secret: b.secret,
        });
      expect((await go()).status).toBe(200);
      await expectOAuthError(await go(), 429, "temporarily_unavailable");
    });
  });
});
