/**
 * GET /saml/login/:tid (docs/spec/saml.md §5): the signed AuthnRequest over HTTP-Redirect, the request
 * record, the state cookie, return targets, ForceAuthn, tenant checks and refusals.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { relayStateFor } from "../../../src/saml/relay-state.ts";
import { keys } from "../../../src/store/keys.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import { buildSamlTestApp } from "../metadata/helpers.ts";
import {
  ACS,
  cookieSet,
  type FlowApp,
  flowApp,
  IDP_SSO,
  type Idp,
  login,
  parseSpRedirect,
  RSA_SHA256,
  SP_ENTITY,
  STATE,
  setCookies,
  setupFiles,
  spRedirectSignatureValid,
} from "./idp.ts";

const ERROR_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

describe("RelayState sent to the IdP (§5 step 3)", () => {
  it("is the target itself up to 80 bytes, else r + 32 hex", () => {
    expect(relayStateFor("/app")).toBe("/app");
    const at80 = `/${"a".repeat(79)}`;
    expect(relayStateFor(at80)).toBe(at80);
    expect(relayStateFor(`/${"a".repeat(80)}`)).toMatch(/^r[0-9a-f]{32}$/);
    // Bytes, not characters.
    expect(relayStateFor(`/${"é".repeat(40)}`)).toMatch(/^r[0-9a-f]{32}$/);
  });
});

forEachEngine("GET /saml/login/:tid (docs/spec/saml.md §5)", (engine) => {
  let setup: Idp;
  let t: FlowApp;
  beforeAll(async () => {
    setup = await setupFiles();
  });
  afterAll(() => setup.cleanup());
  beforeEach(async () => {
    t = await flowApp({ store: await engine.freshStore(), setup, clock: manualClock(Date.now()) });
  });

  it("redirects to the IdP with a signed AuthnRequest, stores the request and sets the state cookie", async () => {
    const l = await login(t, "acme", "?RelayState=%2Fapp%2Fsettings%3Ftab%3Dprofile");
    const res = l.res;
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();

    // Location: ssoUrl?SAMLRequest=…&RelayState=…&SigAlg=…&Signature=…, signed over the raw query.
    const parsed = parseSpRedirect(l.location);
    expect(parsed.base).toBe(IDP_SSO);
    expect([...parsed.params.keys()]).toEqual(["SAMLRequest", "RelayState", "SigAlg", "Signature"]);
    expect(parsed.params.get("SigAlg")).toBe(RSA_SHA256);
    expect(l.relayState).toBe("/app/settings?tab=profile");
    expect(await spRedirectSignatureValid(l.rawQuery)).toBe(true);
    expect(await spRedirectSignatureValid(l.rawQuery.replace("RelayState=%2Fapp", "RelayState=%2Fapq"))).toBe(
      false,
    );
    // RFC 3986 encoding: nothing outside the unreserved set is left unescaped in the values.
    for (const part of l.rawQuery.split("&")) expect(part.split("=")[1]).toMatch(/^[A-Za-z0-9\-._~%]*$/);

    // The AuthnRequest (§5 step 5).
    expect(l.requestId).toMatch(/^_[0-9a-f]{40}$/);
    expect(l.xml.startsWith("<samlp:AuthnRequest ")).toBe(true);
    expect(l.xml).not.toContain("<?xml");
    expect(l.xml).not.toContain("Signature");
    expect(l.xml).toContain(`Destination="${IDP_SSO}"`);
    expect(l.xml).toContain(`AssertionConsumerServiceURL="${ACS}"`);
    expect(l.xml).toContain('ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"');
    expect(l.xml).toContain(`<saml:Issuer>${SP_ENTITY}</saml:Issuer>`);
    expect(l.xml).toContain(
      '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>',
    );
    expect(l.xml).toMatch(/IssueInstant="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    expect(l.xml).not.toContain("ForceAuthn");

    // The request record (docs/spec/storage.md §3.2) with its TTL, and the state cookie (§5 step 8).
    const stored = JSON.parse((await t.store.get(keys.samlRequest(l.requestId)))!);
    expect(stored).toEqual({
      kind: "authn",
      id: l.requestId,
      tenantId: "acme",
      relayState: "/app/settings?tab=profile",
      returnTo: "/app/settings?tab=profile",
      acsUrl: ACS,
      issueInstant: expect.stringMatching(/Z$/),
      forceAuthn: false,
    });
    const pttl = await t.store.pttl(keys.samlRequest(l.requestId));
    expect(pttl).toBeGreaterThan(290_000);
    expect(pttl).toBeLessThanOrEqual(300_000);
    expect(setCookies(res)).toEqual([
      `${STATE}=${l.requestId}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=300`,
    ]);
    const metrics = await (await t.call("/metrics")).text();
    expect(metrics).toContain('tikti_saml_authn_requests_total{tid="acme"} 1');
  });

  it("defaults the target to postLoginURL and sends a long target as an opaque RelayState", async () => {
    const plain = await login(t);
    expect(plain.relayState).toBe("/dashboard");
    expect(JSON.parse((await t.store.get(keys.samlRequest(plain.requestId)))!).returnTo).toBe("/dashboard");

    const long = `/app/${"x".repeat(100)}`;
    const l = await login(t, "acme", `?RelayState=${encodeURIComponent(long)}`);
    expect(l.relayState).toMatch(/^r[0-9a-f]{32}$/);
    const stored = JSON.parse((await t.store.get(keys.samlRequest(l.requestId)))!);
    expect(stored.relayState).toBe(l.relayState);
    expect(stored.returnTo).toBe(long);
  });

  it("adds ForceAuthn for forceAuthn=true only, or when the IdP record asks for it", async () => {
    expect((await login(t, "acme", "?forceAuthn=true")).xml).toContain('ForceAuthn="true"');
    expect((await login(t, "acme", "?forceAuthn=TRUE")).xml).not.toContain("ForceAuthn");
    expect((await login(t, "acme", "?forceAuthn=1")).xml).not.toContain("ForceAuthn");
    const put = await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { forceAuthn: true } });
    expect(put.status).toBe(200);
    const l = await login(t);
    expect(l.xml).toContain('ForceAuthn="true"');
    expect(JSON.parse((await t.store.get(keys.samlRequest(l.requestId)))!).forceAuthn).toBe(true);
  });

  it.each([
    ["//evil.example/x"],
    ["/\\evil.example"],
    ["/@evil.example"],
    ["https://evil.example/x"],
    ["evil.example"],
    ["relative/path"],
    ["javascript:alert(1)"],
    [""],
  ])("refuses the unsafe return target %j with the 400 page and stores nothing", async (target) => {
    const res = await t.call(`/saml/login/acme?RelayState=${encodeURIComponent(target)}`, { key: false });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe(ERROR_CSP);
    expect(res.headers.get("location")).toBeNull();
    expect(setCookies(res)).toEqual([]);
    const body = await res.text();
    expect(body).toContain("Bad Request");
    if (target) expect(body).not.toContain(target);
    const left: string[] = [];
    for await (const batch of t.store.scan("saml:req:")) left.push(...batch);
    expect(left).toEqual([]);
  });

  it("refuses a repeated RelayState with the 400 page", async () => {
    const res = await t.call("/saml/login/acme?RelayState=%2Fa&RelayState=%2Fb", { key: false });
    expect(res.status).toBe(400);
  });

  it("accepts an absolute https target only for an allowed origin", async () => {
    const t2 = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock: manualClock(Date.now()),
      saml: { acs: { allowedRedirectOrigins: ["https://app.example.com"] } },
    });
    const ok = await login(t2, "acme", `?RelayState=${encodeURIComponent("https://app.example.com/home")}`);
    expect(ok.relayState).toBe("https://app.example.com/home");
    const bad = await t2.call(
      `/saml/login/acme?RelayState=${encodeURIComponent("https://app.example.com.evil.example/")}`,
      { key: false },
    );
    expect(bad.status).toBe(400);
  });

  it.each([
    ["an unknown tenant", "/saml/login/ghost"],
    ["a malformed tenant id", "/saml/login/bad*id"],
  ])("answers the not-configured page for %s", async (_label, path) => {
    const res = await t.call(path, { key: false });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const body = await res.text();
    expect(body).toContain("Single sign-on is not configured for this workspace.");
    expect(body).not.toContain("ghost");
    expect(res.headers.get("x-tikti-error-id")).toMatch(/^[0-9a-f]{12}$/);
    expect(body).toContain(res.headers.get("x-tikti-error-id")!);
  });

  it("answers the not-configured page for a disabled tenant and a tenant without IdP", async () => {
    await t.call("/tenants", { json: { id: "noidp", name: "No IdP", slug: "noidp" } });
    expect((await t.call("/saml/login/noidp", { key: false })).status).toBe(404);
    const disabled = await t.call("/tenants/acme/status", { json: { status: "DISABLED" } });
    expect(disabled.status).toBe(200);
    const res = await t.call("/saml/login/acme", { key: false });
    expect(res.status).toBe(404);
    expect(setCookies(res)).toEqual([]);
  });

  it("answers the 500 page for an unreadable (Go-era) IdP record", async () => {
    await t.store.set(keys.samlIdp("acme"), "\x82\xa3msgpack");
    const res = await t.call("/saml/login/acme", { key: false });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("Temporarily Unavailable");
  });

  it("answers the 500 page when no SP signing pair is loaded", async () => {
    const broken = await buildSamlTestApp({
      store: t.store,
      files: { ...setup.files, current: { key: "/nonexistent/sp.key", cert: "/nonexistent/sp.crt" } },
      saml: {
        sp: { signingKeyPath: "/nonexistent/sp.key", signingCertPath: "/nonexistent/sp.crt" },
      },
    });
    const res = await broken.call("/saml/login/acme", { key: false });
    expect(res.status).toBe(500);
    expect(setCookies(res)).toEqual([]);
    const left: string[] = [];
    for await (const batch of t.store.scan("saml:req:")) left.push(...batch);
    expect(left).toEqual([]);
  });

  it("applies the samlIp rate limit before anything else (429 page with Retry-After)", async () => {
    const limited = await flowApp({
      store: await engine.freshStore(),
      setup,
      clock: manualClock(Date.now()),
      config: { rateLimits: { enabled: true, samlIp: { limit: 2, windowSeconds: 60 } } },
    });
    await login(limited);
    await login(limited);
    const res = await limited.call("/saml/login/acme", { key: false });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await res.text()).toContain("Too Many Attempts");
    expect(cookieSet(res, STATE)).toBeNull();
  });

  it("is not mounted when SAML is disabled (JSON 404 of unknown routes)", async () => {
    const off = await buildSamlTestApp({ store: t.store, files: setup.files, saml: { enabled: false } });
    const res = await off.call("/saml/login/acme", { key: false });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect((await off.call("/saml/acs", { key: false, method: "POST" })).status).toBe(404);
    expect((await off.call("/v1/saml/login/acme", { key: false })).status).toBe(404);
  });

  it("has no /v1 alias and answers 405 for other methods", async () => {
    expect((await t.call("/v1/saml/login/acme", { key: false })).status).toBe(404);
    expect((await t.call("/saml/login/acme", { key: false, method: "POST" })).status).toBe(405);
  });
});
