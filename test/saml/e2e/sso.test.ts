// SP-initiated SSO against a real, independent IdP (docs/spec/saml.md §16.4): Tikti's GET /saml/login/:tid →
// pysaml2 (signing and encrypting with xmlsec1) → the auto-POST form → POST /saml/acs, driven
// without a browser; the idToken is looked up and exchanged for an access token. Plain and
// encrypted (AES-GCM, AES-CBC), signature placements, discovery, unsolicited responses; on the
// embedded store and on Redis.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachEngine } from "../../support/app.ts";
import {
  assertionAudits,
  CookieJar,
  claims,
  ID_COOKIE,
  idpSso,
  idpSsoWithLogin,
  login,
  parseSetCookies,
  postToAcs,
  STATE_COOKIE,
  startLogin,
  tikti,
} from "./flow.ts";
import { DEFAULT_USER, TEST_PASSWORD } from "./pysaml-idp.ts";
import { CLIENT, CLIENT_SCOPES, type E2E, setupE2E, TID } from "./setup.ts";

const SSO_TIMEOUT = 30_000;

forEachEngine("SAML SSO with the pysaml2 IdP", (engine) => {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E(await engine.freshStore());
  });
  afterAll(async () => {
    await env?.close();
  });

  async function lookup(idToken: string): Promise<Response> {
    return env.t.call("/accounts/lookup", { json: { idToken } });
  }

  async function exchange(idToken: string): Promise<Response> {
    return env.t.call("/accounts/token/exchange", { json: { idToken, audience: CLIENT } });
  }

  /** Asserts an accepted login: redirect, cookies, idToken claims, lookup, audit. */
  async function expectAccepted(r: Awaited<ReturnType<typeof login>>, returnTo = "/app") {
    expect(r.acs.status, await r.acs.clone().text()).toBe(302);
    expect(r.acs.headers.get("location")).toBe(returnTo);
    expect(r.acs.headers.get("cache-control")).toBe("no-store");
    const set = parseSetCookies(r.acs);
    const idt = set.find((c) => c.name === ID_COOKIE)!;
    expect(idt.value).not.toBe("");
    expect(idt.attributes).toMatchObject({ path: "/", httponly: "", secure: "", samesite: "Lax" });
    expect(Number(idt.attributes["max-age"])).toBeGreaterThan(3000);
    expect(set.find((c) => c.name === STATE_COOKIE)?.attributes["max-age"]).toBe("0");
    const c = claims(idt.value);
    expect(c.amr).toEqual(["saml"]);
    expect(c.tid).toBe(TID);
    expect(c.sid).toMatch(/^[0-9a-f]{32}$/);
    expect(await env.t.store.exists(`saml:sid:${c.sid}`)).toBe(true);
    const looked = await lookup(idt.value);
    expect(looked.status).toBe(200);
    const audit = assertionAudits(env.t).at(-1)!;
    expect(audit).toMatchObject({ decision: "accept", reason: "ok", tid: TID, userId: c.sub });
    return {
      idToken: idt.value,
      claims: c,
      lookup: (await looked.json()) as { users: Array<Record<string, unknown>> },
    };
  }

  it(
    "plain login (Response and Assertion signed): JIT user and membership, lookup, exchange for an access token",
    async () => {
      const before = await env.counts();
      const r = await login(env.t, env.idp, TID, { relayState: "/app", mode: "form" });
      const { idToken, claims: c, lookup: body } = await expectAccepted(r);
      expect(body.users[0]).toMatchObject({ localId: c.sub, email: DEFAULT_USER.mail });
      expect(assertionAudits(env.t).at(-1)!.jit).toBe("created");
      expect(await env.counts()).toEqual({ users: before.users + 1, sessions: before.sessions + 1 });

      // The AuthnRequest the IdP received is the one Tikti signed (verified over the raw query by the IdP).
      const last = await env.idp.last();
      expect(last.authnRequest).toContain(`ID="${r.start.requestId}"`);
      expect(r.start.requestId).toMatch(/^_[0-9a-f]{40}$/);

      const members = (await (await env.t.call(`/tenants/${TID}/users`)).json()) as {
        users: Array<{ id: string; roles: string[]; authSource: string }>;
      };
      expect(members.users.find((u) => u.id === c.sub)).toMatchObject({
        email: DEFAULT_USER.mail,
        roles: ["COMPANY_EMPLOYEE"],
        authSource: "saml",
      });

      const ex = await exchange(idToken);
      expect(ex.status, await ex.clone().text()).toBe(200);
      const access = decodeJwt(((await ex.json()) as { accessToken: string }).accessToken);
      expect(access).toMatchObject({ sub: c.sub, aud: CLIENT, tid: TID });
      expect(String(access.scope ?? (access.scopes as string[] | undefined)?.join(" "))).toContain(
        CLIENT_SCOPES[0],
      );

      // A second login of the same subject finds the same user.
      const again = await login(env.t, env.idp, TID, { relayState: "/app" });
      const second = await expectAccepted(again);
      expect(second.claims.sub).toBe(c.sub);
      expect(second.claims.sid).not.toBe(c.sid);
      expect(assertionAudits(env.t).at(-1)!.jit).toBe("existing");
    },
    SSO_TIMEOUT,
  );

  for (const cipher of ["aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc"] as const) {
    it(
      `encrypted assertion ${cipher} (RSA-OAEP, xmlsec1 padding) is accepted and exchangeable`,
      async () => {
        const r = await login(env.t, env.idp, TID, { relayState: "/app", knobs: { encrypt: cipher } });
        const posted = Buffer.from(r.posted.SAMLResponse, "base64").toString("utf8");
        expect(posted).toContain("EncryptedAssertion");
        expect(posted).not.toContain(DEFAULT_USER.mail);
        const { idToken } = await expectAccepted(r);
        expect((await exchange(idToken)).status).toBe(200);
      },
      SSO_TIMEOUT,
    );
  }

  it(
    "assertion-only signature is accepted; response-only is algorithm_disallowed (requireAssertionSigned)",
    async () => {
      await expectAccepted(
        await login(env.t, env.idp, TID, { relayState: "/app", knobs: { sign: "assertion" } }),
      );
      const r = await login(env.t, env.idp, TID, { relayState: "/app", knobs: { sign: "response" } });
      expect(r.acs.status).toBe(403);
      expect(r.idToken).toBeUndefined();
      expect(assertionAudits(env.t).at(-1)).toMatchObject({
        decision: "reject",
        reason: "algorithm_disallowed",
      });
    },
    SSO_TIMEOUT,
  );

  it(
    "with the IdP's username/password step in between, the login completes",
    async () => {
      const start = await startLogin(env.t, TID, { relayState: "/app" });
      const step = await idpSsoWithLogin(start.location, {
        username: DEFAULT_USER.nameId,
        password: TEST_PASSWORD,
      });
      expect(step.status).toBe(200);
      const acs = await postToAcs(env.t, start.jar, step.posted!);
      await expectAccepted({ start, posted: step.posted!, acs, idToken: start.jar.get(ID_COOKIE) });
    },
    SSO_TIMEOUT,
  );

  it(
    "without RelayState the login returns to postLoginURL; the posted RelayState must match the request's",
    async () => {
      await expectAccepted(await login(env.t, env.idp, TID), "/dashboard");
      const start = await startLogin(env.t, TID, { relayState: "/app" });
      const posted = await idpSso(start.location);
      const r = await postToAcs(env.t, start.jar, { ...posted, RelayState: "/elsewhere" });
      expect(r.status).toBe(400);
      expect(start.jar.get(ID_COOKIE)).toBeUndefined();
      expect(assertionAudits(env.t).at(-1)).toMatchObject({
        decision: "reject",
        reason: "request_not_found",
      });
    },
    SSO_TIMEOUT,
  );

  it(
    "discovery: a mapped email domain leads to the tenant's login, which completes at the IdP",
    async () => {
      const map = await env.t.call(`/tenants/${TID}/saml/domains/acme.example`, { method: "PUT" });
      expect(map.status).toBe(200);
      const jar = new CookieJar();
      const form = await tikti(env.t, jar, "/saml/discover");
      expect(form.status).toBe(200);
      expect(await form.text()).toContain("Discover your workspace");
      const found = await tikti(env.t, jar, "/saml/discover", {
        method: "POST",
        body: new URLSearchParams({ email: ` ${DEFAULT_USER.mail.toUpperCase()} ` }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(found.status).toBe(302);
      expect(found.headers.get("location")).toBe(`/saml/login/${TID}`);
      const r = await login(env.t, env.idp, TID, { jar });
      await expectAccepted(r, "/dashboard");

      const unknown = await tikti(env.t, null, "/saml/discover", {
        method: "POST",
        body: "email=someone%40unmapped.example",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(unknown.status).toBe(200);
      const page = await unknown.text();
      expect(page).toContain("Workspace not found.");
      expect(page).not.toContain("unmapped.example");
    },
    SSO_TIMEOUT,
  );

  it(
    "unsolicited responses: refused on /saml/acs and without opt-in; accepted once with opt-in, then request_replay",
    async () => {
      const start = await startLogin(env.t, TID);
      const unsolicited = await env.idp.unsolicited(TID);
      const onAcs = await postToAcs(env.t, start.jar, {
        ...unsolicited,
        url: "https://id.test.example/saml/acs",
      });
      expect(onAcs.status).toBe(400);
      expect(assertionAudits(env.t).at(-1)).toMatchObject({ reason: "request_not_found" });

      const notAllowed = await postToAcs(env.t, new CookieJar(), unsolicited);
      expect(new URL(unsolicited.url).pathname).toBe(`/saml/acs/${TID}`);
      expect(notAllowed.status).toBe(400);
      expect(assertionAudits(env.t).at(-1)).toMatchObject({
        reason: "request_not_found",
        detail: "unsolicited_not_allowed",
      });

      await env.registerIdp({ allowUnsolicited: true });
      try {
        const fresh = await env.idp.unsolicited(TID);
        const jar = new CookieJar();
        const ok = await postToAcs(env.t, jar, fresh);
        expect(ok.status, await ok.clone().text()).toBe(302);
        expect(ok.headers.get("location")).toBe("/dashboard");
        const idToken = jar.get(ID_COOKIE)!;
        expect(claims(idToken)).toMatchObject({ amr: ["saml"], tid: TID });
        expect((await lookup(idToken)).status).toBe(200);
        const replay = await postToAcs(env.t, new CookieJar(), fresh);
        expect(replay.status).toBe(403);
        expect(assertionAudits(env.t).at(-1)).toMatchObject({ decision: "reject", reason: "request_replay" });
      } finally {
        await env.registerIdp({ allowUnsolicited: false });
      }
    },
    SSO_TIMEOUT,
  );

  it("the login redirect is a signed AuthnRequest to the registered SSO URL with the state cookie", async () => {
    const start = await startLogin(env.t, TID, { relayState: "/app" });
    const url = new URL(start.location);
    expect(`${url.origin}${url.pathname}`).toBe(env.idp.ssoUrl);
    expect(url.searchParams.get("SigAlg")).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    expect(url.searchParams.get("RelayState")).toBe("/app");
    const state = parseSetCookies(start.response).find((c) => c.name === STATE_COOKIE)!;
    expect(state.value).toBe(start.requestId);
    expect(state.attributes).toMatchObject({ path: "/", secure: "", httponly: "", samesite: "None" });
    expect(await env.t.store.exists(`saml:req:${start.requestId}`)).toBe(true);
  });
});
