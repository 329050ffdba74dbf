/**
 * Single logout (docs/spec/saml.md §9): SP-initiated GET /saml/logout/:tid with the idToken cookie, the
 * signed LogoutRequest to the IdP and its LogoutResponse on /saml/slo; IdP-initiated LogoutRequests
 * on GET/POST /saml/slo ending sessions through saml:idx and answered with a signed LogoutResponse.
 * After logout the idToken can no longer be looked up or exchanged (docs/spec/tokens.md §4.1 V10).
 */
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { keys } from "../../../src/store/keys.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import {
  ATTACKER_KEY,
  cookieSet,
  DEFAULT_USER,
  type FlowApp,
  flowApp,
  IDP_KEY,
  IDP_SLO,
  IDP_SLO_RESPONSE,
  type Idp,
  POST,
  parseSpRedirect,
  pem,
  REDIRECT,
  redirectQuery,
  SLO,
  SLO_STATE,
  SP_CRT,
  SP_ENTITY,
  setCookies,
  setupFiles,
  signIn,
  spRedirectSignatureValid,
  uniqueId,
} from "./idp.ts";

const EXPIRED_IDT = "tikti_idt=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
const EXPIRED_SLO = `${SLO_STATE}=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0`;

forEachEngine("single logout (docs/spec/saml.md §9)", (engine) => {
  let setup: Idp;
  let t: FlowApp;
  let clock: ReturnType<typeof manualClock>;
  let idpKey: string;
  beforeAll(async () => {
    setup = await setupFiles();
    idpKey = await pem(IDP_KEY);
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    clock = manualClock(Date.now());
    t = await flowApp({ store: await engine.freshStore(), setup, clock, tenants: ["acme", "globex"] });
    expect((await t.call("/tenants/acme/clients", { json: { clientId: "app-api" } })).status).toBe(200);
  });

  const lookup = (idToken: string) => t.call("/accounts/lookup", { json: { idToken } });
  const exchange = (idToken: string) =>
    t.call("/accounts/token/exchange", { json: { idToken, audience: "app-api" } });
  const logout = (idToken: string | null, path = "/saml/logout/acme") =>
    t.call(path, { key: false, headers: idToken ? { cookie: `tikti_idt=${idToken}` } : {} });
  const slo = (query: string, cookie?: string) =>
    t.call(`/saml/slo?${query}`, { key: false, headers: cookie ? { cookie } : {} });

  async function metrics(): Promise<string> {
    return (await t.call("/metrics")).text();
  }

  // ------------------------------------------------------------------ SP-initiated (§9.2, §9.4)

  it("SP-initiated: ends the session, sends a signed LogoutRequest, then follows the IdP's LogoutResponse", async () => {
    const s = await signIn(t);
    const sid = s.claims.sid as string;
    const session = JSON.parse((await t.store.get(keys.samlSession(sid)))!);
    expect((await lookup(s.idToken)).status).toBe(200);

    const res = await logout(s.idToken, "/saml/logout/acme?RelayState=%2Fbye");
    expect(res.status).toBe(302);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const out = parseSpRedirect(res.headers.get("location")!);
    expect(out.base).toBe(IDP_SLO);
    expect([...out.params.keys()]).toEqual(["SAMLRequest", "SigAlg", "Signature"]);
    expect(await spRedirectSignatureValid(out.rawQuery)).toBe(true);
    const id = /\bID="([^"]+)"/.exec(out.xml)![1]!;
    expect(id).toMatch(/^_[0-9a-f]{40}$/);
    expect(out.xml).toContain(`Destination="${IDP_SLO}"`);
    expect(out.xml).toContain(`<saml:Issuer>${SP_ENTITY}</saml:Issuer>`);
    expect(out.xml).toContain(
      `<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${DEFAULT_USER}</saml:NameID>`,
    );
    expect(out.xml).toContain(`<samlp:SessionIndex>${session.sessionIndex}</samlp:SessionIndex>`);
    expect(setCookies(res)).toEqual([
      EXPIRED_IDT,
      `${SLO_STATE}=${id}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=300`,
    ]);

    // The session is over locally, whatever the IdP does: V10 refuses the token everywhere.
    expect(await t.store.get(keys.samlSession(sid))).toBeNull();
    expect((await t.store.hgetall(keys.samlSessionIndex(DEFAULT_USER))).has(`acme:${sid}`)).toBe(false);
    expect((await lookup(s.idToken)).status).toBe(401);
    expect((await exchange(s.idToken)).status).toBe(401);
    const record = JSON.parse((await t.store.get(keys.samlRequest(id)))!);
    expect(record).toMatchObject({
      kind: "logout",
      id,
      tenantId: "acme",
      sid,
      nameId: DEFAULT_USER,
      returnTo: "/bye",
    });
    expect(await metrics()).toContain('tikti_saml_logout_requests_total{direction="sp",tid="acme"} 1');

    // The IdP answers on /saml/slo (Redirect binding, signed by its key).
    const answer = redirectQuery(t.idp.logoutResponse({ inResponseTo: id, destination: SLO }), idpKey, {
      param: "SAMLResponse",
    });
    const done = await slo(answer, `${SLO_STATE}=${id}`);
    expect(done.status, await done.clone().text()).toBe(302);
    expect(done.headers.get("location")).toBe("/bye");
    expect(setCookies(done)).toEqual([EXPIRED_SLO]);
    expect(await t.store.get(keys.samlRequest(id))).toBeNull();
    expect(await metrics()).toContain('tikti_saml_logout_responses_total{result="success",tid="acme"} 1');

    // The same LogoutResponse again: the request was consumed.
    const again = await slo(answer, `${SLO_STATE}=${id}`);
    expect(again.status).toBe(400);
  });

  it("LogoutResponse: refused without the SLO cookie, with another key, or with an error status", async () => {
    const startLogout = async () => {
      const s = await signIn(t);
      const res = await logout(s.idToken);
      return /\bID="([^"]+)"/.exec(parseSpRedirect(res.headers.get("location")!).xml)![1]!;
    };
    const id1 = await startLogout();
    const ok = redirectQuery(t.idp.logoutResponse({ inResponseTo: id1, destination: SLO }), idpKey, {
      param: "SAMLResponse",
    });
    const noCookie = await slo(ok);
    expect(noCookie.status).toBe(400);
    expect(setCookies(noCookie)).toEqual([EXPIRED_SLO]);
    expect(await t.store.get(keys.samlRequest(id1))).not.toBeNull();

    const id2 = await startLogout();
    const forged = redirectQuery(
      t.idp.logoutResponse({ inResponseTo: id2, destination: SLO }),
      await pem(ATTACKER_KEY),
      { param: "SAMLResponse" },
    );
    expect((await slo(forged, `${SLO_STATE}=${id2}`)).status).toBe(403);

    const id3 = await startLogout();
    const failed = redirectQuery(
      t.idp.logoutResponse({
        inResponseTo: id3,
        destination: SLO,
        status: "urn:oasis:names:tc:SAML:2.0:status:Responder",
      }),
      idpKey,
      { param: "SAMLResponse" },
    );
    const res = await slo(failed, `${SLO_STATE}=${id3}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("Access Denied");
    expect(await metrics()).toContain('tikti_saml_logout_responses_total{result="failure",tid="acme"} 2');
  });

  it("SP-initiated over HTTP-POST: an auto-submit form with an enveloped-signed LogoutRequest", async () => {
    const t2 = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      slo: [[POST, "https://idp.example.test/slo-post"]],
    });
    const s = await signIn(t2);
    const res = await t2.call("/saml/logout/acme", {
      key: false,
      headers: { cookie: `tikti_idt=${s.idToken}` },
    });
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toMatch(
      /^default-src 'none'; script-src 'nonce-[^']+'; base-uri 'none'; frame-ancestors 'none'$/,
    );
    const html = await res.text();
    expect(html).toContain('action="https://idp.example.test/slo-post"');
    const value = /name="SAMLRequest" value="([^"]+)"/.exec(html)![1]!;
    const xml = Buffer.from(value, "base64").toString("utf8");
    expect(xml).toContain("<samlp:LogoutRequest");
    expect(xml).toContain("<ds:Signature");
    expect(await t2.idp.xmlsecVerifiesRoot(xml, SP_CRT)).toBe(true);
    expect(await t2.idp.xmlsecVerifiesRoot(xml.replace(DEFAULT_USER, "mallory@example.test"), SP_CRT)).toBe(
      false,
    );
    expect(cookieSet(res, "tikti_idt")).toBe("");
    expect(cookieSet(res, SLO_STATE)).toMatch(/^_[0-9a-f]{40}$/);
    expect((await t2.call("/accounts/lookup", { json: { idToken: s.idToken } })).status).toBe(401);
  });

  it("logs out locally when the IdP has no SLO endpoint", async () => {
    const t2 = await flowApp({ store: await engine.freshStore(), setup, clock, slo: [] });
    const s = await signIn(t2);
    const res = await t2.call("/saml/logout/acme", {
      key: false,
      headers: { cookie: `tikti_idt=${s.idToken}` },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/");
    expect(setCookies(res)).toEqual([EXPIRED_IDT]);
    expect((await t2.call("/accounts/lookup", { json: { idToken: s.idToken } })).status).toBe(401);
  });

  it("ignores the idToken's expiry but requires a valid SAML token for this tenant", async () => {
    const s = await signIn(t);
    // An ended session: just expire the cookie and go to the target.
    clock.advance(2 * 3600 * 1000);
    expect((await lookup(s.idToken)).status).toBe(401);
    const res = await logout(s.idToken);
    expect(res.status).toBe(302);
    expect(await t.store.get(keys.samlSession(s.claims.sid as string))).toBeNull();

    const s2 = await signIn(t);
    expect((await logout(null)).status).toBe(400);
    expect((await logout(`${s2.idToken}x`)).status).toBe(400);
    expect((await logout(s2.idToken, "/saml/logout/globex")).status).toBe(400);
    expect((await logout(s2.idToken, "/saml/logout/acme?RelayState=https%3A%2F%2Fevil.example")).status).toBe(
      400,
    );
    const pwd = await t.call("/accounts/signUp", {
      json: { email: "pat@example.test", password: "correct horse battery" },
    });
    expect((await logout((await pwd.json()).idToken)).status).toBe(400);
    // None of these ended the session.
    expect(await t.store.get(keys.samlSession(s2.claims.sid as string))).not.toBeNull();
    const page = await logout(null);
    expect(await page.text()).toContain("Bad Request");
  });

  it("a second logout with the same cookie only expires it", async () => {
    const s = await signIn(t);
    await logout(s.idToken);
    const res = await logout(s.idToken, "/saml/logout/acme?RelayState=%2Fagain");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/again");
    expect(setCookies(res)).toEqual([EXPIRED_IDT]);
  });

  // ------------------------------------------------------------------ IdP-initiated (§9.3)

  it("IdP-initiated over Redirect: ends the session and answers a signed LogoutResponse", async () => {
    const s = await signIn(t);
    const sid = s.claims.sid as string;
    const { sessionIndex } = JSON.parse((await t.store.get(keys.samlSession(sid)))!);
    const requestId = uniqueId("lq");
    const query = redirectQuery(
      t.idp.logoutRequest({
        id: requestId,
        nameId: DEFAULT_USER,
        sessionIndexes: [sessionIndex],
        destination: SLO,
      }),
      idpKey,
      { relayState: "idp-state-1" },
    );
    const res = await slo(query);
    expect(res.status, await res.clone().text()).toBe(302);
    const answer = parseSpRedirect(res.headers.get("location")!);
    expect(answer.base).toBe(IDP_SLO_RESPONSE);
    expect([...answer.params.keys()]).toEqual(["SAMLResponse", "RelayState", "SigAlg", "Signature"]);
    expect(answer.params.get("RelayState")).toBe("idp-state-1");
    expect(await spRedirectSignatureValid(answer.rawQuery)).toBe(true);
    expect(answer.xml).toContain(`InResponseTo="${requestId}"`);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(answer.xml).toContain(`Destination="${IDP_SLO_RESPONSE}"`);
    expect(answer.xml).toContain('<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>');
    expect(setCookies(res)).toEqual([EXPIRED_IDT]);

    expect(await t.store.get(keys.samlSession(sid))).toBeNull();
    expect((await lookup(s.idToken)).status).toBe(401);
    expect((await exchange(s.idToken)).status).toBe(401);
    expect(await metrics()).toContain('tikti_saml_logout_requests_total{direction="idp",tid="acme"} 1');

    // Replay of the same LogoutRequest ID.
    expect((await slo(query)).status).toBe(403);
  });

  it("IdP-initiated over POST (enveloped signature) and for an encrypted-assertion session", async () => {
    const s = await signIn(t, { encrypt: "aes256cbc" });
    const unsigned = t.idp.logoutRequest({ nameId: DEFAULT_USER, destination: SLO, sign: true });
    const signed = await t.idp.signRoot(unsigned);
    const res = await t.call("/saml/slo", {
      method: "POST",
      key: false,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        SAMLRequest: Buffer.from(signed).toString("base64"),
        RelayState: "rs",
      }).toString(),
    });
    expect(res.status, await res.clone().text()).toBe(302);
    const answer = parseSpRedirect(res.headers.get("location")!);
    expect(answer.params.get("RelayState")).toBe("rs");
    expect(await t.store.get(keys.samlSession(s.claims.sid as string))).toBeNull();
    expect((await lookup(s.idToken)).status).toBe(401);
  });

  it("ends only the listed SessionIndex, or every session of the NameID in that tenant when none is listed", async () => {
    const a = await signIn(t, { assertion: { sessionIndex: "_idx-a" } });
    const b = await signIn(t, { assertion: { sessionIndex: "_idx-b" } });
    const c = await signIn(t, { assertion: { sessionIndex: "_idx-c" } });
    const one = redirectQuery(
      t.idp.logoutRequest({ nameId: DEFAULT_USER, sessionIndexes: ["_idx-b"], destination: SLO }),
      idpKey,
    );
    expect((await slo(one)).status).toBe(302);
    expect((await lookup(a.idToken)).status).toBe(200);
    expect((await lookup(b.idToken)).status).toBe(401);
    expect((await lookup(c.idToken)).status).toBe(200);

    const all = redirectQuery(t.idp.logoutRequest({ nameId: DEFAULT_USER, destination: SLO }), idpKey);
    expect((await slo(all)).status).toBe(302);
    expect((await lookup(a.idToken)).status).toBe(401);
    expect((await lookup(c.idToken)).status).toBe(401);
    expect(await t.store.hgetall(keys.samlSessionIndex(DEFAULT_USER))).toEqual(new Map());
  });

  it("answers Success when no session matches (candidates from the entity-id index)", async () => {
    const res = await slo(
      redirectQuery(t.idp.logoutRequest({ nameId: "nobody@example.test", destination: SLO }), idpKey),
    );
    expect(res.status).toBe(302);
    expect(parseSpRedirect(res.headers.get("location")!).xml).toContain("status:Success");
  });

  it("refuses unsigned, forged, misdirected and unknown-issuer LogoutRequests without ending anything", async () => {
    const s = await signIn(t);
    const request = (o: Partial<Parameters<FlowApp["idp"]["logoutRequest"]>[0]> = {}) =>
      t.idp.logoutRequest({ nameId: DEFAULT_USER, destination: SLO, ...o });
    const deflated = (xml: string) =>
      `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString("base64"))}`;
    const cases: Array<[string, number]> = [
      [deflated(request()), 403],
      [redirectQuery(request(), await pem(ATTACKER_KEY)), 403],
      [redirectQuery(request({ destination: "https://other.example/slo" }), idpKey), 400],
      [redirectQuery(request({ issuer: "https://unknown-idp.example/metadata" }), idpKey), 403],
      [redirectQuery(request({ issueInstant: -3600 }), idpKey), 403],
      [`${redirectQuery(request(), idpKey)}&SAMLRequest=x`, 400],
      ["", 400],
      ["SAMLRequest=x&SAMLResponse=y", 400],
    ];
    for (const [query, status] of cases) {
      const res = await slo(query);
      expect(res.status, query.slice(0, 40)).toBe(status);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    }
    expect((await lookup(s.idToken)).status).toBe(200);
    expect((await t.call("/saml/slo", { method: "PUT", key: false })).status).toBe(405);
  });

  it("uses the Redirect binding for the answer when that is what the IdP advertises", async () => {
    const t2 = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      slo: [[REDIRECT, IDP_SLO]],
    });
    await signIn(t2);
    const res = await t2.call(
      `/saml/slo?${redirectQuery(t2.idp.logoutRequest({ nameId: DEFAULT_USER, destination: SLO }), idpKey)}`,
      { key: false },
    );
    expect(res.status).toBe(302);
    expect(parseSpRedirect(res.headers.get("location")!).base).toBe(IDP_SLO);
  });
});
