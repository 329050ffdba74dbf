// The test IdP itself (docs/spec/saml.md §16.2): Debian's pysaml2 started on loopback, loaded with Tikti's
// real SP metadata, checked as an SP would see it — signed AuthnRequests built here with the SP key
// (independently of Tikti's login route), answers as form and JSON, refusals, encryption algorithms,
// recorded SessionIndex. The Tikti round trips are in sso.test.ts, slo.test.ts and attacks.test.ts.
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTempEmbedded } from "../../support/stores.ts";
import {
  buildSamlTestApp,
  createTenant,
  makeCert,
  rsaKey,
  type SamlTestApp,
  SP_ACS_URL,
  SP_ENTITY_ID,
  type SpFiles,
  spFiles,
} from "../metadata/helpers.ts";
import { b64, elements, idpSso, idpSsoWithLogin, NS, one, parseXml, redirectEncode } from "./flow.ts";
import { DEFAULT_USER, type PysamlIdp, startPysamlIdp, TEST_PASSWORD } from "./pysaml-idp.ts";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ENC = {
  "aes128-gcm": "http://www.w3.org/2009/xmlenc11#aes128-gcm",
  "aes256-gcm": "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  "aes128-cbc": "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
  "aes256-cbc": "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
  "tripledes-cbc": "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
} as const;

let files: SpFiles;
let t: SamlTestApp;
let idp: PysamlIdp;
let spKeyPem: string;
let work: string;

beforeAll(async () => {
  files = await spFiles();
  await files.install("current", await makeCert({ key: await rsaKey("e2e-sp"), cn: "tikti-sp" }));
  spKeyPem = readFileSync(files.current.key, "utf8");
  t = await buildSamlTestApp({ store: await openTempEmbedded(), files });
  const md = await t.app.request("https://id.test.example/saml/metadata");
  expect(md.status).toBe(200);
  idp = await startPysamlIdp({ spMetadataXml: await md.text() });
  work = mkdtempSync(join(tmpdir(), "tikti-idp-harness-"));
});
afterAll(async () => {
  await idp?.stop();
  await t?.store.close();
  await files?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** An AuthnRequest as Tikti builds it (docs/spec/saml.md §5), signed for the Redirect binding with the SP key. */
function authnRequestUrl(
  options: { acs?: string; relayState?: string; id?: string; unsigned?: boolean; badSig?: boolean } = {},
) {
  const id = options.id ?? `_${randomBytes(20).toString("hex")}`;
  const xml = `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString().replace(/\.\d{3}Z$/, "Z")}" Destination="${idp.ssoUrl}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" AssertionConsumerServiceURL="${options.acs ?? SP_ACS_URL}"><saml:Issuer>${SP_ENTITY_ID}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>`;
  let signed = `SAMLRequest=${redirectEncode(xml)}`;
  if (options.relayState) signed += `&RelayState=${encodeURIComponent(options.relayState)}`;
  signed += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
  if (options.unsigned) return { id, url: `${idp.ssoUrl}?${signed}` };
  const signature = sign(
    "sha256",
    Buffer.from(options.badSig ? `${signed}x` : signed),
    createPrivateKey(spKeyPem),
  );
  return { id, url: `${idp.ssoUrl}?${signed}&Signature=${encodeURIComponent(signature.toString("base64"))}` };
}

describe("pysaml2 test IdP (docs/spec/saml.md §16.2)", () => {
  it("runs /usr/bin/python3 with Debian's pysaml2 on 127.0.0.1 and publishes metadata Tikti registers", async () => {
    expect(idp.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(new URL(idp.base).hostname).toBe("127.0.0.1");
    expect(idp.pid).toBeGreaterThan(0);
    await createTenant(t, "acme");
    const res = await t.call("/tenants/acme/saml/idp", {
      method: "PUT",
      json: { metadataUrl: idp.metadataUrl },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const projection = (await res.json()) as Record<string, unknown>;
    expect(projection).toMatchObject({
      configured: true,
      entityId: idp.entityId,
      ssoUrl: idp.ssoUrl,
      sloUrl: idp.sloUrl,
      sloBinding: "HTTP-Redirect",
      signingCertificateCount: 1,
      nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    });
  });

  it("answers a signed AuthnRequest with a signed Response, as an auto-submit form and as JSON", async () => {
    const { id, url } = authnRequestUrl({ relayState: "/app" });
    const form = await idpSso(url, {}, "form");
    expect(form.url).toBe(SP_ACS_URL);
    expect(form.RelayState).toBe("/app");
    const doc = parseXml(b64.decode(form.SAMLResponse));
    const root = doc.documentElement!;
    expect(root.namespaceURI).toBe(NS.samlp);
    expect(root.localName).toBe("Response");
    expect(root.getAttribute("InResponseTo")).toBe(id);
    expect(root.getAttribute("Destination")).toBe(SP_ACS_URL);
    const assertion = one(doc, NS.saml, "Assertion");
    // Response and Assertion each carry one enveloped signature (the default "both").
    expect(elements(doc, NS.ds, "Signature").map((s) => (s.parentNode as Element).localName)).toEqual([
      "Response",
      "Assertion",
    ]);
    expect(one(assertion, NS.saml, "NameID").textContent).toBe(DEFAULT_USER.nameId);
    expect(one(assertion, NS.saml, "Audience").textContent).toBe(SP_ENTITY_ID);
    const attrs = Object.fromEntries(
      elements(assertion, NS.saml, "Attribute").map((a) => [
        a.getAttribute("Name"),
        elements(a, NS.saml, "AttributeValue").map((v) => v.textContent),
      ]),
    );
    // §16.3 item 8: OID names with NameFormat uri; unknown local names (groups) keep their name.
    expect(attrs).toEqual({
      "urn:oid:0.9.2342.19200300.100.1.3": [DEFAULT_USER.mail],
      "urn:oid:2.16.840.1.113730.3.1.241": [DEFAULT_USER.displayName],
      groups: DEFAULT_USER.groups,
    });

    const json = await idpSso(authnRequestUrl().url, { sign: "assertion" }, "json");
    expect(json.binding).toBe("HTTP-POST");
    expect(json.url).toBe(SP_ACS_URL);
    const signedParents = elements(parseXml(b64.decode(json.SAMLResponse)), NS.ds, "Signature").map(
      (s) => (s.parentNode as Element).localName,
    );
    expect(signedParents).toEqual(["Assertion"]);
    const last = await idp.last();
    expect(last.authnRequest).toContain("AuthnRequest");
  });

  it("refuses unsigned and badly signed requests, repeated parameters and ACS URLs outside the SP metadata", async () => {
    const status = async (url: string) =>
      (await fetch(url, { headers: { accept: "application/json" } })).status;
    expect(await status(authnRequestUrl({ unsigned: true }).url)).toBe(400);
    expect(await status(authnRequestUrl({ badSig: true }).url)).toBe(400);
    expect(await status(`${authnRequestUrl().url}&SigAlg=${encodeURIComponent(RSA_SHA256)}`)).toBe(400);
    expect(await status(authnRequestUrl({ acs: "https://evil.example/acs" }).url)).toBe(400);
    await idp.waitForLog(/unsigned SAMLRequest refused/);
    await idp.waitForLog(/redirect signature does not verify/);
    await idp.waitForLog(/repeated parameter SigAlg/);
    await idp.waitForLog(/ACS URL not in the SP metadata/);
    expect(await status(authnRequestUrl().url)).toBe(200);
  });

  it("encrypts the assertion with the requested algorithms and records the SessionIndex itself", async () => {
    for (const cipher of ["aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc", "tripledes-cbc"] as const) {
      const posted = await idpSso(authnRequestUrl().url, { encrypt: cipher });
      const xml = b64.decode(posted.SAMLResponse);
      const doc = parseXml(xml);
      expect(elements(doc, NS.saml, "Assertion")).toHaveLength(0);
      const methods = elements(one(doc, NS.saml, "EncryptedAssertion"), NS.xenc, "EncryptionMethod").map(
        (m) => m.getAttribute("Algorithm"),
      );
      expect(methods, cipher).toEqual([ENC[cipher], "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"]);
      // xmlsec1 as an independent decryptor, with the SP key: the SessionIndex inside is the one the
      // IdP recorded (it is not visible in the ciphertext).
      const file = join(work, `${cipher}.xml`);
      writeFileSync(file, xml);
      const plain = execFileSync("xmlsec1", ["--decrypt", "--privkey-pem", files.current.key, file], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      const sessionIndex = one(parseXml(plain), NS.saml, "AuthnStatement").getAttribute("SessionIndex");
      const sessions = await idp.sessions();
      expect(sessions.at(-1)!.sessionIndex).toBe(sessionIndex);
      expect(sessionIndex).toMatch(/^id-/);
    }
    const rsa15 = await idpSso(authnRequestUrl().url, { encrypt: "aes128-cbc", keyTransport: "rsa-1_5" });
    expect(b64.decode(rsa15.SAMLResponse)).toContain('Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"');
  });

  it("offers validly signed but wrong messages: audience, destination, issuer, clock, algorithm, status", async () => {
    const posted = await idpSso(authnRequestUrl().url, {
      audience: "https://other-sp.example/saml",
      destination: "https://other-sp.example/acs",
      issuer: "https://impostor.example/idp",
      clockShiftSeconds: 3600,
      sigAlg: "rsa-sha1",
      digestAlg: "sha1",
      inResponseTo: "_0000000000000000000000000000000000000000",
    });
    const doc = parseXml(b64.decode(posted.SAMLResponse));
    const root = doc.documentElement!;
    expect(root.getAttribute("Destination")).toBe("https://other-sp.example/acs");
    expect(root.getAttribute("InResponseTo")).toBe("_0000000000000000000000000000000000000000");
    expect(one(doc, NS.saml, "Audience").textContent).toBe("https://other-sp.example/saml");
    expect(one(doc, NS.saml, "SubjectConfirmationData").getAttribute("Recipient")).toBe(
      "https://other-sp.example/acs",
    );
    expect(elements(doc, NS.saml, "Issuer").map((i) => i.textContent)).toEqual([
      "https://impostor.example/idp",
      "https://impostor.example/idp",
    ]);
    const shifted = Date.parse(root.getAttribute("IssueInstant")!) - Date.now();
    expect(shifted).toBeGreaterThan(3500_000);
    expect(shifted).toBeLessThan(3700_000);
    expect(elements(doc, NS.ds, "SignatureMethod").map((m) => m.getAttribute("Algorithm"))).toEqual([
      "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
      "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    ]);

    const error = parseXml(
      b64.decode((await idpSso(authnRequestUrl().url, { status: "error" })).SAMLResponse),
    );
    expect(elements(error, NS.saml, "Assertion")).toHaveLength(0);
    expect(elements(error, NS.samlp, "StatusCode")[0]!.getAttribute("Value")).toBe(
      "urn:oasis:names:tc:SAML:2.0:status:Responder",
    );
  });

  it("optional login form: wrong credentials get the form again (401), right ones the Response; forms are single use", async () => {
    const { id, url } = authnRequestUrl({ relayState: "/app" });
    const wrong = await idpSsoWithLogin(url, { username: DEFAULT_USER.nameId, password: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.posted).toBeNull();
    expect(wrong.html).toContain("Invalid username or password.");
    const right = await idpSsoWithLogin(authnRequestUrl({ id, relayState: "/app" }).url, {
      username: DEFAULT_USER.nameId,
      password: TEST_PASSWORD,
    });
    expect(right.status).toBe(200);
    expect(right.posted!.url).toBe(SP_ACS_URL);
    expect(right.posted!.RelayState).toBe("/app");
    expect(
      parseXml(b64.decode(right.posted!.SAMLResponse)).documentElement!.getAttribute("InResponseTo"),
    ).toBe(id);
    const replayed = await fetch(`${idp.base}/sso/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        key: "not-a-pending-login",
        username: DEFAULT_USER.nameId,
        password: TEST_PASSWORD,
      }),
    });
    expect(replayed.status).toBe(400);
  });

  it("stops by PID", async () => {
    const other = await startPysamlIdp({
      spMetadataXml: await (await t.app.request("https://id.test.example/saml/metadata")).text(),
    });
    const pid = other.pid;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await other.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
