/**
 * The access-token `jti` denylist (docs/spec/oauth.md §7, `revokedJti:{jti}`) and its effect on
 * `/accounts/validate` (step 6a, reason `revoked`), on the embedded store and a real redis-server.
 */
import { beforeEach, expect, it } from "vitest";
import { keys } from "../../src/store/keys.ts";
import { buildTestApp, forEachEngine, manualClock, type TestApp } from "../support/app.ts";

const T1 = "tenant-1";
const USER = "user-1";
const EMAIL = "worker@example.com";
const AUD = "billing-api";

forEachEngine("jti denylist", (engine) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(Date.now());
    t = await buildTestApp({
      store: await engine.freshStore(),
      clock,
      config: { rateLimits: { enabled: false } },
    });
    const { repos } = t.app.services;
    await repos.users.create({ localId: USER, email: EMAIL, password: "" });
    await repos.tenants.create({ id: T1, slug: T1, name: "Tenant 1" });
    await repos.memberships.put(T1, USER, ["COMPANY_EMPLOYEE"]);
    await repos.clients.create(T1, { clientId: AUD, secretHash: "", defaultScopes: [] });
  });

  async function accessToken(): Promise<{ token: string; jti: string; exp: number }> {
    const { token: idToken } = await t.deps.idTokens.sign({
      sub: USER,
      email: EMAIL,
      role: "COMPANY_EMPLOYEE",
      amr: "pwd",
      ver: 0,
    });
    const res = await t.call("/accounts/token/exchange", {
      json: { idToken, audience: AUD, tenantId: T1, ttlSeconds: 600 },
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { accessToken: string }).accessToken;
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
    return { token, jti: claims.jti, exp: claims.exp };
  }

  const validate = (token: string) => t.call("/accounts/validate", { json: { token, audience: AUD } });

  it("a revoked jti makes /accounts/validate answer 401 reason revoked; other tokens stay valid", async () => {
    const a = await accessToken();
    const b = await accessToken();
    expect((await validate(a.token)).status).toBe(200);
    await t.app.services.repos.revokedJti.revoke(a.jti, (a.exp + 30) * 1000);
    const res = await validate(a.token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: "invalid token",
      code: "INVALID_TOKEN",
      details: { reason: "revoked" },
    });
    expect((await validate(b.token)).status).toBe(200);
  });

  it("the entry lives until exp + skew, and none is written for a token already past it", async () => {
    const a = await accessToken();
    const until = (a.exp + 30) * 1000;
    await t.app.services.repos.revokedJti.revoke(a.jti, until);
    const pttl = await t.store.pttl(keys.revokedJti(a.jti));
    expect(pttl).toBeGreaterThan(until - clock.now() - 5_000);
    expect(pttl).toBeLessThanOrEqual(until - clock.now());
    await t.app.services.repos.revokedJti.revoke("old-jti", clock.now() - 1);
    expect(await t.store.exists(keys.revokedJti("old-jti"))).toBe(false);
    expect(await t.app.services.repos.revokedJti.isRevoked("old-jti")).toBe(false);
  });

  it("step order: a deleted user is user_not_found before its token's revocation is consulted", async () => {
    const a = await accessToken();
    await t.app.services.repos.revokedJti.revoke(a.jti, (a.exp + 30) * 1000);
    await t.app.services.repos.users.delete(USER);
    expect(((await (await validate(a.token)).json()) as { details: unknown }).details).toEqual({
      reason: "user_not_found",
    });
  });
});
