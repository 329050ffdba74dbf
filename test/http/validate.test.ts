/**
 * POST /accounts/validate (docs/spec/api.md §6.3): the answer's status, headers and body, request
 * parsing, and the revocation scenarios of docs/spec/tokens.md §5 across exchange and validate. One
 * test per reason of docs/spec/tokens.md §4.3 is in test/services/validate.test.ts.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { forEachEngine, TEST_ISSUER, type TestApp } from "../support/app.ts";
import {
  buildValidateApp,
  EMAIL,
  token as forgeToken,
  signIdToken,
  T1,
  USER,
  WORKER,
} from "../support/validate-fixture.ts";

const VALIDATE = "/accounts/validate";
const EXCHANGE = "/accounts/token/exchange";

forEachEngine("POST /accounts/validate", (engine) => {
  let t: TestApp;
  let pem: string;
  let logLines: Record<string, unknown>[];
  let now: number;

  beforeEach(async () => {
    ({ t, pem, logLines, now } = await buildValidateApp(engine));
  });

  const token = (over?: Record<string, unknown>, header?: object) => forgeToken(pem, now, over, header);

  function validate(tokenText: string, audience = WORKER): Promise<Response> {
    return t.call(VALIDATE, { json: { token: tokenText, audience } });
  }

  async function expectReason(res: Response, reason: string): Promise<void> {
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "invalid token", code: "INVALID_TOKEN", details: { reason } });
    expect(res.headers.get("cache-control")).toBe("no-store");
  }

  async function exchangeToken(idTokenVer = 3): Promise<{ idToken: string; accessToken: string }> {
    const idToken = await signIdToken(t, idTokenVer);
    const res = await t.call(EXCHANGE, {
      json: { idToken, audience: WORKER, tenantId: T1, eventTypes: ["render_video"] },
    });
    expect(res.status).toBe(200);
    return { idToken, accessToken: ((await res.json()) as { accessToken: string }).accessToken };
  }

  describe("success", () => {
    it("returns exactly the claims of an exchanged token", async () => {
      const { accessToken } = await exchangeToken();
      const res = await validate(accessToken);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const payload = JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString("utf8"));
      const body = await res.json();
      expect(body).toEqual(payload);
      expect(Object.keys(body)).toEqual(Object.keys(payload));
      expect(body).toMatchObject({ sub: USER, tid: T1, ver: 3, eventTypes: ["render_video"] });
      const line = logLines.find((l) => l.msg === "token validate");
      expect(line).toMatchObject({
        userId: USER,
        tenantId: T1,
        audience: WORKER,
        scopes: ["codeq:claim", "codeq:result"],
        result: "success",
        code: "OK",
      });
      const all = JSON.stringify(logLines);
      expect(all).not.toContain(accessToken.split(".")[2]!);
      expect(all).not.toContain(EMAIL);
    });

    it("needs admin auth (the API key)", async () => {
      const res = await t.call(VALIDATE, { json: { token: token(), audience: WORKER }, key: false });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("API_KEY_INVALID");
    });

    it("missing fields → 400 INVALID_REQUEST", async () => {
      const res = await t.call(VALIDATE, { json: { token: token() } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("INVALID_REQUEST");
    });
  });

  // One refusal as the client sees it (status, body, no-store, metric); every reason of steps 1–9
  // and of the tenant binding is proven on the service: test/services/validate.test.ts.
  describe("steps 1–5 (crypto)", () => {
    it("issuer", async () => {
      await expectReason(await validate(token({ iss: "https://evil.example" })), "issuer");
      const line = logLines.find((l) => l.msg === "token validate");
      expect(line).toMatchObject({
        result: "failure",
        code: "INVALID_TOKEN",
        reason: "issuer",
        expectedIss: TEST_ISSUER,
        expectedAud: WORKER,
      });
      expect(t.deps.metrics.authFail.get({ route: VALIDATE, code: "INVALID_TOKEN" })).toBe(1);
    });
  });

  describe("tenant binding (optional request tenantId, docs/spec/api.md §6.3)", () => {
    function validateFor(tokenText: string, tenantId: unknown): Promise<Response> {
      return t.call(VALIDATE, { json: { token: tokenText, audience: WORKER, tenantId } });
    }

    it("a token of the bound tenant is valid; absent or null tenantId binds nothing", async () => {
      const { accessToken } = await exchangeToken();
      const bound = await validateFor(accessToken, T1);
      expect(bound.status).toBe(200);
      expect(((await bound.json()) as { tid: string }).tid).toBe(T1);
      expect((await validateFor(accessToken, null)).status).toBe(200);
      expect((await validate(accessToken)).status).toBe(200);
    });

    it("a blank or malformed tenantId → 400 INVALID_ARGUMENT; a wrong type → 400 INVALID_REQUEST", async () => {
      const { accessToken } = await exchangeToken();
      for (const bad of ["", " ", "a/b", "x".repeat(129)]) {
        const res = await validateFor(accessToken, bad);
        expect(res.status).toBe(400);
        const body = (await res.json()) as { code: string; details: Record<string, string> };
        expect(body.code).toBe("INVALID_ARGUMENT");
        expect(Object.keys(body.details)).toEqual(["tenantId"]);
      }
      const res = await validateFor(accessToken, 7);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe("INVALID_REQUEST");
    });
  });

  describe("revocation across exchange and validate (docs/spec/tokens.md §5)", () => {
    it("a version bump: the old idToken cannot be exchanged, the old access token is revoked", async () => {
      const { idToken, accessToken } = await exchangeToken();
      expect((await validate(accessToken)).status).toBe(200);
      await t.app.services.repos.users.mutate(USER, withTokenVersionBump);
      const res = await t.call(EXCHANGE, {
        json: { idToken, audience: WORKER, tenantId: T1, eventTypes: ["render_video"] },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("INVALID_TOKEN");
      await expectReason(await validate(accessToken), "revoked");
      // Tokens issued after the bump work.
      const fresh = await exchangeToken(4);
      expect((await validate(fresh.accessToken)).status).toBe(200);
    });

    it("suspend (with its bump) then reactivate does not revive old tokens", async () => {
      const { idToken, accessToken } = await exchangeToken();
      const { repos } = t.app.services;
      await repos.users.mutate(USER, (u) => withTokenVersionBump({ ...u, status: "SUSPENDED" }));
      await expectReason(await validate(accessToken), "revoked");
      await repos.users.mutate(USER, (u) => ({ ...u, status: "ACTIVE" }));
      await expectReason(await validate(accessToken), "revoked");
      const res = await t.call(EXCHANGE, {
        json: { idToken, audience: WORKER, tenantId: T1, eventTypes: ["render_video"] },
      });
      expect(res.status).toBe(401);
      const fresh = await exchangeToken(4);
      expect((await validate(fresh.accessToken)).status).toBe(200);
    });
  });
});
