import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { emailDomain, normalizeDomain } from "../../../src/saml/discovery.ts";
import { forEachEngine } from "../../support/app.ts";
import {
  buildSamlTestApp,
  createTenant,
  idpMetadata,
  makeCert,
  rsaKey,
  type SamlTestApp,
  type SpFiles,
  spFiles,
} from "../metadata/helpers.ts";

const form = (body: string) => ({
  method: "POST",
  body,
  headers: { "content-type": "application/x-www-form-urlencoded" },
  key: false,
});

describe("domain grammar", () => {
  it("normalises and validates domains and discovery emails", () => {
    expect(normalizeDomain("Example.COM.")).toBe("example.com");
    expect(normalizeDomain("sub.example.co.uk")).toBe("sub.example.co.uk");
    for (const bad of [
      "localhost",
      "-bad.example",
      "bad-.example",
      "a..b",
      "exa mple.com",
      "x.c",
      `${"a".repeat(64)}.com`,
      "",
    ]) {
      expect(normalizeDomain(bad), bad).toBeNull();
    }
    expect(emailDomain("  Jane.Doe@Acme.Example  ")).toBe("acme.example");
    for (const bad of ["jane", "@acme.example", "a@b@acme.example", "jane@", "jane@acme"])
      expect(emailDomain(bad), bad).toBeNull();
  });
});

forEachEngine("domain mappings and discovery (docs/spec/saml.md §10, §11.4)", (engine) => {
  let files: SpFiles;
  let t: SamlTestApp;
  let xml: string;
  beforeAll(async () => {
    files = await spFiles();
    await files.install("current", await makeCert({ key: await rsaKey("sp-current"), cn: "sp" }));
    xml = idpMetadata({ signing: [await makeCert()] });
  });
  afterAll(() => files.cleanup());
  beforeEach(async () => {
    t = await buildSamlTestApp({ store: await engine.freshStore(), files });
    await createTenant(t, "acme");
    await createTenant(t, "globex");
  });

  it("PUT maps a domain idempotently; another tenant gets 409 DOMAIN_CONFLICT", async () => {
    const first = await t.call("/tenants/acme/saml/domains/Acme.Example.", { method: "PUT" });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ domain: "acme.example", tenantId: "acme" });
    const again = await t.call("/tenants/acme/saml/domains/acme.example", { method: "PUT" });
    expect(await again.json()).toEqual({ domain: "acme.example", tenantId: "acme" });
    const conflict = await t.call("/tenants/globex/saml/domains/acme.example", { method: "PUT" });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({
      error: 'domain "acme.example" is already mapped to tenant "acme"',
      code: "DOMAIN_CONFLICT",
    });
    expect(await t.store.get("saml:discover:domain:acme.example")).toBe("acme");
    const audit = t.auditLines.map((l) => JSON.parse(l)).filter((a) => a.event === "admin.saml.domain.put");
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ tenantId: "acme", targetId: "acme.example", outcome: "success" });
  });

  it("GET lists only this tenant's domains, sorted", async () => {
    for (const d of ["zeta.example", "acme.example", "acme.test"]) {
      await t.call(`/tenants/acme/saml/domains/${d}`, { method: "PUT" });
    }
    await t.call("/tenants/globex/saml/domains/globex.example", { method: "PUT" });
    expect(await (await t.call("/tenants/acme/saml/domains")).json()).toEqual({
      domains: ["acme.example", "acme.test", "zeta.example"],
    });
    expect(await (await t.call("/tenants/globex/saml/domains")).json()).toEqual({
      domains: ["globex.example"],
    });
    expect((await t.call("/tenants/nobody/saml/domains")).status).toBe(404);
  });

  it("DELETE removes only the tenant's own mapping", async () => {
    await t.call("/tenants/acme/saml/domains/acme.example", { method: "PUT" });
    const foreign = await t.call("/tenants/globex/saml/domains/acme.example", { method: "DELETE" });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual({ error: "domain not mapped", code: "DOMAIN_NOT_FOUND" });
    expect((await t.call("/tenants/acme/saml/domains/ACME.example", { method: "DELETE" })).status).toBe(204);
    expect((await t.call("/tenants/acme/saml/domains/acme.example", { method: "DELETE" })).status).toBe(404);
    expect(await t.store.get("saml:discover:domain:acme.example")).toBeNull();
  });

  it("refuses bad domains with 400 INVALID_ARGUMENT and unknown tenants with 404", async () => {
    const bad = await t.call("/tenants/acme/saml/domains/not_a_domain", { method: "PUT" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: "INVALID_ARGUMENT",
      details: { domain: expect.any(String) },
    });
    const ghost = await t.call("/tenants/ghost/saml/domains/ghost.example", { method: "PUT" });
    expect(ghost.status).toBe(404);
    expect(await t.store.get("saml:discover:domain:ghost.example")).toBeNull();
  });

  it("discovery GET shows the form; a query string is refused without reflection", async () => {
    const res = await t.call("/saml/discover", { key: false });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    expect(html).toContain("Discover your workspace");
    expect(html).toContain('action="/saml/discover"');
    const q = await t.call("/saml/discover?email=%3Cscript%3E", { key: false });
    expect(q.status).toBe(400);
    expect(q.headers.get("x-tikti-error-id")).toMatch(/^[0-9a-f]{12}$/);
    const body = await q.text();
    expect(body).toContain("Bad Request");
    expect(body).toContain(q.headers.get("x-tikti-error-id")!);
    expect(body).not.toContain("script");
  });

  it("discovery POST redirects to the tenant's login when the domain maps to an ACTIVE tenant with an IdP", async () => {
    await t.call("/tenants/acme/saml/domains/acme.example", { method: "PUT" });
    const noIdp = await t.call("/saml/discover", form("email=jane%40acme.example"));
    expect(noIdp.status).toBe(200);
    expect(await noIdp.text()).toContain("Workspace not found.");
    await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { metadataXml: xml } });
    const res = await t.call("/saml/discover", form("email=+Jane%40ACME.example.+"));
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/saml/login/acme");
    expect(res.headers.get("cache-control")).toBe("no-store");
    // No parent-domain walk.
    const sub = await t.call("/saml/discover", form("email=jane%40eu.acme.example"));
    expect(await sub.text()).toContain("Workspace not found.");
    await t.call("/tenants/acme/status", { json: { status: "DISABLED" } });
    const disabled = await t.call("/saml/discover", form("email=jane%40acme.example"));
    expect(disabled.status).toBe(200);
    const text = await disabled.text();
    expect(text).toContain("Workspace not found.");
    expect(text).not.toContain("jane");
    expect(text).not.toContain("acme");
  });

  it("discovery POST asks again for a malformed email and never reflects it", async () => {
    for (const body of [
      "email=not-an-email",
      "email=a%40b%40c.example",
      "other=1",
      "email=x%40y.example&email=z%40w.example",
    ]) {
      const res = await t.call("/saml/discover", form(body));
      expect(res.status, body).toBe(200);
      const html = await res.text();
      expect(html).toContain("Enter a valid email address.");
      expect(html).not.toContain("not-an-email");
    }
    const json = await t.call("/saml/discover", {
      method: "POST",
      body: JSON.stringify({ email: "jane@acme.example" }),
      headers: { "content-type": "application/json" },
    });
    expect(await json.text()).toContain("Enter a valid email address.");
    const huge = await t.call("/saml/discover", form(`email=${"a".repeat(300 * 1024)}`));
    expect(huge.status).toBe(413);
  });

  it("discovery POST is rate limited per IP (samlIp) with the neutral 429 page", async () => {
    const limited = await buildSamlTestApp({
      store: t.store,
      files,
      config: { rateLimits: { enabled: true, samlIp: { limit: 2, windowSeconds: 60 } } },
    });
    for (let i = 0; i < 2; i++)
      expect((await limited.call("/saml/discover", form("email=a%40b.example"))).status).toBe(200);
    const res = await limited.call("/saml/discover", form("email=a%40b.example"));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await res.text()).toContain("Too Many Attempts");
  });

  it("discovery disabled answers the not-configured page", async () => {
    const off = await buildSamlTestApp({ store: t.store, files, saml: { discover: { enabled: false } } });
    for (const init of [{ key: false }, form("email=a%40b.example")]) {
      const res = await off.call("/saml/discover", init);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await res.text()).toContain("Single sign-on is not configured for this workspace.");
    }
  });
});
