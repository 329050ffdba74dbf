import { DOMParser, type Element } from "@xmldom/xmldom";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../../src/store/keys.ts";
import { buildTestApp, forEachEngine } from "../../support/app.ts";
import { openTempEmbedded } from "../../support/stores.ts";
import {
  buildSamlTestApp,
  createTenant,
  idpMetadata,
  makeCert,
  rsaKey,
  type SamlTestApp,
  SP_ACS_URL,
  SP_ENTITY_ID,
  SP_SLO_URL,
  type SpFiles,
  spFiles,
  type TestCert,
} from "./helpers.ts";

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";

function parse(xml: string) {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, msg) => errors.push(`${level}: ${msg}`) }).parseFromString(
    xml,
    "text/xml",
  );
  expect(errors).toEqual([]);
  const root = doc.documentElement!;
  const all = (ns: string, local: string, from: Element = root) =>
    Array.from(from.getElementsByTagNameNS(ns, local));
  return { root, all };
}

function keyDescriptors(all: ReturnType<typeof parse>["all"], use: string) {
  return all(MD, "KeyDescriptor")
    .filter((kd) => kd.getAttribute("use") === use)
    .map((kd) => ({
      cert: all(DS, "X509Certificate", kd)[0]!.textContent,
      methods: all(MD, "EncryptionMethod", kd).map((m) => m.getAttribute("Algorithm")),
    }));
}

forEachEngine("SP metadata (docs/spec/saml.md §4)", (engine) => {
  let files: SpFiles;
  let current: TestCert;
  let next: TestCert;
  let t: SamlTestApp;
  beforeAll(async () => {
    files = await spFiles();
    current = await makeCert({
      key: await rsaKey("sp-current"),
      cn: "sp-current",
      notAfter: Date.UTC(2031, 0, 1),
    });
    next = await makeCert({ key: await rsaKey("sp-next"), cn: "sp-next", notAfter: Date.UTC(2030, 6, 1) });
    await files.install("current", current);
    t = await buildSamlTestApp({ store: await engine.freshStore(), files });
  });
  afterAll(() => files.cleanup());

  it("publishes entityID, signing and encryption certificates, SLO and ACS endpoints", async () => {
    const res = await t.call("/saml/metadata", { key: false });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/samlmetadata+xml; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const { root, all } = parse(await res.text());
    expect(root.localName).toBe("EntityDescriptor");
    expect(root.namespaceURI).toBe(MD);
    expect(root.getAttribute("entityID")).toBe(SP_ENTITY_ID);
    expect(root.getAttribute("validUntil")).toBe("2031-01-01T00:00:00Z");
    const sp = all(MD, "SPSSODescriptor")[0]!;
    expect(sp.getAttribute("AuthnRequestsSigned")).toBe("true");
    expect(sp.getAttribute("WantAssertionsSigned")).toBe("true");
    expect(sp.getAttribute("protocolSupportEnumeration")).toBe("urn:oasis:names:tc:SAML:2.0:protocol");
    expect(keyDescriptors(all, "signing")).toEqual([{ cert: current.b64, methods: [] }]);
    expect(keyDescriptors(all, "encryption")).toEqual([
      {
        cert: current.b64,
        methods: [
          "http://www.w3.org/2009/xmlenc11#aes256-gcm",
          "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        ],
      },
    ]);
    expect(
      all(MD, "SingleLogoutService").map((s) => [s.getAttribute("Binding"), s.getAttribute("Location")]),
    ).toEqual([
      ["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", SP_SLO_URL],
      ["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", SP_SLO_URL],
    ]);
    expect(all(MD, "NameIDFormat").map((n) => n.textContent)).toEqual([
      "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    ]);
    const acs = all(MD, "AssertionConsumerService");
    expect(
      acs.map((a) => [a.getAttribute("Location"), a.getAttribute("index"), a.getAttribute("isDefault")]),
    ).toEqual([[SP_ACS_URL, "0", "true"]]);
  });

  it("is byte-identical across calls and across replicas with the same keys", async () => {
    const a = await (await t.call("/saml/metadata")).text();
    const b = await (await t.call("/saml/metadata")).text();
    const replica = await buildSamlTestApp({ store: t.store, files });
    const c = await (await replica.call("/saml/metadata")).text();
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it("adds the unsolicited ACS of /saml/metadata/:tid only for a tenant that opted in", async () => {
    await createTenant(t, "acme");
    await createTenant(t, "plain");
    const idpXml = idpMetadata({ signing: [await makeCert()] });
    expect(
      (
        await t.call("/tenants/acme/saml/idp", {
          method: "PUT",
          json: { metadataXml: idpXml, allowUnsolicited: true },
        })
      ).status,
    ).toBe(200);
    expect(
      (await t.call("/tenants/plain/saml/idp", { method: "PUT", json: { metadataXml: idpXml } })).status,
    ).toBe(200);
    const global = await (await t.call("/saml/metadata")).text();
    const acme = await (await t.call("/saml/metadata/acme")).text();
    const { all } = parse(acme);
    expect(
      all(MD, "AssertionConsumerService").map((a) => [a.getAttribute("Location"), a.getAttribute("index")]),
    ).toEqual([
      [SP_ACS_URL, "0"],
      [`${SP_ACS_URL}/acme`, "1"],
    ]);
    expect(await (await t.call("/saml/metadata/plain")).text()).toBe(global);
    expect(await (await t.call("/saml/metadata/unknown-tenant")).text()).toBe(global);
    // A corrupt (Go-era) record does not break the tenant metadata either.
    await t.store.set(keys.samlIdp("plain"), "\x82\xa3msgpack");
    expect(await (await t.call("/saml/metadata/plain")).text()).toBe(global);
  });

  it("publishes current then next during a prepared rotation, and only next once committed", async () => {
    const isolated = await spFiles();
    try {
      await isolated.install("current", current);
      await isolated.install("next", next);
      const r = await buildSamlTestApp({
        store: await engine.freshStore(),
        files: isolated,
        saml: { sp: { rotationGraceHours: 0 } },
      });
      const prepared = await r.call("/admin/saml/sp/rotation", { json: { action: "prepare" } });
      expect(prepared.status).toBe(200);
      const { root, all } = parse(await (await r.call("/saml/metadata")).text());
      expect(keyDescriptors(all, "signing").map((k) => k.cert)).toEqual([current.b64, next.b64]);
      expect(keyDescriptors(all, "encryption").map((k) => k.cert)).toEqual([current.b64, next.b64]);
      expect(root.getAttribute("validUntil")).toBe("2030-07-01T00:00:00Z");
      expect((await r.call("/admin/saml/sp/rotation", { json: { action: "commit" } })).status).toBe(200);
      const committed = parse(await (await r.call("/saml/metadata")).text());
      expect(keyDescriptors(committed.all, "signing").map((k) => k.cert)).toEqual([next.b64]);
      expect(keyDescriptors(committed.all, "encryption").map((k) => k.cert)).toEqual([next.b64]);
    } finally {
      await isolated.cleanup();
    }
  });

  it("publishes a separately configured encryption certificate", async () => {
    const isolated = await spFiles();
    try {
      await isolated.install("current", current);
      const enc = await makeCert({ key: await rsaKey("sp-enc"), cn: "sp-enc" });
      await isolated.install("encryption", enc);
      const r = await buildSamlTestApp({
        store: await engine.freshStore(),
        files: isolated,
        saml: {
          sp: {
            encryptionKeyPath: isolated.encryption.key,
            encryptionCertPath: isolated.encryption.cert,
            requireAssertionSigned: false,
          },
        },
      });
      const { all } = parse(await (await r.call("/saml/metadata")).text());
      expect(keyDescriptors(all, "signing").map((k) => k.cert)).toEqual([current.b64]);
      expect(keyDescriptors(all, "encryption").map((k) => k.cert)).toEqual([enc.b64]);
      expect(all(MD, "SPSSODescriptor")[0]!.getAttribute("WantAssertionsSigned")).toBe("false");
    } finally {
      await isolated.cleanup();
    }
  });

  it("answers 500 in plain text when the SP certificate cannot be loaded", async () => {
    const empty = await spFiles();
    try {
      const r = await buildSamlTestApp({ store: await engine.freshStore(), files: empty });
      const res = await r.call("/saml/metadata");
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await res.text()).not.toContain("sp.crt");
    } finally {
      await empty.cleanup();
    }
  });
});

describe("SAML browser routes with SAML disabled", () => {
  it("answer the JSON 404 of unknown routes, and never under /v1", async () => {
    const t = await buildTestApp({ store: await openTempEmbedded() });
    for (const path of ["/saml/metadata", "/saml/metadata/acme", "/saml/discover", "/v1/saml/metadata"]) {
      const res = await t.call(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: "not found", code: "NOT_FOUND" });
    }
  });
});
