/**
 * POST /saml/acs and POST /saml/acs/:tid (docs/spec/saml.md §6, §14, §15): the whole SP-initiated round
 * trip with responses signed by xmlsec1 for the recorded request, the idToken cookie working on
 * lookup and exchange, every reason code the route can reach with its bucket, page, metrics and
 * audit record, the state cookie and repost page, unsolicited responses, encrypted assertions,
 * RelayState handling and the fail-closed audit.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { storeUnavailable } from "../../../src/errors.ts";
import { keys } from "../../../src/store/keys.ts";
import type { KV } from "../../../src/store/kv.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import {
  ACS,
  ATTACKER_CRT,
  ATTACKER_KEY,
  claimsOf,
  cookieSet,
  DEFAULT_USER,
  encryptForSp,
  type FlowApp,
  flowApp,
  IDP_ENTITY,
  type Idp,
  login,
  PERSISTENT_FORMAT,
  postAcs,
  SP_ENTITY,
  STATE,
  samlAudits,
  setCookies,
  setupFiles,
  signIn,
} from "./idp.ts";

const EXPIRED_STATE = `${STATE}=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0`;
const AUDIT_KEYS = new Set([
  "log",
  "event",
  "schemaVersion",
  "ts",
  "tid",
  "decision",
  "reason",
  "detail",
  "requestID",
  "assertionID",
  "subjectHash",
  "nameIDFormat",
  "issuer",
  "audience",
  "attrHash",
  "userId",
  "jit",
  "durationMs",
  "httpRequestId",
  "replicaID",
  "buildSHA",
]);
const PAGE_TEXT: Record<number, string> = {
  400: "Login link is not valid. Start again from the beginning.",
  403: "Login could not be verified. Contact your administrator.",
  404: "Single sign-on is not configured for this workspace.",
  500: "We could not complete your login. Try again in a few seconds.",
};

async function scanKeys(t: FlowApp, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of t.store.scan(prefix)) out.push(...batch);
  return out.sort();
}

async function metricsText(t: FlowApp): Promise<string> {
  return (await t.call("/metrics")).text();
}

forEachEngine("POST /saml/acs (docs/spec/saml.md §6)", (engine) => {
  let setup: Idp;
  let t: FlowApp;
  let clock: ReturnType<typeof manualClock>;
  beforeAll(async () => {
    setup = await setupFiles();
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    clock = manualClock(Date.now());
    t = await flowApp({ store: await engine.freshStore(), setup, clock });
  });

  /** A rejection: status, neutral page, expired state cookie, no idToken, audit record, metrics. */
  async function expectRejected(
    res: Response,
    status: number,
    reason: string,
    o: { detail?: string; tid?: string; stateCookie?: boolean } = {},
  ): Promise<string> {
    const body = await res.text();
    expect(res.status, body).toBe(status);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const errorId = res.headers.get("x-tikti-error-id");
    expect(errorId).toMatch(/^[0-9a-f]{12}$/);
    expect(body).toContain(errorId!);
    expect(body).toContain(PAGE_TEXT[status]!);
    expect(body).not.toContain(reason);
    expect(cookieSet(res, "tikti_idt")).toBeNull();
    if (o.stateCookie !== false) expect(setCookies(res)).toEqual([EXPIRED_STATE]);
    const audit = samlAudits(t).at(-1)!;
    expect(audit).toMatchObject({ decision: "reject", reason, tid: o.tid ?? "acme" });
    if (o.detail) expect(audit.detail).toBe(o.detail);
    expect(audit.userId).toBeUndefined();
    const metrics = await metricsText(t);
    expect(metrics).toContain(
      `tikti_saml_validation_failures_total{reason="${reason}",tid="${o.tid ?? "acme"}"}`,
    );
    expect(metrics).toContain(`tikti_saml_responses_total{result="reject",tid="${o.tid ?? "acme"}"}`);
    return body;
  }

  /** Login, then post a response built with `o` for the recorded request. */
  async function attempt(
    o: Parameters<FlowApp["idp"]["signedResponse"]>[0] extends infer I
      ? Partial<Omit<I & object, "acsUrl" | "audience" | "requestId">> & { requestId?: string | null }
      : never = {},
  ): Promise<{ res: Response; requestId: string }> {
    const l = await login(t);
    const r = await t.idp.signedResponse({
      acsUrl: ACS,
      audience: SP_ENTITY,
      ...o,
      requestId: o.requestId === undefined ? l.requestId : o.requestId,
    });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    return { res, requestId: l.requestId };
  }

  it("accepts a signed response: 302 to returnTo, idToken cookie, session, audit, metrics", async () => {
    const s = await signIn(t, { query: "?RelayState=%2Fapp" });
    const res = s.res;
    expect(res.headers.get("location")).toBe("/app");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(setCookies(res)).toEqual([
      `tikti_idt=${s.idToken}; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax`,
      EXPIRED_STATE,
    ]);

    // idToken (docs/spec/tokens.md §2): amr saml, sid, tid = the login tenant, exp = session expiry.
    const c = s.claims;
    const user = (await t.app.services.repos.users.findByEmail(DEFAULT_USER))!;
    expect(c).toMatchObject({
      iss: "https://id.test.example",
      aud: "tikti",
      sub: user.localId,
      userId: user.localId,
      email: DEFAULT_USER,
      role: "COMPANY_EMPLOYEE",
      tid: "acme",
      amr: ["saml"],
      ver: 0,
    });
    expect(c.sid).toMatch(/^[0-9a-f]{32}$/);
    expect(c.exp).toBe((c.iat as number) + 3600);
    expect(Object.keys(c)).toEqual([
      "iss",
      "aud",
      "sub",
      "userId",
      "email",
      "role",
      "tid",
      "amr",
      "ver",
      "sid",
      "iat",
      "exp",
      "jti",
    ]);

    // Session (docs/spec/storage.md §3.3) and its index entry, both expiring with the session.
    const session = JSON.parse((await t.store.get(keys.samlSession(c.sid as string)))!);
    expect(session).toMatchObject({
      sid: c.sid,
      tenantId: "acme",
      userId: user.localId,
      nameId: DEFAULT_USER,
      nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      sessionIndex: expect.stringMatching(/^_s/),
    });
    expect(Date.parse(session.expiresAt) / 1000).toBe(c.exp);
    expect(await t.store.pttl(keys.samlSession(c.sid as string))).toBeGreaterThan(3_500_000);
    const idx = await t.store.hgetall(keys.samlSessionIndex(DEFAULT_USER));
    expect(JSON.parse(idx.get(`acme:${c.sid}`)!)).toEqual({
      userId: user.localId,
      sessionIndex: session.sessionIndex,
      expiresAt: session.expiresAt,
    });
    // The request record is gone; the assertion id is in the replay cache.
    expect(await t.store.get(keys.samlRequest(s.login.requestId))).toBeNull();

    // The cookie idToken works like any idToken: lookup and exchange.
    const lookup = await t.call("/accounts/lookup", { json: { idToken: s.idToken } });
    expect(lookup.status).toBe(200);
    expect(JSON.stringify(await lookup.json())).toContain(user.localId);
    expect((await t.call("/tenants/acme/clients", { json: { clientId: "app-api" } })).status).toBe(200);
    const exchange = await t.call("/accounts/token/exchange", {
      json: { idToken: s.idToken, audience: "app-api" },
    });
    expect(exchange.status, await exchange.clone().text()).toBe(200);
    const access = claimsOf((await exchange.json()).accessToken);
    expect(access).toMatchObject({ sub: user.localId, tid: "acme", aud: "app-api" });

    // Audit record (§15): accept, only the schema's properties, no raw NameID or email.
    const audits = samlAudits(t);
    expect(audits).toHaveLength(1);
    const a = audits[0]!;
    expect(a).toMatchObject({
      event: "saml.assertion",
      schemaVersion: 1,
      tid: "acme",
      decision: "accept",
      reason: "ok",
      requestID: s.login.requestId,
      assertionID: expect.stringMatching(/^_a/),
      subjectHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      nameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      issuer: IDP_ENTITY,
      audience: SP_ENTITY,
      attrHash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      userId: user.localId,
      jit: "created",
      replicaID: "test-replica",
      httpRequestId: expect.any(String),
    });
    expect(Number.isInteger(a.durationMs) && (a.durationMs as number) >= 0).toBe(true);
    for (const k of Object.keys(a)) expect(AUDIT_KEYS.has(k), k).toBe(true);
    const line = t.auditLines.find((l) => l.includes("saml.assertion"))!;
    expect(line).not.toContain(DEFAULT_USER);
    expect(line).not.toContain("Alice");

    const metrics = await metricsText(t);
    expect(metrics).toContain('tikti_saml_responses_total{result="accept",tid="acme"} 1');
    expect(metrics).toContain('tikti_saml_jit_provisions_total{tid="acme"} 1');
    expect(metrics).toContain('tikti_saml_response_validation_duration_seconds_count{tid="acme"} 1');
    expect(metrics).toMatch(/tikti_saml_observed_clock_skew_seconds\{tid="acme"\} -?\d/);
    expect(metrics).toContain('tikti_signin_total{method="saml",result="success"} 1');
  });

  it("ends the session at SessionNotOnOrAfter when that is earlier than sessionTTL", async () => {
    const s = await signIn(t, { assertion: { sessionNotOnOrAfter: 600 } });
    expect(s.claims.exp).toBe(Math.floor(clock.now() / 1000) + 600);
    expect(setCookies(s.res)[0]).toContain("Max-Age=600;");
    const session = JSON.parse((await t.store.get(keys.samlSession(s.claims.sid as string)))!);
    expect(Date.parse(session.expiresAt) / 1000).toBe(s.claims.exp);
  });

  it("delivers the cookie with the configured name, domain and attributes", async () => {
    const t2 = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      saml: {
        acs: {
          cookieName: "sso_tok",
          cookieDomain: "test.example",
          cookieSameSite: "strict",
          sessionTTL: 120,
          postLoginURL: "/home",
        },
      },
    });
    const l = await login(t2);
    const r = await t2.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t2, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/home");
    const token = cookieSet(res, "sso_tok")!;
    expect(setCookies(res)[0]).toBe(
      `sso_tok=${token}; Path=/; Domain=test.example; Max-Age=120; HttpOnly; Secure; SameSite=Strict`,
    );
    expect(cookieSet(res, "tikti_idt")).toBeNull();
  });

  it.each([["aes128gcm"], ["aes256gcm"], ["aes128cbc"], ["aes256cbc"]] as const)(
    "accepts an encrypted assertion (%s, RSA-OAEP)",
    async (encrypt) => {
      const s = await signIn(t, { encrypt });
      expect(s.claims.amr).toEqual(["saml"]);
      const lookup = await t.call("/accounts/lookup", { json: { idToken: s.idToken } });
      expect(lookup.status).toBe(200);
      expect(samlAudits(t).at(-1)).toMatchObject({ decision: "accept", reason: "ok" });
    },
  );

  it("accepts an assertion-signed response without a Response signature", async () => {
    const s = await signIn(t, { signResponse: false });
    expect(s.claims.tid).toBe("acme");
  });

  // --------------------------------------------------------------------- state cookie (§6.2)

  it("offers the repost page when the state cookie is missing, then recovers on the same-site repost", async () => {
    const l = await login(t, "acme", "?RelayState=%2Fapp");
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const page = await postAcs(t, { samlResponse: r.base64, relayState: l.relayState });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(setCookies(page)).toEqual([]);
    const csp = page.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).toBe(
      `default-src 'none'; script-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
    );
    expect(page.headers.get("cache-control")).toBe("no-store");
    const html = await page.text();
    expect(html).toContain('<form id="tikti-saml-repost" method="post" action="/saml/acs">');
    expect(html).toContain(`<input type="hidden" name="SAMLResponse" value="${r.base64}">`);
    expect(html).toContain('<input type="hidden" name="RelayState" value="/app">');
    expect(html).toContain('<input type="hidden" name="_tikti_state_retry" value="1">');
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain("<noscript>");
    // Nothing parsed, consumed or audited.
    expect(await t.store.get(keys.samlRequest(l.requestId))).not.toBeNull();
    expect(samlAudits(t)).toEqual([]);

    // The repost is same-site: the cookie travels now.
    const body = new URLSearchParams({ SAMLResponse: r.base64, RelayState: "/app", _tikti_state_retry: "1" });
    const res = await postAcs(t, { body: body.toString(), cookie: `${STATE}=${l.requestId}` });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/app");
    const metrics = await metricsText(t);
    expect(metrics).toContain('tikti_saml_state_repost_total{result="offered"} 1');
    expect(metrics).toContain('tikti_saml_state_repost_total{result="recovered"} 1');
  });

  it("escapes the reposted values in the page", async () => {
    const page = await postAcs(t, { samlResponse: 'x"><script>alert(1)</script>', relayState: '"><b>' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).not.toContain('"><b>');
    expect(html).toContain("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("rejects a retry without a state cookie (request_not_found)", async () => {
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const body = new URLSearchParams({
      SAMLResponse: r.base64,
      RelayState: l.relayState!,
      _tikti_state_retry: "1",
    });
    const res = await postAcs(t, { body: body.toString() });
    await expectRejected(res, 400, "request_not_found", { tid: "unknown", detail: "state_cookie_missing" });
    expect(await metricsText(t)).toContain('tikti_saml_state_repost_total{result="failed"} 1');
  });

  it("ignores a state cookie without the __Host- prefix", async () => {
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `tikti_saml_state=${l.requestId}`,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("tikti-saml-repost");
  });

  it("rejects a response for a request this browser did not start, and keeps that request", async () => {
    const mine = await login(t);
    const theirs = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: theirs.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: theirs.relayState,
      cookie: `${STATE}=${mine.requestId}`,
    });
    await expectRejected(res, 400, "request_not_found", {
      tid: "unknown",
      detail: "in_response_to_not_bound",
    });
    expect(await t.store.get(keys.samlRequest(theirs.requestId))).not.toBeNull();
    expect(await t.store.get(keys.samlRequest(mine.requestId))).not.toBeNull();
  });

  it("accepts when one of several state cookies matches", async () => {
    const a = await login(t);
    const b = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: b.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: b.relayState,
      cookie: `${STATE}=${a.requestId}; other=1; ${STATE}=${b.requestId}`,
    });
    expect(res.status).toBe(302);
  });

  // --------------------------------------------------------------------- step 1 (§6.3)

  it("consumes the request once: the same response posted twice is request_not_found", async () => {
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const post = () =>
      postAcs(t, { samlResponse: r.base64, relayState: l.relayState, cookie: `${STATE}=${l.requestId}` });
    expect((await post()).status).toBe(302);
    await expectRejected(await post(), 400, "request_not_found", {
      tid: "unknown",
      detail: "request_record",
    });
  });

  it("rejects an expired (vanished) request record", async () => {
    const l = await login(t);
    await t.store.del(keys.samlRequest(l.requestId));
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 400, "request_not_found", { tid: "unknown" });
  });

  it("rejects an altered RelayState, and the request is gone afterwards", async () => {
    const l = await login(t, "acme", "?RelayState=%2Fapp");
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: "https://evil.example/",
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 400, "request_not_found", { detail: "relay_state" });
    expect(res.headers.get("location")).toBeNull();
    expect(await t.store.get(keys.samlRequest(l.requestId))).toBeNull();
    // A retry with the right RelayState cannot use the consumed request.
    const again = await postAcs(t, {
      samlResponse: r.base64,
      relayState: "/app",
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(again.status).toBe(400);
  });

  it("redirects to the stored returnTo only after checking it again (unsafe → postLoginURL)", async () => {
    const l = await login(t, "acme", "?RelayState=%2Fapp");
    const key = keys.samlRequest(l.requestId);
    const record = JSON.parse((await t.store.get(key))!);
    await t.store.set(key, JSON.stringify({ ...record, returnTo: "//evil.example/steal" }), {
      ttlMs: 60_000,
    });
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: "/app",
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/dashboard");
  });

  it("rejects an IdP-initiated response posted to /saml/acs even with a state cookie", async () => {
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: null });
    const res = await postAcs(t, { samlResponse: r.base64, cookie: `${STATE}=${l.requestId}` });
    await expectRejected(res, 400, "request_not_found", { tid: "unknown" });
  });

  it.each([
    ["a JSON body", { contentType: "application/json", body: '{"SAMLResponse":"x"}' }, "form_media_type"],
    ["an unknown field", { body: "SAMLResponse=eA%3D%3D&extra=1" }, "form_field"],
    [
      "two SAMLResponse fields",
      { body: "SAMLResponse=eA%3D%3D&SAMLResponse=eA%3D%3D" },
      "form_saml_response",
    ],
    ["an empty SAMLResponse", { body: "SAMLResponse=" }, "form_saml_response"],
    [
      "a RelayState over 80 bytes",
      { body: `SAMLResponse=eA%3D%3D&RelayState=${"a".repeat(81)}` },
      "form_relay_state",
    ],
    [
      "two RelayState fields",
      { body: "SAMLResponse=eA%3D%3D&RelayState=a&RelayState=b" },
      "form_relay_state",
    ],
    ["a retry flag other than 1", { body: "SAMLResponse=eA%3D%3D&_tikti_state_retry=yes" }, "form_retry"],
  ])("rejects %s (request_not_found)", async (_label, input, detail) => {
    const res = await postAcs(t, { ...input, cookie: `${STATE}=_${"0".repeat(40)}` });
    await expectRejected(res, 400, "request_not_found", { tid: "unknown", detail });
  });

  it("rejects a message that is not strict base64 (request_not_found) and a DOCTYPE (xxe_detected)", async () => {
    const l = await login(t);
    const res = await postAcs(t, { samlResponse: "%%%not-base64", cookie: `${STATE}=${l.requestId}` });
    await expectRejected(res, 400, "request_not_found", { tid: "unknown" });
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const doctype = Buffer.from(`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${r.xml}`).toString(
      "base64",
    );
    const res2 = await postAcs(t, {
      samlResponse: doctype,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res2, 403, "xxe_detected", { tid: "unknown" });
    // Nothing was consumed by a message that never got past P1–P4.
    expect(await t.store.get(keys.samlRequest(l.requestId))).not.toBeNull();
  });

  it("rejects two assertions (signature_wrapping_detected)", async () => {
    const l = await login(t);
    const assertion = t.idp.assertion({ inResponseTo: l.requestId, audience: SP_ENTITY, sign: false }, ACS);
    const xml = t.idp.response(
      { inResponseTo: l.requestId, sign: false },
      assertion + assertion.replace(/ID="_a/, 'ID="_b'),
      ACS,
    );
    const res = await postAcs(t, {
      samlResponse: Buffer.from(xml).toString("base64"),
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 403, "signature_wrapping_detected", { tid: "unknown" });
  });

  // --------------------------------------------------------------------- steps 1a–12

  it("rejects when the tenant was disabled after login (tid_unknown, 404)", async () => {
    const l = await login(t);
    expect((await t.call("/tenants/acme/status", { json: { status: "DISABLED" } })).status).toBe(200);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 404, "tid_unknown", { detail: "tenant" });
  });

  it("rejects when the IdP record was deleted after login (tid_unknown)", async () => {
    const l = await login(t);
    expect((await t.call("/tenants/acme/saml/idp", { method: "DELETE" })).status).toBe(204);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 404, "tid_unknown", { detail: "no_idp" });
  });

  it("answers internal_error (500) for an unreadable IdP record", async () => {
    const l = await login(t);
    await t.store.set(keys.samlIdp("acme"), "not json");
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 500, "internal_error", { detail: "idp_record_corrupt" });
  });

  it("answers idp_metadata_stale (500) when every pinned certificate is retired", async () => {
    const l = await login(t);
    const key = keys.samlIdp("acme");
    const record = JSON.parse((await t.store.get(key))!);
    record.signingCerts = record.signingCerts.map((c: Record<string, unknown>) => ({
      ...c,
      retireAfter: new Date(clock.now() - 1000).toISOString(),
    }));
    await t.store.set(key, JSON.stringify(record));
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 500, "idp_metadata_stale");
  });

  it.each([
    ["destination_mismatch", 400, { response: { destination: "https://other.example/acs" } }],
    ["status_not_success", 403, { response: { status: "urn:oasis:names:tc:SAML:2.0:status:Requester" } }],
    ["signature_invalid", 403, { key: ATTACKER_KEY, crt: ATTACKER_CRT }],
    ["algorithm_disallowed", 403, { signAssertion: false }],
    ["audience_mismatch", 403, { assertion: { audience: "https://someone-else.example/saml" } }],
    ["issuer_mismatch", 403, { assertion: { issuer: "https://evil-idp.example/metadata" } }],
    ["subject_confirmation_mismatch", 403, { assertion: { recipient: "https://other.example/acs" } }],
    ["clock_skew", 403, { assertion: { notBefore: -3600, notOnOrAfter: -600, issueInstant: -3600 } }],
    ["clock_skew", 403, { assertion: { notBefore: 1800, issueInstant: 1800 } }],
    [
      "missing_attribute",
      400,
      {
        assertion: {
          nameId: "opaque-123",
          nameIdFormat: PERSISTENT_FORMAT,
          attributes: { displayName: ["X"] },
        },
      },
    ],
    ["missing_attribute", 400, { assertion: { attributes: { mail: ["not-an-email"] } } }],
  ] as const)("rejects %s (%i)", async (reason, status, o) => {
    const { res, requestId } = await attempt(o as never);
    await expectRejected(res, status, reason);
    // The request was consumed in step 1 whatever happened afterwards.
    expect(await t.store.get(keys.samlRequest(requestId))).toBeNull();
    expect(await scanKeys(t, "saml:sid:")).toEqual([]);
  });

  it("rejects an unsigned response whose assertion is signed by another key (assertion_signature_invalid)", async () => {
    const { res } = await attempt({ signResponse: false, key: ATTACKER_KEY, crt: ATTACKER_CRT });
    await expectRejected(res, 403, "assertion_signature_invalid");
  });

  it("rejects an assertion encrypted for another key (decrypt_failed)", async () => {
    const l = await login(t);
    const assertion = await t.idp.signRoot(
      t.idp.assertion({ inResponseTo: l.requestId, audience: SP_ENTITY }, ACS),
    );
    const enc = await encryptForSp(assertion, "http://www.w3.org/2009/xmlenc11#aes128-gcm", ATTACKER_CRT);
    const xml = await t.idp.signRoot(
      t.idp.response(
        { inResponseTo: l.requestId },
        `<saml:EncryptedAssertion>${enc}</saml:EncryptedAssertion>`,
        ACS,
      ),
    );
    const res = await postAcs(t, {
      samlResponse: Buffer.from(xml).toString("base64"),
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    await expectRejected(res, 403, "decrypt_failed");
  });

  it("rejects a plaintext assertion when the IdP record requires encryption (decrypt_failed)", async () => {
    expect(
      (await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { requireEncryptedAssertion: true } }))
        .status,
    ).toBe(200);
    const { res } = await attempt();
    await expectRejected(res, 403, "decrypt_failed");
    await signIn(t, { encrypt: "aes256gcm" });
  });

  it("blocks a replayed assertion id on a new request (request_replay)", async () => {
    const first = await signIn(t, { assertion: { id: "_replayed-assertion-1" } });
    expect(first.res.status).toBe(302);
    const { res } = await attempt({ assertion: { id: "_replayed-assertion-1" } });
    await expectRejected(res, 403, "request_replay");
    expect(await metricsText(t)).toContain('tikti_saml_replay_blocked_total{tid="acme"} 1');
    const ttl = await t.store.pttl(keys.samlSeen("_replayed-assertion-1"));
    expect(ttl).toBeGreaterThan(3_500_000);
  });

  it("never echoes the message, NameID, attributes or RelayState in error pages", async () => {
    const marker = "<script>alert('x')</script>";
    const l = await login(t, "acme", "?RelayState=%2Fapp");
    const r = await t.idp.signedResponse({
      acsUrl: ACS,
      audience: "https://wrong.example",
      requestId: l.requestId,
      assertion: {
        nameId: `victim${marker}@example.test`,
        attributes: { mail: [`m${marker}@x.test`], displayName: [marker] },
      },
    });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: "/app",
      cookie: `${STATE}=${l.requestId}`,
    });
    const body = await expectRejected(res, 403, "audience_mismatch");
    for (const needle of [
      marker,
      "alert",
      "victim",
      "<saml",
      "samlp",
      "Assertion",
      r.base64.slice(0, 24),
      "acme",
      "eyJ",
      "/app",
      l.requestId,
    ]) {
      expect(body, needle).not.toContain(needle);
    }
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    // Nor do audit records or the access/decision logs get the NameID or email.
    for (const line of t.auditLines) expect(line).not.toContain("victim");
  });

  it("answers 413 for a body over 256 KiB, without an audit record", async () => {
    const res = await postAcs(t, {
      samlResponse: "A".repeat(256 * 1024 + 10),
      cookie: `${STATE}=_${"0".repeat(40)}`,
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain("Request Too Large");
    expect(samlAudits(t)).toEqual([]);
    expect(setCookies(res)).toEqual([EXPIRED_STATE]);
  });

  it("applies the samlIp rate limit (429, no audit record)", async () => {
    const limited = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      config: { rateLimits: { enabled: true, samlIp: { limit: 1, windowSeconds: 60 } } },
    });
    const res = await postAcs(limited, { samlResponse: "eA==" });
    expect(res.status).toBe(200);
    const res2 = await postAcs(limited, { samlResponse: "eA==" });
    expect(res2.status).toBe(429);
    expect(Number(res2.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(samlAudits(limited)).toEqual([]);
  });

  it("fails closed when the audit record of an acceptance cannot be written", async () => {
    const sink = { fail: false };
    t = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      auditSink: () => {
        if (sink.fail) throw new Error("disk full");
      },
    });
    const l = await login(t);
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    sink.fail = true;
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("Temporarily Unavailable");
    expect(cookieSet(res, "tikti_idt")).toBeNull();
    expect(setCookies(res)).toEqual([EXPIRED_STATE]);
    expect(await scanKeys(t, "saml:sid:")).toEqual([]);
    const metrics = await metricsText(t);
    expect(metrics).toContain('tikti_saml_audit_failures_total{decision="accept"} 1');
  });

  it("fails closed when the audit record of a rejection cannot be written (500)", async () => {
    t = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock,
      auditSink: async () => {
        throw new Error("sink closed");
      },
    });
    const l = await login(t);
    const r = await t.idp.signedResponse({
      acsUrl: ACS,
      audience: "https://wrong.example",
      requestId: l.requestId,
    });
    const res = await postAcs(t, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(500);
    expect(await metricsText(t)).toContain('tikti_saml_audit_failures_total{decision="reject"} 1');
  });

  it("answers 503 with Retry-After when the store is unreachable (internal_error, audited)", async () => {
    let down = false;
    const real = await engine.freshStore();
    const flaky = new Proxy(real, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (down && (prop === "consume" || prop === "set"))
            throw storeUnavailable(new Error("connection refused"));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as KV;
    const t2 = await flowApp({ store: flaky, setup, clock });
    const l = await login(t2);
    const r = await t2.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId: l.requestId });
    down = true;
    const res = await postAcs(t2, {
      samlResponse: r.base64,
      relayState: l.relayState,
      cookie: `${STATE}=${l.requestId}`,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.text()).toContain("Temporarily Unavailable");
    expect(samlAudits(t2).at(-1)).toMatchObject({
      decision: "reject",
      reason: "internal_error",
      detail: "store_unavailable",
    });
    // Login while the store is down: the same 503 page, no state cookie.
    const loginRes = await t2.call("/saml/login/acme", { key: false });
    expect(loginRes.status).toBe(503);
    expect(setCookies(loginRes)).toEqual([]);
  });

  // --------------------------------------------------------------------- unsolicited (§6.6)

  it("refuses unsolicited responses unless the IdP record opts in", async () => {
    const acs = `${ACS}/acme`;
    const r = await t.idp.signedResponse({ acsUrl: acs, audience: SP_ENTITY, requestId: null });
    const res = await postAcs(t, { path: "/saml/acs/acme", samlResponse: r.base64 });
    await expectRejected(res, 400, "request_not_found", {
      detail: "unsolicited_not_allowed",
      stateCookie: false,
    });
    expect(setCookies(res)).toEqual([]);
  });

  it("accepts an opted-in unsolicited response once: postLoginURL, RelayState ignored, replay blocked", async () => {
    expect(
      (await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { allowUnsolicited: true } })).status,
    ).toBe(200);
    const acs = `${ACS}/acme`;
    const r = await t.idp.signedResponse({ acsUrl: acs, audience: SP_ENTITY, requestId: null });
    const res = await postAcs(t, {
      path: "/saml/acs/acme",
      samlResponse: r.base64,
      relayState: "/elsewhere",
    });
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get("location")).toBe("/dashboard");
    const token = cookieSet(res, "tikti_idt")!;
    expect(claimsOf(token)).toMatchObject({ tid: "acme", amr: ["saml"] });
    expect((await t.call("/accounts/lookup", { json: { idToken: token } })).status).toBe(200);
    expect(samlAudits(t).at(-1)).toMatchObject({ decision: "accept" });
    expect(samlAudits(t).at(-1)!.requestID).toBeUndefined();

    const again = await postAcs(t, { path: "/saml/acs/acme", samlResponse: r.base64 });
    await expectRejected(again, 403, "request_replay", { stateCookie: false });
  });

  it("checks unsolicited responses: InResponseTo, Destination {acsURL}/{tid}, freshness, tenant", async () => {
    expect(
      (await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { allowUnsolicited: true } })).status,
    ).toBe(200);
    const acs = `${ACS}/acme`;
    const post = async (o: Parameters<FlowApp["idp"]["signedResponse"]>[0], path = "/saml/acs/acme") =>
      postAcs(t, { path, samlResponse: (await t.idp.signedResponse(o)).base64 });

    const withIrt = await post({ acsUrl: acs, audience: SP_ENTITY, requestId: `_${"a".repeat(40)}` });
    await expectRejected(withIrt, 400, "request_not_found", {
      stateCookie: false,
      detail: "unsolicited_in_response_to",
    });

    const solicitedUrl = await post({ acsUrl: ACS, audience: SP_ENTITY, requestId: null });
    await expectRejected(solicitedUrl, 400, "destination_mismatch", { stateCookie: false });

    const old = await post({
      acsUrl: acs,
      audience: SP_ENTITY,
      requestId: null,
      response: { issueInstant: -500 },
      assertion: { issueInstant: -500 },
    });
    await expectRejected(old, 403, "clock_skew", { stateCookie: false });

    const ghost = await post(
      { acsUrl: `${ACS}/ghost`, audience: SP_ENTITY, requestId: null },
      "/saml/acs/ghost",
    );
    await expectRejected(ghost, 404, "tid_unknown", { tid: "unknown", stateCookie: false });
    expect(await metricsText(t)).not.toContain('tid="ghost"');
  });
});
