/**
 * POST /accounts/token/exchange (docs/spec/api.md §5.1): docs/spec/tokens.md §7 steps 1–5 and 14 (parsing,
 * procedure V, rate limit, tenant, TTL rules of docs/spec/tokens.md §3), the answer's status, headers and shape,
 * and the worked example verified with jose against the served JWKS. Steps 6–13 and revocation are proven on the
 * service: test/services/exchange.test.ts.
 */
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { forEachEngine, TEST_ISSUER, type TestApp } from "../support/app.ts";
import {
  buildExchangeApp,
  type Clock,
  EMAIL,
  type IdTokenOverrides,
  idToken as mintIdToken,
  type Setup,
  seed as seedUser,
  T1,
  T2,
  USER,
  WORKER,
} from "../support/exchange-fixture.ts";

const EXCHANGE = "/accounts/token/exchange";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

forEachEngine("POST /accounts/token/exchange", (engine) => {
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

  function exchange(body: Record<string, unknown>): Promise<Response> {
    return t.call(EXCHANGE, { json: body });
  }

  /** The worker request of docs/spec/tokens.md §7 (example), with overrides. */
  async function workerRequest(over: Record<string, unknown> = {}): Promise<Response> {
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

  async function expectError(
    res: Response,
    status: number,
    code: string,
    details?: Record<string, string>,
  ): Promise<void> {
    const body = (await res.json()) as { code: string; details?: Record<string, string> };
    expect({ status: res.status, code: body.code }).toEqual({ status, code });
    if (details) expect(body.details).toEqual(details);
    expect(res.headers.get("cache-control")).toBe("no-store");
  }

  /** The claims of an access token (signature checked by jose against the served JWKS). */
  async function claimsOf(res: Response): Promise<Record<string, unknown>> {
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accessToken: string };
    const jwks = (await (await t.call("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(body.accessToken, createLocalJWKSet(jwks), {
      issuer: TEST_ISSUER,
      algorithms: ["RS256"],
      currentDate: new Date(clock.now()),
    });
    return payload as Record<string, unknown>;
  }

  describe("happy path", () => {
    it("issues the worker token of the docs/spec/tokens.md §7 example, verified against the JWKS", async () => {
      await seed();
      const res = await workerRequest();
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const body = (await res.clone().json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(["accessToken", "expiresIn", "tokenType"]);
      expect(body.tokenType).toBe("Bearer");
      expect(body.expiresIn).toBe(1800);

      expect(decodeProtectedHeader(body.accessToken as string)).toEqual({
        alg: "RS256",
        typ: "JWT",
        kid: "test-key-1",
      });
      const claims = await claimsOf(res);
      const iat = Math.floor(clock.now() / 1000);
      expect(claims).toEqual({
        iss: TEST_ISSUER,
        aud: WORKER,
        sub: USER,
        email: EMAIL,
        tid: T1,
        scope: "codeq:claim codeq:result",
        eventTypes: ["render_video", "generate_master"],
        ver: 7,
        iat,
        exp: iat + 1800,
        jti: expect.stringMatching(UUID_V4),
      });
      // Claim order of docs/spec/tokens.md §3.
      expect(Object.keys(claims)).toEqual([
        "iss",
        "aud",
        "sub",
        "email",
        "tid",
        "scope",
        "eventTypes",
        "ver",
        "iat",
        "exp",
        "jti",
      ]);
    });

    it("is served under /v1 too", async () => {
      await seed();
      const res = await t.call(`/v1${EXCHANGE}`, {
        json: {
          idToken: await idToken(),
          audience: WORKER,
          tenantId: T1,
          eventTypes: ["render_video"],
        },
      });
      expect(res.status).toBe(200);
    });

    it("counts the exchange and writes a decision log without tokens or emails", async () => {
      await seed();
      const token = await idToken();
      const res = await workerRequest({ idToken: token });
      const accessToken = ((await res.json()) as { accessToken: string }).accessToken;
      expect(t.deps.metrics.tokenExchange.get({ result: "success", code: "OK" })).toBe(1);
      await exchange({ idToken: token, audience: "nope", tenantId: T1 });
      expect(t.deps.metrics.tokenExchange.get({ result: "failure", code: "INVALID_AUDIENCE" })).toBe(1);

      const decisions = logLines.filter((l) => l.msg === "token exchange");
      expect(decisions).toHaveLength(2);
      expect(decisions[0]).toMatchObject({
        userId: USER,
        tenantId: T1,
        audience: WORKER,
        scopes: ["codeq:claim", "codeq:result"],
        result: "success",
        code: "OK",
        requestId: expect.any(String),
      });
      expect(decisions[1]).toMatchObject({
        userId: USER,
        tenantId: T1,
        audience: "nope",
        scopes: [],
        result: "failure",
        code: "INVALID_AUDIENCE",
        reason: "client_not_found",
      });
      const all = JSON.stringify(logLines);
      for (const secret of [token, accessToken, EMAIL, token.split(".")[2]!, accessToken.split(".")[2]!]) {
        expect(all).not.toContain(secret);
      }
      expect((await t.call("/metrics")).status).toBe(200);
      expect(await (await t.call("/metrics")).text()).toContain(
        'tikti_token_exchange_total{code="OK",result="success"} 1',
      );
    });
  });

  describe("step 1: the body", () => {
    it("empty idToken → 401 INVALID_TOKEN (before the audience check)", async () => {
      await seed();
      await expectError(await exchange({ idToken: "", audience: "" }), 401, "INVALID_TOKEN");
      expect(t.deps.metrics.authFail.get({ route: EXCHANGE, code: "INVALID_TOKEN" })).toBe(1);
    });

    it("empty audience → 400 INVALID_AUDIENCE, reason missing", async () => {
      await seed();
      await expectError(await exchange({ idToken: await idToken(), audience: "" }), 400, "INVALID_AUDIENCE", {
        reason: "missing",
      });
    });

    it("missing fields and wrong types → 400 INVALID_REQUEST", async () => {
      await seed();
      const token = await idToken();
      await expectError(await exchange({ audience: WORKER }), 400, "INVALID_REQUEST");
      await expectError(await exchange({ idToken: token }), 400, "INVALID_REQUEST");
      await expectError(
        await exchange({ idToken: token, audience: WORKER, scopes: "a" }),
        400,
        "INVALID_REQUEST",
      );
      await expectError(
        await exchange({ idToken: token, audience: WORKER, eventTypes: [1] }),
        400,
        "INVALID_REQUEST",
      );
      await expectError(await exchange({ idToken: 5, audience: WORKER }), 400, "INVALID_REQUEST");
    });

    it("grammar failures → 400 INVALID_ARGUMENT naming the field", async () => {
      await seed();
      const token = await idToken();
      const res = await exchange({ idToken: token, audience: WORKER, scopes: ["codeq:claim", "bad scope"] });
      const body = (await res.json()) as { code: string; details: Record<string, string> };
      expect(res.status).toBe(400);
      expect(body.code).toBe("INVALID_ARGUMENT");
      expect(Object.keys(body.details)).toEqual(["scopes.1"]);
      await expectError(
        await exchange({
          idToken: token,
          audience: WORKER,
          scopes: Array.from({ length: 101 }, (_, i) => `s${i}`),
        }),
        400,
        "INVALID_ARGUMENT",
      );
      await expectError(await exchange({ idToken: token, audience: "a b" }), 400, "INVALID_ARGUMENT");
      await expectError(
        await exchange({ idToken: token, audience: WORKER, subject: "has space" }),
        400,
        "INVALID_ARGUMENT",
      );
      await expectError(
        await exchange({ idToken: token, audience: WORKER, eventTypes: [" in side "] }),
        400,
        "INVALID_ARGUMENT",
      );
    });

    it("null optional fields read as absent", async () => {
      await seed();
      const res = await exchange({
        idToken: await idToken(),
        audience: WORKER,
        tenantId: null,
        scopes: null,
        eventTypes: ["render_video"],
        ttlSeconds: null,
        subject: null,
      });
      const claims = await claimsOf(res);
      expect(claims.tid).toBe(T1); // the only membership
      expect(claims.scope).toBe("codeq:claim codeq:result codeq:subscribe");
    });
  });

  describe("step 2: procedure V", () => {
    it("a bad token → 401 INVALID_TOKEN", async () => {
      await seed();
      const good = await idToken();
      const [h, p, s] = good.split(".") as [string, string, string];
      const tampered = `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`;
      for (const bad of ["garbage", "a.b.c", tampered, await idToken({ ver: 6 })]) {
        await expectError(await workerRequest({ idToken: bad }), 401, "INVALID_TOKEN");
      }
      const line = logLines.find((l) => l.msg === "token exchange");
      expect(line).toMatchObject({ result: "failure", code: "INVALID_TOKEN", expectedIss: TEST_ISSUER });
    });

    it("an expired idToken → 401 INVALID_TOKEN", async () => {
      await seed();
      const token = await idToken();
      clock.advance((3600 + 31) * 1000);
      await expectError(await workerRequest({ idToken: token }), 401, "INVALID_TOKEN");
    });

    it("a verified token whose user is gone → 404 USER_NOT_FOUND", async () => {
      await seed();
      const token = await idToken();
      await t.app.services.repos.users.delete(USER);
      await expectError(await workerRequest({ idToken: token }), 404, "USER_NOT_FOUND");
    });
  });

  describe("step 3: rate limit", () => {
    it("exchangeUser limits per user after verification → 429 with Retry-After", async () => {
      await build({ rateLimits: { exchangeUser: { limit: 2, windowSeconds: 60 } } });
      await seed();
      expect((await workerRequest()).status).toBe(200);
      expect((await workerRequest()).status).toBe(200);
      const limited = await workerRequest();
      await expectError(limited, 429, "RATE_LIMITED");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // Step 2 comes first: a bad token is still 401, and the limit holds even for a later failure.
      await expectError(await workerRequest({ idToken: "x.y.z" }), 401, "INVALID_TOKEN");
      await expectError(await workerRequest({ tenantId: "nope" }), 429, "RATE_LIMITED");
    });
  });

  describe("step 4: choosing the tenant", () => {
    it("no tenantId, no tid and no membership → 400 TENANT_REQUIRED", async () => {
      await seed({ memberships: {} });
      await expectError(
        await exchange({ idToken: await idToken(), audience: WORKER, eventTypes: ["x"] }),
        400,
        "TENANT_REQUIRED",
      );
    });

    it("no tenantId, no tid and two memberships → 400 TENANT_REQUIRED", async () => {
      await seed({ memberships: { [T1]: ["COMPANY_EMPLOYEE"], [T2]: ["COMPANY_EMPLOYEE"] } });
      await expectError(
        await exchange({ idToken: await idToken(), audience: WORKER, eventTypes: ["x"] }),
        400,
        "TENANT_REQUIRED",
      );
    });

    it("the token's tid is used when the body has none; the body tenantId wins over it", async () => {
      await seed({ memberships: { [T1]: ["COMPANY_EMPLOYEE"], [T2]: ["COMPANY_EMPLOYEE"] } });
      await t.app.services.repos.clients.create(T2, { clientId: WORKER, secretHash: "" });
      const token = await idToken({ tid: T2 });
      const viaTid = await claimsOf(await exchange({ idToken: token, audience: WORKER, eventTypes: ["x"] }));
      expect(viaTid.tid).toBe(T2);
      const viaBody = await claimsOf(
        await exchange({ idToken: token, audience: WORKER, tenantId: T1, eventTypes: ["x"] }),
      );
      expect(viaBody.tid).toBe(T1);
      const emptyBody = await claimsOf(
        await exchange({ idToken: token, audience: WORKER, tenantId: "", eventTypes: ["x"] }),
      );
      expect(emptyBody.tid).toBe(T2);
    });
  });

  describe("step 5: the tenant", () => {
    it("a malformed tenant id → 400 INVALID_TENANT", async () => {
      await seed();
      await expectError(await workerRequest({ tenantId: "bad tenant!" }), 400, "INVALID_TENANT");
      await expectError(await workerRequest({ tenantId: "x".repeat(129) }), 400, "INVALID_TENANT");
    });

    it("an absent tenant → 400 INVALID_TENANT", async () => {
      await seed();
      await expectError(await workerRequest({ tenantId: "tenant-9" }), 400, "INVALID_TENANT");
    });

    it("a DISABLED tenant → 400 INVALID_TENANT; as the token's tid → 401 INVALID_TOKEN", async () => {
      await seed();
      await t.app.services.repos.tenants.setStatus(T1, "DISABLED");
      await expectError(await workerRequest(), 400, "INVALID_TENANT");
      // docs/spec/api.md §2.11.4: a token whose tid names a DISABLED tenant is itself rejected.
      await expectError(await workerRequest({ idToken: await idToken({ tid: T1 }) }), 401, "INVALID_TOKEN");
    });
  });

  describe("step 14: TTL", () => {
    async function ttlOf(over: Record<string, unknown>): Promise<number> {
      const res = await workerRequest(over);
      const body = (await res.clone().json()) as { expiresIn: number };
      const claims = await claimsOf(res);
      expect((claims.exp as number) - (claims.iat as number)).toBe(body.expiresIn);
      return body.expiresIn;
    }

    it("absent, 0 or negative → accessTokenTtlSeconds", async () => {
      await seed();
      expect(await ttlOf({ ttlSeconds: undefined })).toBe(3600);
      expect(await ttlOf({ ttlSeconds: 0 })).toBe(3600);
      expect(await ttlOf({ ttlSeconds: -5 })).toBe(3600);
    });

    it("capped at maxAccessTokenTtlSeconds", async () => {
      await build({ accessTokenTtlSeconds: 600, maxAccessTokenTtlSeconds: 7200 });
      await seed();
      expect(await ttlOf({ ttlSeconds: undefined })).toBe(600);
      expect(await ttlOf({ ttlSeconds: 100_000 })).toBe(7200);
      expect(await ttlOf({ ttlSeconds: 1e300 })).toBe(7200);
    });

    it("capped at the client's maxTtlSeconds", async () => {
      await seed({ client: { maxTtlSeconds: 300 } });
      expect(await ttlOf({ ttlSeconds: 1800 })).toBe(300);
      expect(await ttlOf({ ttlSeconds: 120 })).toBe(120);
      expect(await ttlOf({ ttlSeconds: undefined })).toBe(300);
    });

    it("a non-integer ttlSeconds → 400 INVALID_REQUEST", async () => {
      await seed();
      await expectError(await workerRequest({ ttlSeconds: 1.5 }), 400, "INVALID_REQUEST");
      await expectError(await workerRequest({ ttlSeconds: "60" }), 400, "INVALID_REQUEST");
    });
  });

  describe("concurrent reads keep the step order", () => {
    it("an earlier step's failure wins over a later read's corruption", async () => {
      await seed({ memberships: {}, client: null });
      // Corrupt membership, client and role values: reading them alone would answer 500.
      await t.store.hset(keys.memberships("tenant-9"), USER, "{bad");
      await t.store.hset(keys.clients("tenant-9"), WORKER, "{bad");
      await expectError(await workerRequest({ tenantId: "tenant-9" }), 400, "INVALID_TENANT");
      await t.store.hset(keys.clients(T1), WORKER, "{bad");
      await t.store.hset(keys.roles(T1), "COMPANY_EMPLOYEE", "{bad");
      await expectError(await workerRequest(), 403, "TENANT_ACCESS_DENIED");
      // With the membership in place the corrupt client is reached: 500 without details.
      await t.app.services.repos.memberships.put(T1, USER, ["COMPANY_EMPLOYEE"]);
      const res = await workerRequest();
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: "internal error", code: "INTERNAL" });
    });
  });

  it("needs the API key", async () => {
    await seed();
    const res = await t.call(EXCHANGE, { json: { idToken: "", audience: "" }, key: false });
    await expectError(res, 401, "API_KEY_INVALID");
  });
});
