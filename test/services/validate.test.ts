/**
 * The validate service (docs/spec/tokens.md §4.3), called as `services.validate` built by
 * `createServices`, without HTTP: one test per reason of steps 1–9 and the tenant binding
 * (docs/spec/api.md §6.3). The route's status, headers, body parsing and metric are proven by
 * test/http/validate.test.ts; here every refusal is the TiktiError the route would answer with.
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { VerifiedAccessTokenClaims } from "../../src/crypto/access-token.ts";
import { isTiktiError } from "../../src/errors.ts";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { forEachEngine, type manualClock, TEST_ISSUER, type TestApp } from "../support/app.ts";
import { generateRsaPem } from "../support/keys.ts";
import {
  claims as accessClaims,
  b64url,
  buildValidateApp,
  EMAIL,
  forge,
  token as forgeToken,
  KID,
  signIdToken,
  T1,
  USER,
  WORKER,
} from "../support/validate-fixture.ts";

forEachEngine("validate service", (engine) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let pem: string;
  let logLines: Record<string, unknown>[];
  let now: number;

  beforeEach(async () => {
    ({ t, clock, pem, logLines, now } = await buildValidateApp(engine));
  });

  const claims = (over?: Record<string, unknown>) => accessClaims(now, over);
  const token = (over?: Record<string, unknown>, header?: object) => forgeToken(pem, now, over, header);

  function validate(
    tokenText: string,
    audience = WORKER,
    tenantId?: string,
  ): Promise<VerifiedAccessTokenClaims> {
    return t.app.services.validate.validate({ token: tokenText, audience, tenantId }, t.deps.logger);
  }

  /** The refusal the route answers as 401 INVALID_TOKEN with `details.reason`. */
  async function expectReason(attempt: Promise<unknown>, reason: string): Promise<void> {
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isTiktiError(err)) throw new Error(`expected INVALID_TOKEN (${reason}), got ${String(err)}`);
    expect(err.status).toBe(401);
    expect(err.toBody()).toEqual({ error: "invalid token", code: "INVALID_TOKEN", details: { reason } });
  }

  async function exchangeToken(idTokenVer = 3): Promise<{ idToken: string; accessToken: string }> {
    const idToken = await signIdToken(t, idTokenVer);
    const result = await t.app.services.exchange.exchange(
      { idToken, audience: WORKER, tenantId: T1, eventTypes: ["render_video"] },
      t.deps.logger,
    );
    return { idToken, accessToken: result.accessToken };
  }

  describe("success", () => {
    it("an aud array containing the audience is accepted, extra claims included", async () => {
      const forged = token({ aud: ["other", WORKER], extra: { nested: true } });
      expect(await validate(forged)).toEqual(claims({ aud: ["other", WORKER], extra: { nested: true } }));
    });

    it("a token without ver is version 0", async () => {
      await t.app.services.repos.users.create({ localId: "user-0", email: "zero@example.com", password: "" });
      const c = claims({ sub: "user-0", email: "zero@example.com" });
      delete c.ver;
      expect(await validate(forge({ alg: "RS256", typ: "JWT", kid: KID }, c, pem))).toMatchObject({
        sub: "user-0",
      });
    });

    it("a delegated token resolves its actor (act.sub)", async () => {
      expect(await validate(token({ sub: "service-account-9", act: { sub: USER } }))).toMatchObject({
        sub: "service-account-9",
      });
      await expectReason(validate(token({ sub: USER, act: { sub: "someone-else" } })), "user_not_found");
    });
  });

  describe("steps 1–5 (crypto)", () => {
    it("malformed", async () => {
      await expectReason(validate("not-a-jwt"), "malformed");
      await expectReason(validate(""), "malformed");
      const [h, , s] = token().split(".") as [string, string, string];
      await expectReason(validate(`${h}.${b64url("[1]")}.${s}`), "malformed");
    });

    it("algorithm: HS256 → algorithm", async () => {
      const hs = forge({ alg: "HS256", typ: "JWT", kid: KID }, claims(), pem);
      await expectReason(validate(hs), "algorithm");
      const { idToken } = await exchangeToken();
      await expectReason(validate(idToken), "algorithm");
    });

    it("unknown_kid", async () => {
      await expectReason(validate(token({}, { alg: "RS256", typ: "JWT", kid: "other-key" })), "unknown_kid");
      await expectReason(validate(token({}, { alg: "RS256", typ: "JWT" })), "unknown_kid");
    });

    it("signature: tampered payload, or another key under our kid", async () => {
      const [h, , s] = token().split(".") as [string, string, string];
      const tampered = `${h}.${b64url(JSON.stringify(claims({ scope: "codeq:admin" })))}.${s}`;
      await expectReason(validate(tampered), "signature");
      const stranger = forge({ alg: "RS256", typ: "JWT", kid: KID }, claims(), await generateRsaPem());
      await expectReason(validate(stranger), "signature");
    });

    it("issuer, with the decision line naming what was expected", async () => {
      await expectReason(validate(token({ iss: "https://evil.example" })), "issuer");
      const line = logLines.find((l) => l.msg === "token validate");
      expect(line).toMatchObject({
        result: "failure",
        code: "INVALID_TOKEN",
        reason: "issuer",
        expectedIss: TEST_ISSUER,
        expectedAud: WORKER,
      });
    });

    it("audience", async () => {
      await expectReason(validate(token(), "reports"), "audience");
      await expectReason(validate(token({ aud: ["reports"] })), "audience");
    });

    it("expired (past exp + skew, moved by the clock)", async () => {
      const { accessToken } = await exchangeToken();
      clock.advance((3600 + 30) * 1000);
      await expectReason(validate(accessToken), "expired");
      clock.set(Date.UTC(2026, 0, 1, 12) + (3600 + 29) * 1000);
      expect(await validate(accessToken)).toMatchObject({ sub: USER });
    });

    it("not_yet_valid (iat beyond now + skew)", async () => {
      await expectReason(validate(token({ iat: now + 31, exp: now + 3600 })), "not_yet_valid");
      expect(await validate(token({ iat: now + 30 }))).toMatchObject({ iat: now + 30 });
    });
  });

  describe("steps 6–9 (state)", () => {
    it("user_not_found: the user was deleted", async () => {
      const { accessToken } = await exchangeToken();
      await t.app.services.repos.users.delete(USER);
      await expectReason(validate(accessToken), "user_not_found");
    });

    it("user_not_found: a new user with the same email does not inherit the token", async () => {
      const { accessToken } = await exchangeToken();
      await t.app.services.repos.users.delete(USER);
      await t.app.services.repos.users.create({
        localId: "user-2",
        email: EMAIL,
        password: "",
        tokenVersion: 3,
      });
      await expectReason(validate(accessToken), "user_not_found");
    });

    it("the email fallback finds a Go-era subject (sub = email)", async () => {
      expect(await validate(token({ sub: EMAIL }))).toMatchObject({ sub: EMAIL });
    });

    it("revoked: the user's version was bumped", async () => {
      const { accessToken } = await exchangeToken();
      await t.app.services.repos.users.mutate(USER, withTokenVersionBump);
      await expectReason(validate(accessToken), "revoked");
      await expectReason(validate(token({ ver: "3" })), "revoked");
    });

    it("user_inactive: SUSPENDED", async () => {
      const { accessToken } = await exchangeToken();
      // Status only, no bump, so that step 8 (not step 7) decides.
      await t.app.services.repos.users.mutate(USER, (u) => ({ ...u, status: "SUSPENDED" }));
      await expectReason(validate(accessToken), "user_inactive");
    });

    it("tenant_inactive: DISABLED, absent or missing tid", async () => {
      const { accessToken } = await exchangeToken();
      await t.app.services.repos.tenants.setStatus(T1, "DISABLED");
      await expectReason(validate(accessToken), "tenant_inactive");
      await expectReason(validate(token({ tid: "tenant-9" })), "tenant_inactive");
      const c = claims();
      delete c.tid;
      await expectReason(validate(forge({ alg: "RS256", typ: "JWT", kid: KID }, c, pem)), "tenant_inactive");
    });
  });

  describe("tenant binding (optional request tenantId, docs/spec/api.md §6.3)", () => {
    it("a token of another tenant → INVALID_TOKEN, reason tenant (logged)", async () => {
      const { repos } = t.app.services;
      await repos.tenants.create({ id: "tenant-2", slug: "tenant-2", name: "Tenant 2" });
      const { accessToken } = await exchangeToken();
      await expectReason(validate(accessToken, WORKER, "tenant-2"), "tenant");
      // Case matters: tenant ids are compared exactly.
      await expectReason(validate(accessToken, WORKER, "TENANT-1"), "tenant");
      // A token without tid is never bound to a tenant.
      const c = claims();
      delete c.tid;
      await expectReason(
        validate(forge({ alg: "RS256", typ: "JWT", kid: KID }, c, pem), WORKER, T1),
        "tenant",
      );
      const line = logLines.filter((l) => l.msg === "token validate").at(-1);
      expect(line).toMatchObject({ result: "failure", reason: "tenant" });
    });

    it("the binding is checked before the account state: a revoked token of another tenant says tenant", async () => {
      const { accessToken } = await exchangeToken();
      await t.app.services.repos.users.mutate(USER, withTokenVersionBump);
      await expectReason(validate(accessToken, WORKER, "tenant-2"), "tenant");
      await expectReason(validate(accessToken, WORKER, T1), "revoked");
    });

    it("the signature still comes first: a forged token for the bound tenant is signature", async () => {
      const other = await generateRsaPem();
      await expectReason(
        validate(forge({ alg: "RS256", typ: "JWT", kid: KID }, claims(), other), WORKER, "x"),
        "signature",
      );
    });
  });
});
