/**
 * POST /accounts/token and POST /accounts/signOut (docs/spec/oauth.md §6) over HTTP: the sign-ins that
 * hand out refresh tokens, the Firebase-shaped answers, status codes and error bodies, the `/v1`
 * alias, `Cache-Control: no-store`, the `refreshIp` limit and the disabled switch. The rules
 * themselves are proven on the service (test/oauth/refresh-tokens.test.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { forEachEngine } from "../support/app.ts";
import {
  type AccountsApp,
  accountsApp,
  expectError,
  expectRateLimited,
  PASSWORD,
  seedUser,
  verifiedClaims,
} from "./accounts-support.ts";

const TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;

async function signIn(t: AccountsApp, email: string): Promise<Record<string, string>> {
  const res = await t.post("/accounts/signIn", { email, password: PASSWORD }, { key: false });
  expect(res.status).toBe(200);
  return res.json();
}

const refreshBody = (refreshToken: string) => ({ grantType: "refresh_token", refreshToken });

forEachEngine("refresh-token routes", (engine) => {
  describe("POST /accounts/token", () => {
    let t: AccountsApp;
    beforeAll(async () => {
      t = await accountsApp(engine);
      await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    });

    it("password sign-in → refresh: Firebase-shaped 200, no-store, a new idToken and a successor", async () => {
      const user = await seedUser(t, "alice@example.com", { companyId: "acme" });
      const signedIn = await signIn(t, "alice@example.com");
      expect(signedIn.refreshToken).toMatch(TOKEN);
      // Public: no API key needed.
      const res = await t.post("/accounts/token", refreshBody(signedIn.refreshToken!), { key: false });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["expiresIn", "idToken", "localId", "refreshToken"]);
      expect(body.localId).toBe(user.localId);
      expect(body.expiresIn).toBe(3600);
      expect(body.refreshToken).toMatch(TOKEN);
      expect(body.refreshToken).not.toBe(signedIn.refreshToken);
      await verifiedClaims(body.idToken, {
        sub: user.localId,
        email: "alice@example.com",
        role: "COMPANY_EMPLOYEE",
        tid: "acme",
        amr: "pwd",
        ver: 0,
      });
      // The new idToken is a real session token: lookup accepts it.
      const lookup = await t.post("/accounts/lookup", { idToken: body.idToken });
      expect(lookup.status).toBe(200);
      // /v1 alias, same behaviour; the spent token is now a reuse (400) and ends the family.
      await expectError(
        await t.post("/v1/accounts/token", refreshBody(signedIn.refreshToken!), { key: false }),
        "INVALID_REFRESH_TOKEN",
      );
      await expectError(
        await t.post("/accounts/token", refreshBody(body.refreshToken)),
        "INVALID_REFRESH_TOKEN",
      );
    });

    it("email-code sign-in and sign-up hand out refresh tokens that keep amr oob / pwd", async () => {
      const user = await seedUser(t, "carol@example.com");
      const sent = await (
        await t.post("/accounts/sendOobCode", { requestType: "EMAIL_SIGNIN", email: user.email })
      ).json();
      const oob = await (
        await t.post(
          "/accounts/signInWithOobCode",
          { email: user.email, oobCode: sent.oobCode },
          { key: false },
        )
      ).json();
      expect(oob.refreshToken).toMatch(TOKEN);
      const refreshed = await (await t.post("/accounts/token", refreshBody(oob.refreshToken))).json();
      expect((await verifiedClaims(refreshed.idToken, { ...claims(user), amr: "oob" })).amr).toEqual(["oob"]);

      const signUp = await t.post(
        "/accounts/signUp",
        { email: "dave@example.com", password: PASSWORD },
        { key: false },
      );
      const created = await signUp.json();
      expect(created.refreshToken).toMatch(TOKEN);
      const again = await t.post("/accounts/token", refreshBody(created.refreshToken));
      expect(again.status).toBe(200);
    });

    it("update returns a refresh token of the new version; the families before it are dead", async () => {
      await seedUser(t, "erin@example.com");
      const before = await signIn(t, "erin@example.com");
      const res = await t.post("/accounts/update", {
        idToken: before.idToken,
        password: "another long passphrase",
      });
      expect(res.status).toBe(200);
      const updated = await res.json();
      expect(updated.refreshToken).toMatch(TOKEN);
      await expectError(
        await t.post("/accounts/token", refreshBody(before.refreshToken!)),
        "INVALID_REFRESH_TOKEN",
      );
      const fresh = await (await t.post("/accounts/token", refreshBody(updated.refreshToken))).json();
      expect(fresh.localId).toBe(updated.localId);
    });

    it("admin revoke (tokenVersion bump) ends the session's refresh tokens", async () => {
      await seedUser(t, "frank@example.com");
      const s = await signIn(t, "frank@example.com");
      expect((await t.post("/accounts/revoke", { email: "frank@example.com" })).status).toBe(200);
      await expectError(
        await t.post("/accounts/token", refreshBody(s.refreshToken!)),
        "INVALID_REFRESH_TOKEN",
      );
    });

    it("a status change (SUSPENDED) ends the session for good: reactivation does not revive it", async () => {
      await seedUser(t, "ivan@example.com");
      const s = await signIn(t, "ivan@example.com");
      const status = (value: string) =>
        t.post("/accounts/status", { email: "ivan@example.com", status: value });
      expect((await status("SUSPENDED")).status).toBe(200);
      await expectError(
        await t.post("/accounts/token", refreshBody(s.refreshToken!)),
        "INVALID_REFRESH_TOKEN",
      );
      expect((await status("ACTIVE")).status).toBe(200);
      await expectError(
        await t.post("/accounts/token", refreshBody(s.refreshToken!)),
        "INVALID_REFRESH_TOKEN",
      );
      // A new sign-in starts a working session.
      const fresh = await signIn(t, "ivan@example.com");
      expect((await t.post("/accounts/token", refreshBody(fresh.refreshToken!))).status).toBe(200);
    });

    it("answers the documented errors: missing fields, another grantType, unknown tokens", async () => {
      await expectError(await t.post("/accounts/token", { grantType: "refresh_token" }), "INVALID_REQUEST", {
        refreshToken: expect.any(String),
      });
      await expectError(
        await t.post("/accounts/token", { grantType: "password", refreshToken: `rt_${"A".repeat(43)}` }),
        "INVALID_ARGUMENT",
        { grantType: "must be refresh_token" },
      );
      const unknown = await expectError(
        await t.post("/accounts/token", refreshBody(`rt_${"A".repeat(43)}`)),
        "INVALID_REFRESH_TOKEN",
      );
      expect(unknown.details).toBeUndefined();
      await expectError(await t.post("/accounts/token", refreshBody("not-a-token")), "INVALID_REFRESH_TOKEN");
      const wrongType = await t.call("/accounts/token", {
        method: "POST",
        body: "x",
        headers: { "content-type": "text/plain" },
      });
      await expectError(wrongType, "UNSUPPORTED_MEDIA_TYPE");
    });
  });

  describe("POST /accounts/signOut", () => {
    let t: AccountsApp;
    beforeAll(async () => {
      t = await accountsApp(engine);
    });

    it("200 {} and the family is over; unknown tokens answer 200 too", async () => {
      await seedUser(t, "gina@example.com");
      const s = await signIn(t, "gina@example.com");
      const { refreshToken: successor } = await (
        await t.post("/accounts/token", refreshBody(s.refreshToken!))
      ).json();
      const res = await t.post("/accounts/signOut", { refreshToken: successor }, { key: false });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toEqual({});
      await expectError(await t.post("/accounts/token", refreshBody(successor)), "INVALID_REFRESH_TOKEN");
      const unknown = await t.post("/v1/accounts/signOut", { refreshToken: `rt_${"Z".repeat(43)}` });
      expect([unknown.status, await unknown.json()]).toEqual([200, {}]);
      await expectError(await t.post("/accounts/signOut", {}), "INVALID_REQUEST");
    });
  });

  describe("limits and the switch", () => {
    it("refreshIp: the 4th request of a window from one address is 429 with Retry-After", async () => {
      const t = await accountsApp(engine, {
        config: { rateLimits: { enabled: true, refreshIp: { limit: 3, windowSeconds: 60 } } },
      });
      for (let i = 0; i < 3; i++) {
        await expectError(
          await t.post("/accounts/token", refreshBody(`rt_${"A".repeat(43)}`)),
          "INVALID_REFRESH_TOKEN",
        );
      }
      await expectRateLimited(await t.post("/accounts/token", refreshBody(`rt_${"A".repeat(43)}`)), 60);
      await expectRateLimited(
        await t.post("/accounts/signOut", { refreshToken: `rt_${"A".repeat(43)}` }),
        60,
      );
    });

    it("tokens.refresh.enabled false: sign-ins carry no refreshToken and /accounts/token is 400", async () => {
      const t = await accountsApp(engine, { config: { tokens: { refresh: { enabled: false } } } });
      await seedUser(t, "hank@example.com");
      const s = await signIn(t, "hank@example.com");
      expect(Object.keys(s).sort()).toEqual(["email", "expiresIn", "idToken", "localId"]);
      await expectError(
        await t.post("/accounts/token", refreshBody(`rt_${"A".repeat(43)}`)),
        "INVALID_REFRESH_TOKEN",
      );
    });
  });
});

function claims(user: { localId: string; email: string; role: string }) {
  return { sub: user.localId, email: user.email, role: user.role, amr: "pwd", ver: 0 };
}
