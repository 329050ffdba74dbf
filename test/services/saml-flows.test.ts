/**
 * The SAML browser flows called as services, without HTTP (docs/adr/0070-saml-flow-decisions.md):
 * `createServices` builds them once as `services.samlFlows`, and each returns a decision value —
 * never a `Response` — that src/http/saml/render.ts renders. Embedded store only; the HTTP answers of
 * every flow are checked on both engines in test/saml/flows/ and in a real browser in test/browser/.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { renderDecision } from "../../src/http/saml/render.ts";
import { silentLogger } from "../../src/logger.ts";
import type { FlowDecision, FlowRequest } from "../../src/services/saml/flow.ts";
import { expireCookie, setCookie } from "../../src/services/saml/flow.ts";
import {
  ACS,
  type FlowApp,
  flowApp,
  type Idp,
  SP_ENTITY,
  samlAudits,
  setupFiles,
} from "../saml/flows/idp.ts";
import { manualClock } from "../support/app.ts";
import { openTempEmbedded } from "../support/stores.ts";

const FORM = "application/x-www-form-urlencoded";

function request(cookies: Partial<FlowRequest["cookies"]> = {}): FlowRequest {
  return {
    log: silentLogger,
    httpRequestId: "req-1",
    cookies: { state: [], slo: [], idToken: [], ...cookies },
  };
}

const form = (fields: Array<[string, string]>) =>
  new TextEncoder().encode(new URLSearchParams(fields).toString());

describe("SAML flows as services (decisions, no HTTP)", () => {
  let setup: Idp;
  let t: FlowApp;
  beforeAll(async () => {
    setup = await setupFiles();
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    t = await flowApp({ store: await openTempEmbedded(), setup, clock: manualClock(Date.now()) });
  });

  async function startLogin(): Promise<{ requestId: string; relayState: string }> {
    const d = await t.app.services.samlFlows.login({
      ...request(),
      tenantId: "acme",
      query: new URLSearchParams("RelayState=%2Fapp"),
    });
    if (d.kind !== "redirect") throw new Error(`login: ${d.kind}`);
    const state = d.cookies[0];
    if (!state) throw new Error("login: no state cookie");
    return { requestId: state.value, relayState: new URL(d.location).searchParams.get("RelayState") ?? "" };
  }

  it("login: a redirect to the IdP with the state cookie by meaning, and the request stored", async () => {
    const d = await t.app.services.samlFlows.login({
      ...request(),
      tenantId: "acme",
      query: new URLSearchParams("RelayState=%2Fapp"),
    });
    expect(d.kind).toBe("redirect");
    if (d.kind !== "redirect") return;
    expect(d.location.startsWith("https://idp.example.test/sso?SAMLRequest=")).toBe(true);
    expect(d.cookies).toEqual([
      {
        cookie: "state",
        value: expect.stringMatching(/^_[0-9a-f]{40}$/),
        maxAge: t.deps.config.saml.sp.requestTTLSeconds,
      },
    ]);
    expect(await t.store.exists(`saml:req:${d.cookies[0]?.value}`)).toBe(true);
  });

  it("login: an unknown tenant is a not_configured rejection carrying its refusal", async () => {
    expect(
      await t.app.services.samlFlows.login({
        ...request(),
        tenantId: "nosuch",
        query: new URLSearchParams(),
      }),
    ).toEqual({
      kind: "reject",
      page: "not_configured",
      refusal: { flow: "login", reason: "tid_unknown", detail: "tenant", tenantId: "nosuch" },
      cookies: [],
      storeUnavailable: false,
    });
  });

  it("ACS: without a state cookie, the repost decision (nothing consumed, nothing audited)", async () => {
    const { requestId, relayState } = await startLogin();
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId });
    const d = await t.app.services.samlFlows.acs({
      ...request(),
      contentType: FORM,
      body: form([
        ["SAMLResponse", r.base64],
        ["RelayState", relayState],
      ]),
      unsolicitedTenantId: null,
    });
    expect(d).toEqual({ kind: "repost", action: "/saml/acs", samlResponse: r.base64, relayState });
    expect(await t.store.exists(`saml:req:${requestId}`)).toBe(true);
    expect(samlAudits(t)).toEqual([]);
  });

  it("ACS: an acceptance redirects with the idToken and the expired state cookie, audited once", async () => {
    const { requestId, relayState } = await startLogin();
    const r = await t.idp.signedResponse({ acsUrl: ACS, audience: SP_ENTITY, requestId });
    const d = await t.app.services.samlFlows.acs({
      ...request({ state: [requestId] }),
      contentType: FORM,
      body: form([
        ["SAMLResponse", r.base64],
        ["RelayState", relayState],
      ]),
      unsolicitedTenantId: null,
    });
    expect(d.kind).toBe("redirect");
    if (d.kind !== "redirect") return;
    expect(d.location.endsWith("/app")).toBe(true);
    expect(d.cookies.map((c) => c.cookie)).toEqual(["idToken", "state"]);
    expect(d.cookies[0]?.value.split(".")).toHaveLength(3);
    expect(d.cookies[1]).toEqual({ cookie: "state", value: "", maxAge: 0 });
    const audits = samlAudits(t);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      event: "saml.assertion",
      decision: "accept",
      tid: "acme",
      httpRequestId: "req-1",
    });
  });

  it("SP logout: no idToken cookie is a bad_request rejection", async () => {
    expect(
      await t.app.services.samlFlows.spLogout({
        ...request(),
        tenantId: "acme",
        query: new URLSearchParams(),
      }),
    ).toEqual({
      kind: "reject",
      page: "bad_request",
      refusal: { flow: "logout", reason: "bad_request", detail: "id_token", tenantId: "acme" },
      cookies: [],
      storeUnavailable: false,
    });
  });

  it("SLO POST: the form rules live in the service (a repeated SAMLRequest is refused as `form`)", async () => {
    const d = await t.app.services.samlFlows.slo({
      ...request(),
      input: {
        binding: "post",
        contentType: FORM,
        body: form([
          ["SAMLRequest", "a"],
          ["SAMLRequest", "b"],
        ]),
      },
    });
    expect(d).toEqual({
      kind: "reject",
      page: "bad_request",
      refusal: { flow: "slo", reason: "request_not_found", detail: "form" },
      cookies: [],
      storeUnavailable: false,
    });
  });
});

describe("rendering of flow decisions (src/http/saml/render.ts)", () => {
  let setup: Idp;
  let t: FlowApp;
  beforeAll(async () => {
    setup = await setupFiles();
    t = await flowApp({ store: await openTempEmbedded(), setup, clock: manualClock(Date.now()) });
  });
  afterAll(() => setup.cleanup());

  const render = (d: FlowDecision) => renderDecision(d, { log: silentLogger, config: t.deps.config });

  it("writes the Set-Cookie lines of the cookies a redirect names", () => {
    const res = render({
      kind: "redirect",
      location: "/next",
      cookies: [setCookie("state", "_ab", 300), expireCookie("slo"), expireCookie("idToken")],
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/next");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const lines = res.headers.getSetCookie();
    expect(lines.slice(0, 2)).toEqual([
      "__Host-tikti_saml_state=_ab; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=300",
      "__Host-tikti_saml_slo=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0",
    ]);
    expect(lines[2]).toMatch(/^tikti_idt=; Path=\/; .*Max-Age=0/);
  });

  it("renders a rejection as its neutral page; store unavailable is 503 with Retry-After", async () => {
    const res = render({
      kind: "reject",
      page: "internal",
      refusal: { flow: "acs", reason: "internal_error", detail: "store_unavailable" },
      cookies: [expireCookie("state")],
      storeUnavailable: true,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("x-tikti-error-id")).toMatch(/^[0-9a-f]{12}$/);
    const body = await res.text();
    expect(body).toContain("Temporarily Unavailable");
    expect(body).not.toContain("store_unavailable");
    expect(res.headers.getSetCookie()).toEqual([
      "__Host-tikti_saml_state=; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=0",
    ]);
  });

  it("renders the POST binding as an auto-submit form with its nonce CSP, and the repost page", async () => {
    const post = render({
      kind: "post",
      action: "https://idp.example.test/slo",
      fields: { SAMLRequest: "x<y" },
      cookies: [],
    });
    expect(post.status).toBe(200);
    const html = await post.text();
    expect(html).toContain('action="https://idp.example.test/slo"');
    expect(html).toContain('value="x&lt;y"');
    const nonce = /nonce="([^"]+)"/.exec(html)?.[1];
    expect(post.headers.get("content-security-policy")).toContain(`script-src 'nonce-${nonce}'`);
    const repost = render({ kind: "repost", action: "/saml/acs", samlResponse: "eA==", relayState: null });
    const page = await repost.text();
    expect(page).toContain('name="_tikti_state_retry" value="1"');
    expect(page).not.toContain("RelayState");
    expect(repost.headers.getSetCookie()).toEqual([]);
  });
});
