import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { keys } from "../../../src/store/keys.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import { openTempEmbedded } from "../../support/stores.ts";
import {
  buildSamlTestApp,
  createTenant,
  idpMetadata,
  makeCert,
  rsaKey,
  type SamlTestApp,
  type SpFiles,
  serve,
  spFiles,
  startTestServer,
  type TestCert,
  type TestServer,
} from "../metadata/helpers.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const ENTITY = "https://idp.example.com/metadata";

function audits(t: SamlTestApp): Array<Record<string, unknown>> {
  return t.auditLines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

forEachEngine("IdP record admin API (docs/spec/saml.md §11)", (engine) => {
  let files: SpFiles;
  let server: TestServer;
  let certA: TestCert;
  let certB: TestCert;
  let xmlA: string;
  let xmlB: string;
  let t: SamlTestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeAll(async () => {
    files = await spFiles();
    await files.install("current", await makeCert({ key: await rsaKey("sp-current"), cn: "sp" }));
    server = await startTestServer();
    certA = await makeCert({ cn: "idp-a", org: "Example" });
    certB = await makeCert({ key: await rsaKey("idp-b"), cn: "idp-b" });
    xmlA = idpMetadata({
      entityId: ENTITY,
      signing: [certA],
      encryption: [certB],
      slo: [["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "https://idp.example.com/slo"]],
    });
    xmlB = idpMetadata({ entityId: ENTITY, signing: [certB], ssoUrl: "https://idp.example.com/sso-b" });
    serve(server, "/a.xml", xmlA);
    serve(server, "/b.xml", xmlB);
    serve(server, "/html", "<!doctype html><html><body>login</body></html>", "text/html");
    serve(
      server,
      "/other-entity.xml",
      idpMetadata({ entityId: "https://elsewhere.example/idp", signing: [certB] }),
    );
  });
  afterAll(async () => {
    await server.close();
    await files.cleanup();
  });
  beforeEach(async () => {
    clock = manualClock(T0);
    t = await buildSamlTestApp({ store: await engine.freshStore(), files, clock });
    await createTenant(t, "acme");
  });

  const put = (body: unknown, path = "/tenants/acme/saml/idp") => t.call(path, { method: "PUT", json: body });
  const post = (body: unknown, path = "/tenants/acme/saml/idp") =>
    t.call(path, { method: "POST", json: body });

  it("GET answers {configured:false} before registration and checks the tenant", async () => {
    const res = await t.call("/tenants/acme/saml/idp");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ configured: false });
    expect((await t.call("/tenants/ghost/saml/idp")).status).toBe(404);
    expect(await (await t.call("/tenants/ghost/saml/idp")).json()).toMatchObject({
      code: "TENANT_NOT_FOUND",
    });
    const bad = await t.call("/tenants/bad*id/saml/idp");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "INVALID_TENANT" });
    expect((await t.call("/tenants/acme/saml/idp", { key: false })).status).toBe(401);
  });

  it("POST registers from inline XML and answers the projection without certificate bodies", async () => {
    const res = await post({ metadataXml: xmlA });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(certA.b64.slice(0, 40));
    const body = JSON.parse(text);
    expect(body).toEqual({
      configured: true,
      tenantId: "acme",
      entityId: ENTITY,
      ssoUrl: "https://idp.example.com/sso",
      sloUrl: "https://idp.example.com/slo",
      sloBinding: "HTTP-Redirect",
      metadataUrl: "",
      nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      attributeMap: {
        email: [
          "mail",
          "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
          "urn:oid:0.9.2342.19200300.100.1.3",
        ],
        name: [
          "displayName",
          "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
          "urn:oid:2.16.840.1.113730.3.1.241",
        ],
        roles: ["groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"],
      },
      roleMap: {},
      allowUnsolicited: false,
      forceAuthn: false,
      requireEncryptedAssertion: false,
      signingCertificates: [
        {
          sha256: certA.sha256,
          subject: "CN=idp-a,O=Example",
          notAfter: new Date(certA.notAfter).toISOString().replace(".000Z", "Z"),
          retireAfter: null,
        },
      ],
      signingCertificateCount: 1,
      encryptionCertificateCount: 1,
      lastFetched: "2026-11-01T12:00:00Z",
      lastRefreshError: "",
      generation: expect.stringMatching(/^[0-9a-f-]{36}$/),
      loginUrl: "https://id.test.example/saml/login/acme",
    });
    // The stored record has the shape of docs/spec/storage.md §3.1.
    const stored = JSON.parse((await t.store.get(keys.samlIdp("acme")))!);
    expect(stored).toMatchObject({
      schemaVersion: 1,
      tenantId: "acme",
      entityId: ENTITY,
      sloResponseUrl: "",
      signingCerts: [
        { der: certA.b64, sha256: certA.sha256, addedAt: "2026-11-01T12:00:00Z", retireAfter: null },
      ],
      encryptionCerts: [{ der: certB.b64, sha256: certB.sha256 }],
      metadataSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      refreshFailures: 0,
      createdAt: "2026-11-01T12:00:00Z",
      updatedAt: "2026-11-01T12:00:00Z",
    });
    expect(audits(t).at(-1)).toMatchObject({
      event: "admin.saml.idp.create",
      tenantId: "acme",
      targetId: ENTITY,
      outcome: "success",
      actor: "apiKey",
    });
    const metrics = await (await t.call("/metrics")).text();
    expect(metrics).toContain('tikti_saml_idp_admin_changes_total{operation="post",result="success"} 1');
    expect(metrics).toMatch(
      /tikti_saml_idp_cert_expiry_seconds\{subject="CN=idp-a,O=Example",tid="acme"\} \d+/,
    );
  });

  it("POST refuses an existing record (409 IDP_EXISTS) and bad metadata field combinations", async () => {
    expect((await post({ metadataXml: xmlA })).status).toBe(200);
    const again = await post({ metadataXml: xmlB });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({
      error: 'IdP already registered for tenant "acme"',
      code: "IDP_EXISTS",
    });
    const both = await post(
      { metadataXml: xmlA, metadataUrl: `${server.origin}/a.xml` },
      "/tenants/acme/saml/idp",
    );
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ code: "INVALID_REQUEST" });
    await createTenant(t, "beta");
    const neither = await post({ forceAuthn: true }, "/tenants/beta/saml/idp");
    expect(neither.status).toBe(400);
    expect(await neither.json()).toMatchObject({ code: "INVALID_REQUEST" });
    const wrongType = await post({ metadataXml: 42 }, "/tenants/beta/saml/idp");
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toMatchObject({
      code: "INVALID_REQUEST",
      details: { metadataXml: expect.any(String) },
    });
    const metrics = await (await t.call("/metrics")).text();
    expect(metrics).toContain('tikti_saml_idp_admin_changes_total{operation="post",result="failure"}');
    expect(audits(t).filter((a) => a.outcome === "failure").length).toBeGreaterThan(0);
  });

  it("POST from a metadata URL on loopback (dev mode) records the URL; bad content is INVALID_SAML_METADATA", async () => {
    const res = await post({ metadataUrl: `${server.origin}/a.xml` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ metadataUrl: `${server.origin}/a.xml`, entityId: ENTITY });
    await createTenant(t, "beta");
    const html = await post({ metadataUrl: `${server.origin}/html` }, "/tenants/beta/saml/idp");
    expect(html.status).toBe(400);
    expect(await html.json()).toEqual({
      error: "metadata contains a DOCTYPE or entity declaration",
      code: "INVALID_SAML_METADATA",
    });
    const missing = await post(
      { metadataUrl: `${server.origin}/missing?token=secret` },
      "/tenants/beta/saml/idp",
    );
    const missingBody = await missing.json();
    expect(missingBody).toEqual({ error: "metadata fetch failed", code: "INVALID_SAML_METADATA" });
    expect(JSON.stringify(missingBody)).not.toContain("secret");
    expect(await (await t.call("/tenants/beta/saml/idp")).json()).toEqual({ configured: false });
  });

  it("validates attributeMap and roleMap", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ attributeMap: { email: ["mail"], groups: ["x"] } }, "attributeMap.groups"],
      [{ attributeMap: { email: ["tid"] } }, "attributeMap.email.0"],
      [{ attributeMap: { email: [] } }, "attributeMap.email"],
      [{ attributeMap: { email: Array.from({ length: 11 }, (_, i) => `a${i}`) } }, "attributeMap.email"],
      [{ attributeMap: { email: ["x".repeat(513)] } }, "attributeMap.email.0"],
      [{ roleMap: { admins: ["ADMIN"] } }, "roleMap.admins"],
      [{ roleMap: { eng: ["bad role"] } }, "roleMap.eng"],
      [{ roleMap: { eng: [] } }, "roleMap.eng"],
      [{ roleMap: { eng: Array.from({ length: 21 }, (_, i) => `r${i}`) } }, "roleMap.eng"],
      [{ roleMap: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`k${i}`, ["r"]])) }, "roleMap"],
    ];
    for (const [extra, field] of cases) {
      const res = await put({ metadataXml: xmlA, ...extra });
      expect(res.status, field).toBe(400);
      const body = await res.json();
      expect(body.code, field).toBe("INVALID_ARGUMENT");
      expect(Object.keys(body.details), field).toContain(field);
    }
    expect(await (await t.call("/tenants/acme/saml/idp")).json()).toEqual({ configured: false });
    const ok = await put({
      metadataXml: xmlA,
      attributeMap: { email: ["upn", "upn"], roles: [] },
      roleMap: { engineering: ["developer", "developer", "viewer"] },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      attributeMap: {
        email: ["upn"],
        name: [
          "displayName",
          "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
          "urn:oid:2.16.840.1.113730.3.1.241",
        ],
        roles: [],
      },
      roleMap: { engineering: ["developer", "viewer"] },
    });
  });

  it("PUT creates, changes settings only, and replaces with the certificate overlap", async () => {
    const created = await (await put({ metadataXml: xmlA })).json();
    expect(audits(t).at(-1)).toMatchObject({ event: "admin.saml.idp.put", outcome: "success" });
    clock.advance(60_000);
    const settings = await put({ allowUnsolicited: true, forceAuthn: true, requireEncryptedAssertion: true });
    expect(settings.status).toBe(200);
    const s = await settings.json();
    expect(s).toMatchObject({
      entityId: ENTITY,
      allowUnsolicited: true,
      forceAuthn: true,
      requireEncryptedAssertion: true,
      unsolicitedAcsUrl: "https://id.test.example/saml/acs/acme",
      signingCertificates: [{ sha256: certA.sha256 }],
      lastFetched: "2026-11-01T12:01:00Z",
    });
    expect(s.generation).not.toBe(created.generation);

    // New metadata: the new certificate first, the old one kept for idp.certOverlapHours (24 h).
    const replaced = await (await put({ metadataXml: xmlB })).json();
    expect(replaced.signingCertificates).toEqual([
      expect.objectContaining({ sha256: certB.sha256, retireAfter: null }),
      expect.objectContaining({ sha256: certA.sha256, retireAfter: "2026-11-02T12:01:00Z" }),
    ]);
    expect(replaced).toMatchObject({
      ssoUrl: "https://idp.example.com/sso-b",
      sloUrl: "",
      sloBinding: "",
      allowUnsolicited: false,
    });
    const stored = JSON.parse((await t.store.get(keys.samlIdp("acme")))!);
    expect(stored.createdAt).toBe("2026-11-01T12:00:00Z");
    expect(stored.updatedAt).toBe("2026-11-01T12:01:00Z");

    const dropped = await (await put({ metadataXml: xmlB, dropPreviousCertificates: true })).json();
    expect(dropped.signingCertificates.map((c: { sha256: string }) => c.sha256)).toEqual([certB.sha256]);
  });

  it("PUT without metadata on an absent record is INVALID_REQUEST; invalid metadata leaves the record untouched", async () => {
    const res = await put({ forceAuthn: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "INVALID_REQUEST" });
    await put({ metadataXml: xmlA });
    const before = await t.store.get(keys.samlIdp("acme"));
    const bad = await put({ metadataXml: xmlA.replace(/entityID="[^"]*"/, 'entityID=""') });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "entityID is empty", code: "INVALID_SAML_METADATA" });
    expect(await t.store.get(keys.samlIdp("acme"))).toBe(before);
  });

  it("a Go-era (non-JSON) record answers 500 INTERNAL on GET and is overwritten by PUT", async () => {
    await t.store.set(keys.samlIdp("acme"), "\x85\xa8entityId\xb2msgpack-not-json");
    const get = await t.call("/tenants/acme/saml/idp");
    expect(get.status).toBe(500);
    expect(await get.json()).toEqual({ error: "internal error", code: "INTERNAL" });
    expect((await post({ metadataXml: xmlA })).status).toBe(409);
    expect((await put({ metadataXml: xmlA })).status).toBe(200);
    expect((await t.call("/tenants/acme/saml/idp")).status).toBe(200);
  });

  it("DELETE answers 204, then 404 IDP_NOT_FOUND; domain mappings survive", async () => {
    await put({ metadataXml: xmlA });
    expect((await t.call("/tenants/acme/saml/domains/acme.example", { method: "PUT" })).status).toBe(200);
    const del = await t.call("/tenants/acme/saml/idp", { method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect(audits(t).at(-1)).toMatchObject({
      event: "admin.saml.idp.delete",
      targetId: ENTITY,
      outcome: "success",
    });
    const again = await t.call("/tenants/acme/saml/idp", { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: "SAML IdP not configured", code: "IDP_NOT_FOUND" });
    expect(await (await t.call("/tenants/acme/saml/domains")).json()).toEqual({ domains: ["acme.example"] });
  });

  it("serves the Go-era alias /admin/tenants/:tenantId/saml/idp and the /v1 forms", async () => {
    expect((await put({ metadataXml: xmlA }, "/admin/tenants/acme/saml/idp")).status).toBe(200);
    expect(await (await t.call("/v1/tenants/acme/saml/idp")).json()).toMatchObject({ entityId: ENTITY });
    expect(await (await t.call("/v1/admin/tenants/acme/saml/idp")).json()).toMatchObject({
      entityId: ENTITY,
    });
    expect((await t.call("/v1/admin/tenants/acme/saml/idp", { method: "DELETE" })).status).toBe(204);
    expect(await (await t.call("/admin/tenants/acme/saml/idp")).json()).toEqual({ configured: false });
  });

  it("refresh fetches the URL now; refuses absent and inline records; records failures", async () => {
    const absent = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(absent.status).toBe(404);
    expect(await absent.json()).toMatchObject({ code: "IDP_NOT_FOUND" });
    await put({ metadataXml: xmlA });
    const inline = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(inline.status).toBe(400);
    expect(await inline.json()).toEqual({
      error: "IdP record has no metadata URL",
      code: "INVALID_SAML_METADATA",
    });

    await put({ metadataUrl: `${server.origin}/a.xml` });
    clock.advance(3_600_000);
    // The URL now serves the IdP's new certificate.
    serve(server, "/a.xml", xmlB);
    const ok = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body.signingCertificates.map((c: { sha256: string }) => c.sha256)).toEqual([
      certB.sha256,
      certA.sha256,
    ]);
    expect(body.lastFetched).toBe("2026-11-01T13:00:00Z");
    expect(audits(t).at(-1)).toMatchObject({ event: "admin.saml.idp.refresh", outcome: "success" });

    serve(server, "/a.xml", "<not-closed");
    const failed = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(failed.status).toBe(400);
    expect(await failed.json()).toEqual({
      error: "metadata is not well-formed XML",
      code: "INVALID_SAML_METADATA",
    });
    const kept = await (await t.call("/tenants/acme/saml/idp")).json();
    expect(kept).toMatchObject({
      lastRefreshError: "metadata is not well-formed XML",
      ssoUrl: "https://idp.example.com/sso-b",
    });
    expect(kept.signingCertificates).toEqual(body.signingCertificates);
    expect(JSON.parse((await t.store.get(keys.samlIdp("acme")))!).refreshFailures).toBe(1);

    serve(server, "/a.xml", idpMetadata({ entityId: "https://elsewhere.example/idp", signing: [certB] }));
    const changed = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(await changed.json()).toEqual({ error: "entityID changed", code: "INVALID_SAML_METADATA" });
    expect(JSON.parse((await t.store.get(keys.samlIdp("acme")))!).refreshFailures).toBe(2);
    serve(server, "/a.xml", xmlA);
  });

  it("GET /admin/saml/idps lists records sorted by tenant id, unreadable ones included", async () => {
    await createTenant(t, "zeta");
    await createTenant(t, "beta");
    await put({ metadataXml: xmlA }, "/tenants/zeta/saml/idp");
    await put({ metadataUrl: `${server.origin}/a.xml` }, "/tenants/acme/saml/idp");
    await t.store.set(keys.samlIdp("beta"), "garbage");
    const res = await t.call("/admin/saml/idps");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      idps: [
        {
          tenantId: "acme",
          entityId: ENTITY,
          metadataUrl: `${server.origin}/a.xml`,
          lastFetched: "2026-11-01T12:00:00Z",
          lastRefreshError: "",
        },
        {
          tenantId: "beta",
          entityId: "",
          metadataUrl: "",
          lastFetched: "",
          lastRefreshError: expect.stringContaining("register the IdP again"),
        },
        {
          tenantId: "zeta",
          entityId: ENTITY,
          metadataUrl: "",
          lastFetched: "2026-11-01T12:00:00Z",
          lastRefreshError: "",
        },
      ],
    });
  });

  it("keeps the entity-id index for IdP-initiated logout lookups", async () => {
    await createTenant(t, "beta");
    await put({ metadataXml: xmlA });
    await put({ metadataXml: xmlA }, "/tenants/beta/saml/idp");
    expect(await t.saml.idps.tenantsForEntityId(ENTITY)).toEqual(["acme", "beta"]);
    await t.call("/tenants/beta/saml/idp", { method: "DELETE" });
    await put({ metadataXml: idpMetadata({ entityId: "https://elsewhere.example/idp", signing: [certA] }) });
    expect(await t.saml.idps.tenantsForEntityId(ENTITY)).toEqual([]);
    expect(await t.saml.idps.tenantsForEntityId("https://elsewhere.example/idp")).toEqual(["acme"]);
  });

  it("accepts metadata bodies up to 1 MiB + 32 KiB and refuses larger ones with 413", async () => {
    const padded = xmlA.replace(
      "<md:IDPSSODescriptor",
      `<!-- ${"p".repeat(300_000)} --><md:IDPSSODescriptor`,
    );
    expect((await put({ metadataXml: padded })).status).toBe(200);
    const huge = await put({ metadataXml: "x".repeat(1024 * 1024 + 40 * 1024) });
    expect(huge.status).toBe(413);
    const tooLarge = await put({ metadataXml: `${xmlA}${" ".repeat(1_048_577 - xmlA.length)}` });
    expect(await tooLarge.json()).toEqual({ error: "metadata too large", code: "INVALID_SAML_METADATA" });
    // Other admin routes keep the 64 KiB limit.
    const rotation = await t.call("/admin/saml/sp/rotation", { json: { action: "x".repeat(70_000) } });
    expect(rotation.status).toBe(413);
  });
});

describe("IdP admin routes work with SAML disabled", () => {
  it("registers an IdP while rotation routes answer 404", async () => {
    const files = await spFiles();
    const store = await openTempEmbedded();
    try {
      const t = await buildSamlTestApp({ store, files, saml: { enabled: false } });
      await createTenant(t, "acme");
      const xml = idpMetadata({ signing: [await makeCert()] });
      expect(
        (await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { metadataXml: xml } })).status,
      ).toBe(200);
      const rotation = await t.call("/admin/saml/sp/rotation");
      expect(rotation.status).toBe(404);
      expect(await rotation.json()).toEqual({ error: "not found", code: "NOT_FOUND" });
      expect((await t.call("/admin/saml/sp/rotation", { json: { action: "prepare" } })).status).toBe(404);
      expect((await t.call("/readyz")).status).toBe(200);
    } finally {
      // close() of a temp store also deletes its directory (test/support/stores.ts)
      await store.close();
      await files.cleanup();
    }
  });
});
