// Single logout with the pysaml2 IdP (docs/spec/saml.md §9, §16.4), both directions over HTTP-Redirect with
// signatures checked over the raw query on each side: after logout the SAML session (`sid`) is gone
// and the old idToken can no longer be looked up or exchanged. Embedded store and Redis.
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachEngine } from "../../support/app.ts";
import {
  CookieJar,
  claims,
  ID_COOKIE,
  login,
  parseSetCookies,
  redirectDecode,
  SLO_COOKIE,
  tikti,
} from "./flow.ts";
import { DEFAULT_USER } from "./pysaml-idp.ts";
import { CLIENT, type E2E, setupE2E, TID } from "./setup.ts";

const SLO_TIMEOUT = 30_000;

forEachEngine("SAML single logout with the pysaml2 IdP", (engine) => {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E(await engine.freshStore());
  });
  afterAll(async () => {
    await env?.close();
  });

  const lookup = (idToken: string) => env.t.call("/accounts/lookup", { json: { idToken } });
  const exchange = (idToken: string) =>
    env.t.call("/accounts/token/exchange", { json: { idToken, audience: CLIENT } });

  /** A logged-in browser: its jar holds the idToken cookie. */
  async function loggedIn(knobs = {}) {
    const r = await login(env.t, env.idp, TID, { relayState: "/app", knobs });
    expect(r.acs.status, await r.acs.clone().text()).toBe(302);
    const idToken = r.start.jar.get(ID_COOKIE)!;
    const sid = claims(idToken).sid as string;
    expect(await env.t.store.exists(`saml:sid:${sid}`)).toBe(true);
    const sessions = await env.idp.sessions();
    return { jar: r.start.jar, idToken, sid, idpSession: sessions.at(-1)! };
  }

  async function expectDead(idToken: string, sid: string) {
    expect(await env.t.store.exists(`saml:sid:${sid}`)).toBe(false);
    const l = await lookup(idToken);
    expect(l.status).toBe(401);
    expect(((await l.json()) as { code: string }).code).toBe("INVALID_TOKEN");
    expect((await exchange(idToken)).status).toBe(401);
  }

  it(
    "SP-initiated: local session ends, signed LogoutRequest to the IdP, its signed LogoutResponse returns to RelayState",
    async () => {
      const { jar, idToken, sid, idpSession } = await loggedIn();
      expect((await lookup(idToken)).status).toBe(200);

      const out = await tikti(env.t, jar, `/saml/logout/${TID}?RelayState=${encodeURIComponent("/bye")}`);
      expect(out.status).toBe(302);
      const location = out.headers.get("location")!;
      expect(location.startsWith(`${env.idp.sloUrl}?SAMLRequest=`)).toBe(true);
      const set = parseSetCookies(out);
      expect(set.find((c) => c.name === ID_COOKIE)?.attributes["max-age"]).toBe("0");
      expect(jar.get(ID_COOKIE)).toBeUndefined();
      expect(jar.get(SLO_COOKIE)).toMatch(/^_[0-9a-f]{40}$/);
      // The session is dead already, before the IdP answers.
      await expectDead(idToken, sid);
      const request = redirectDecode(location, "SAMLRequest");
      expect(request).toContain(`>${DEFAULT_USER.nameId}</`);
      expect(request).toContain(`>${idpSession.sessionIndex}</`);

      // The IdP verifies the redirect signature over the raw query, ends its session and answers.
      const idpAnswer = await fetch(location, { headers: { accept: "application/json" } });
      expect(idpAnswer.status, env.idp.log()).toBe(200);
      const back = (await idpAnswer.json()) as { url: string; ended: number };
      expect(back.ended).toBe(1);
      expect((await env.idp.sessions()).some((s) => s.sessionIndex === idpSession.sessionIndex)).toBe(false);

      const done = await tikti(env.t, jar, back.url);
      expect(done.status, await done.clone().text()).toBe(302);
      expect(done.headers.get("location")).toBe("/bye");
      expect(jar.get(SLO_COOKIE)).toBeUndefined();
      // The logout request record was single use: the same LogoutResponse again is refused.
      const again = await tikti(env.t, new CookieJar(), back.url);
      expect(again.status).toBe(400);
    },
    SLO_TIMEOUT,
  );

  it(
    "IdP-initiated for one SessionIndex (encrypted session): signed Success LogoutResponse, only that sid is dead",
    async () => {
      const plain = await loggedIn();
      const encrypted = await loggedIn({ encrypt: "aes256-gcm" });
      expect(encrypted.idpSession.sessionIndex).toMatch(/^id-/);

      const { url, id } = await env.idp.startLogout({ sessionIndex: encrypted.idpSession.sessionIndex! });
      expect(url.startsWith("https://id.test.example/saml/slo?SAMLRequest=")).toBe(true);
      const jar = encrypted.jar;
      const answer = await tikti(env.t, jar, url);
      expect(answer.status, await answer.clone().text()).toBe(302);
      const location = answer.headers.get("location")!;
      expect(location.startsWith(`${env.idp.sloUrl}?SAMLResponse=`)).toBe(true);
      expect(parseSetCookies(answer).find((c) => c.name === ID_COOKIE)?.attributes["max-age"]).toBe("0");
      const logoutResponse = redirectDecode(location, "SAMLResponse");
      expect(logoutResponse).toContain(`InResponseTo="${id}"`);

      const result = await fetch(location, { headers: { accept: "application/json" } });
      expect(result.status, env.idp.log()).toBe(200);
      expect(await result.json()).toMatchObject({
        direction: "idp",
        inResponseTo: id,
        success: true,
        signatureVerified: true,
        issuer: "https://id.test.example/saml",
      });

      await expectDead(encrypted.idToken, encrypted.sid);
      expect((await lookup(plain.idToken)).status).toBe(200);

      // The same LogoutRequest replayed is refused (saml:seen), nothing else ends.
      const replay = await tikti(env.t, null, url);
      expect(replay.status).toBe(403);
      expect((await lookup(plain.idToken)).status).toBe(200);
    },
    SLO_TIMEOUT,
  );

  it(
    "IdP-initiated without SessionIndex ends every session of the NameID",
    async () => {
      const a = await loggedIn();
      const b = await loggedIn({ encrypt: "aes128-cbc" });
      const { url } = await env.idp.startLogout({ noSessionIndex: true });
      const answer = await tikti(env.t, null, url);
      expect(answer.status).toBe(302);
      const result = await fetch(answer.headers.get("location")!, {
        headers: { accept: "application/json" },
      });
      expect(await result.json()).toMatchObject({ success: true });
      await expectDead(a.idToken, a.sid);
      await expectDead(b.idToken, b.sid);
      expect(await env.t.store.hlen(`saml:idx:${DEFAULT_USER.nameId}`)).toBe(0);
    },
    SLO_TIMEOUT,
  );

  it(
    "a LogoutRequest the IdP did not sign (query altered after signing) ends nothing",
    async () => {
      const s = await loggedIn();
      const { url } = await env.idp.startLogout({ sessionIndex: s.idpSession.sessionIndex! });
      // Swap the signature for one over different bytes: same shape, wrong signer input.
      const forged = url.replace(/&Signature=([^&]+)/, (_m, sig: string) => {
        const bytes = Buffer.from(decodeURIComponent(sig), "base64");
        bytes[10] = bytes[10]! ^ 0xff;
        return `&Signature=${encodeURIComponent(bytes.toString("base64"))}`;
      });
      const refused = await tikti(env.t, null, forged);
      expect(refused.status).toBe(403);
      expect((await lookup(s.idToken)).status).toBe(200);
      expect(await env.t.store.exists(`saml:sid:${s.sid}`)).toBe(true);
    },
    SLO_TIMEOUT,
  );
});
