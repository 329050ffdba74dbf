/**
 * A test IdP for the SAML browser-flow tests: it builds SAML Responses and logout messages like the
 * fixture generator (scripts/saml-fixtures.mjs, same builders and the same TEST-ONLY keys under
 * test/fixtures/saml/keys), signs them with xmlsec1 — an implementation independent of the code
 * under test — and encrypts assertions with node:crypto (AES-GCM, AES-CBC with XML-Enc padding,
 * RSA-OAEP to the SP certificate). It also checks what the SP sends: Redirect-binding signatures
 * over the raw query with the SP certificate, inflated messages, enveloped POST signatures.
 */
import { execFile } from "node:child_process";
import { constants, createCipheriv, publicEncrypt, randomBytes, sign, verify } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { expect } from "vitest";
import type { Clock } from "../../../src/clock.ts";
import type { AppDeps } from "../../../src/deps.ts";
import type { KV } from "../../../src/store/kv.ts";
import {
  buildSamlTestApp,
  createTenant,
  type SamlTestApp,
  type SpFiles,
  spFiles,
} from "../metadata/helpers.ts";
import { FIXTURES } from "../support/corpus.ts";

const run = promisify(execFile);

export const IDP_ENTITY = "https://idp.example.test/metadata";
export const IDP_SSO = "https://idp.example.test/sso";
export const IDP_SLO = "https://idp.example.test/slo";
export const IDP_SLO_RESPONSE = "https://idp.example.test/slo/response";

const NS_P = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_A = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const XENC = "http://www.w3.org/2001/04/xmlenc#";
const XS = "http://www.w3.org/2001/XMLSchema";
const XSI = "http://www.w3.org/2001/XMLSchema-instance";
export const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
export const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
export const PERSISTENT_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
export const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
export const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
export const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1";
const RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";

export const CONTENT = {
  aes128gcm: "http://www.w3.org/2009/xmlenc11#aes128-gcm",
  aes256gcm: "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  aes128cbc: "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
  aes256cbc: "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
} as const;

const keyPath = (name: string, part: "key" | "crt") => join(FIXTURES, "keys", `${name}.${part}.pem`);
export const IDP_KEY = keyPath("idp-signing", "key");
export const IDP_CRT = keyPath("idp-signing", "crt");
export const ATTACKER_KEY = keyPath("attacker", "key");
export const ATTACKER_CRT = keyPath("attacker", "crt");
/** The SP's pair in these tests (signing and encryption): the fixtures' SP encryption pair. */
export const SP_KEY = keyPath("sp-encryption", "key");
export const SP_CRT = keyPath("sp-encryption", "crt");

export async function pem(path: string): Promise<string> {
  return readFile(path, "utf8");
}

export async function derBase64(path: string): Promise<string> {
  return (await pem(path)).replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// ------------------------------------------------------------------------------------ builders

export interface AssertionOptions {
  id?: string;
  /** Request id; `null` leaves InResponseTo out. */
  inResponseTo?: string | null;
  nameId?: string;
  nameIdFormat?: string;
  issuer?: string;
  audience?: string;
  recipient?: string;
  /** Seconds relative to `now`. */
  issueInstant?: number;
  notBefore?: number;
  notOnOrAfter?: number;
  scdNotOnOrAfter?: number;
  /** Seconds relative to now; `null` leaves it out. */
  sessionNotOnOrAfter?: number | null;
  sessionIndex?: string;
  attributes?: Record<string, string[]>;
  /** Add a signature template (signed later by xmlsec1). */
  sign?: boolean;
}

export interface ResponseOptions {
  id?: string;
  /** `null` leaves InResponseTo out of the Response. */
  inResponseTo?: string | null;
  destination?: string | null;
  issuer?: string | null;
  status?: string;
  issueInstant?: number;
  sign?: boolean;
}

const sigTemplate = (refId: string) =>
  `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo>` +
  `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/><ds:SignatureMethod Algorithm="${RSA_SHA256}"/>` +
  `<ds:Reference URI="#${refId}"><ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"/>` +
  `<ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="${SHA256}"/>` +
  "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>" +
  "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>";

let counter = 0;
export function uniqueId(prefix: string): string {
  return `_${prefix}${randomBytes(12).toString("hex")}${(counter++).toString(16)}`;
}

export const DEFAULT_USER = "alice@example.test";
export const DEFAULT_ATTRIBUTES: Record<string, string[]> = {
  mail: [DEFAULT_USER],
  displayName: ["Alice Example"],
  groups: ["engineering", "staff"],
};

export class TestIdp {
  readonly now: () => number;
  readonly dir: string;
  private n = 0;

  constructor(now: () => number, dir: string) {
    this.now = now;
    this.dir = dir;
  }

  at(seconds: number): string {
    return new Date(Math.floor(this.now() / 1000) * 1000 + seconds * 1000)
      .toISOString()
      .replace(".000Z", "Z");
  }

  assertion(o: AssertionOptions = {}, acsUrl: string): string {
    const id = o.id ?? uniqueId("a");
    const irt = o.inResponseTo === null ? "" : ` InResponseTo="${esc(o.inResponseTo ?? "")}"`;
    const scd =
      `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData${irt}` +
      ` NotOnOrAfter="${this.at(o.scdNotOnOrAfter ?? 300)}" Recipient="${esc(o.recipient ?? acsUrl)}"/></saml:SubjectConfirmation>`;
    const nameId = `<saml:NameID Format="${o.nameIdFormat ?? EMAIL_FORMAT}">${esc(o.nameId ?? DEFAULT_USER)}</saml:NameID>`;
    const attrs = Object.entries(o.attributes ?? DEFAULT_ATTRIBUTES)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
          values
            .map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`)
            .join("") +
          "</saml:Attribute>",
      )
      .join("");
    const sessionNoa =
      o.sessionNotOnOrAfter === null
        ? ""
        : ` SessionNotOnOrAfter="${this.at(o.sessionNotOnOrAfter ?? 8 * 3600)}"`;
    return (
      `<saml:Assertion xmlns:saml="${NS_A}" xmlns:xs="${XS}" xmlns:xsi="${XSI}" ID="${id}" Version="2.0" IssueInstant="${this.at(o.issueInstant ?? -5)}">` +
      `<saml:Issuer>${esc(o.issuer ?? IDP_ENTITY)}</saml:Issuer>${o.sign === false ? "" : sigTemplate(id)}` +
      `<saml:Subject>${nameId}${scd}</saml:Subject>` +
      `<saml:Conditions NotBefore="${this.at(o.notBefore ?? -60)}" NotOnOrAfter="${this.at(o.notOnOrAfter ?? 300)}">` +
      `<saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? "")}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${this.at(-30)}" SessionIndex="${esc(o.sessionIndex ?? uniqueId("s"))}"${sessionNoa}>` +
      "<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>" +
      `<saml:AttributeStatement>${attrs}</saml:AttributeStatement></saml:Assertion>`
    );
  }

  response(o: ResponseOptions, body: string, acsUrl: string): string {
    const id = o.id ?? uniqueId("r");
    const attrs = [`ID="${id}"`, 'Version="2.0"', `IssueInstant="${this.at(o.issueInstant ?? -5)}"`];
    if (o.destination !== null) attrs.push(`Destination="${esc(o.destination ?? acsUrl)}"`);
    if (o.inResponseTo !== null && o.inResponseTo !== undefined)
      attrs.push(`InResponseTo="${esc(o.inResponseTo)}"`);
    const issuer = o.issuer === null ? "" : `<saml:Issuer>${esc(o.issuer ?? IDP_ENTITY)}</saml:Issuer>`;
    return (
      `<samlp:Response xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ${attrs.join(" ")}>` +
      `${issuer}${o.sign === false ? "" : sigTemplate(id)}` +
      `<samlp:Status><samlp:StatusCode Value="${o.status ?? SUCCESS}"/></samlp:Status>${body}</samlp:Response>`
    );
  }

  // ---------------------------------------------------------------------------------- xmlsec1

  private async file(name: string, content?: string): Promise<string> {
    const p = join(this.dir, `${this.n++}-${name}`);
    if (content !== undefined) await writeFile(p, content);
    return p;
  }

  /** Signs the template at `xpath` with xmlsec1 (default: the IdP's pinned key). */
  async xmlsecSign(xml: string, xpath: string, key = IDP_KEY, crt = IDP_CRT): Promise<string> {
    const input = await this.file("in.xml", xml);
    const output = await this.file("out.xml");
    await run("xmlsec1", [
      "--sign",
      "--privkey-pem",
      `${key},${crt}`,
      "--id-attr:ID",
      `${NS_P}:Response`,
      "--id-attr:ID",
      `${NS_P}:LogoutRequest`,
      "--id-attr:ID",
      `${NS_P}:LogoutResponse`,
      "--id-attr:ID",
      `${NS_A}:Assertion`,
      "--node-xpath",
      xpath,
      "--output",
      output,
      input,
    ]);
    return (await readFile(output, "utf8")).replace(/^<\?xml[^>]*\?>\n?/, "").replace(/\n$/, "");
  }

  /** xmlsec1 as an independent oracle, pinned to `crt` (§16.3 pitfall 5): the root signature verifies. */
  async xmlsecVerifiesRoot(xml: string, crt: string): Promise<boolean> {
    const file = await this.file("verify.xml", xml);
    try {
      await run("xmlsec1", [
        "--verify",
        "--pubkey-cert-pem",
        crt,
        "--enabled-key-data",
        "raw-x509-cert",
        "--enabled-reference-uris",
        "same-doc",
        "--id-attr:ID",
        `${NS_P}:LogoutRequest`,
        "--id-attr:ID",
        `${NS_P}:LogoutResponse`,
        "--node-xpath",
        "/*/*[local-name()='Signature']",
        file,
      ]);
      return true;
    } catch {
      return false;
    }
  }

  signAssertionIn(xml: string, key?: string, crt?: string): Promise<string> {
    return this.xmlsecSign(xml, "(//*[local-name()='Assertion']/*[local-name()='Signature'])[1]", key, crt);
  }

  signRoot(xml: string, key?: string, crt?: string): Promise<string> {
    return this.xmlsecSign(xml, "/*/*[local-name()='Signature']", key, crt);
  }

  /**
   * A complete, signed Response for `requestId` (both signatures by default), base64 as posted.
   * `encrypt` wraps the signed assertion in an EncryptedAssertion for the SP.
   */
  async signedResponse(input: {
    acsUrl: string;
    audience: string;
    requestId: string | null;
    assertion?: AssertionOptions;
    response?: ResponseOptions;
    signAssertion?: boolean;
    signResponse?: boolean;
    encrypt?: keyof typeof CONTENT;
    key?: string;
    crt?: string;
  }): Promise<{ xml: string; base64: string }> {
    const signAssertion = input.signAssertion ?? true;
    const signResponse = input.signResponse ?? true;
    const assertionXml = this.assertion(
      { inResponseTo: input.requestId, audience: input.audience, sign: signAssertion, ...input.assertion },
      input.acsUrl,
    );
    let body: string;
    if (input.encrypt) {
      const signedAssertion = signAssertion
        ? await this.signRoot(assertionXml, input.key, input.crt)
        : assertionXml;
      body = `<saml:EncryptedAssertion>${await encryptForSp(signedAssertion, CONTENT[input.encrypt])}</saml:EncryptedAssertion>`;
    } else {
      body = assertionXml;
    }
    let xml = this.response(
      { inResponseTo: input.requestId, sign: signResponse, ...input.response },
      body,
      input.acsUrl,
    );
    if (signAssertion && !input.encrypt) xml = await this.signAssertionIn(xml, input.key, input.crt);
    if (signResponse) xml = await this.signRoot(xml, input.key, input.crt);
    return { xml, base64: Buffer.from(xml).toString("base64") };
  }

  // ------------------------------------------------------------------------------- logout messages

  logoutRequest(o: {
    id?: string;
    nameId: string;
    nameIdFormat?: string;
    sessionIndexes?: string[];
    destination?: string;
    issuer?: string;
    issueInstant?: number;
    sign?: boolean;
  }): string {
    const id = o.id ?? uniqueId("lq");
    return (
      `<samlp:LogoutRequest xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ID="${id}" Version="2.0" IssueInstant="${this.at(o.issueInstant ?? -2)}" Destination="${esc(o.destination ?? "")}">` +
      `<saml:Issuer>${esc(o.issuer ?? IDP_ENTITY)}</saml:Issuer>${o.sign ? sigTemplate(id) : ""}` +
      `<saml:NameID Format="${o.nameIdFormat ?? EMAIL_FORMAT}">${esc(o.nameId)}</saml:NameID>` +
      (o.sessionIndexes ?? []).map((s) => `<samlp:SessionIndex>${esc(s)}</samlp:SessionIndex>`).join("") +
      "</samlp:LogoutRequest>"
    );
  }

  logoutResponse(o: {
    id?: string;
    inResponseTo: string;
    destination?: string;
    status?: string;
    issuer?: string;
    sign?: boolean;
  }): string {
    const id = o.id ?? uniqueId("ls");
    return (
      `<samlp:LogoutResponse xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ID="${id}" Version="2.0" IssueInstant="${this.at(-1)}" InResponseTo="${esc(o.inResponseTo)}" Destination="${esc(o.destination ?? "")}">` +
      `<saml:Issuer>${esc(o.issuer ?? IDP_ENTITY)}</saml:Issuer>${o.sign ? sigTemplate(id) : ""}` +
      `<samlp:Status><samlp:StatusCode Value="${o.status ?? SUCCESS}"/></samlp:Status></samlp:LogoutResponse>`
    );
  }
}

/** The raw Redirect-binding query for `xml`, signed with `keyPem` (SAML bindings §3.4.4.1). */
export function redirectQuery(
  xml: string,
  keyPem: string,
  o: { param?: "SAMLRequest" | "SAMLResponse"; relayState?: string } = {},
): string {
  const enc = encodeURIComponent;
  let q = `${o.param ?? "SAMLRequest"}=${enc(deflateRawSync(Buffer.from(xml)).toString("base64"))}`;
  if (o.relayState !== undefined) q += `&RelayState=${enc(o.relayState)}`;
  q += `&SigAlg=${enc(RSA_SHA256)}`;
  return `${q}&Signature=${enc(sign("sha256", Buffer.from(q), keyPem).toString("base64"))}`;
}

/** XML Encryption of `plaintext` for the SP certificate (RSA-OAEP-MGF1P, SHA-1 OAEP digest). */
export async function encryptForSp(plaintext: string, content: string, certPath = SP_CRT): Promise<string> {
  const keyLen = content.includes("128") ? 16 : 32;
  const key = randomBytes(keyLen);
  let value: Buffer;
  if (content.endsWith("gcm")) {
    const iv = randomBytes(12);
    const c = createCipheriv(`aes-${keyLen * 8}-gcm` as "aes-256-gcm", key, iv);
    value = Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  } else {
    // XML Encryption padding (not PKCS#7): random bytes, the last one the pad length.
    const iv = randomBytes(16);
    const data = Buffer.from(plaintext);
    const pad = randomBytes(16 - (data.length % 16));
    pad[pad.length - 1] = pad.length;
    const c = createCipheriv(`aes-${keyLen * 8}-cbc`, key, iv).setAutoPadding(false);
    value = Buffer.concat([iv, c.update(Buffer.concat([data, pad])), c.final()]);
  }
  const wrapped = publicEncrypt(
    { key: await pem(certPath), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" },
    key,
  );
  return (
    `<xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element"><xenc:EncryptionMethod Algorithm="${content}"/>` +
    `<ds:KeyInfo xmlns:ds="${DS}"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${RSA_OAEP_MGF1P}">` +
    `<ds:DigestMethod Algorithm="${SHA1}"/></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${value.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`
  );
}

// ------------------------------------------------------------------------------------ SP side

/** Verifies an SP Redirect-binding signature over the raw query substrings (SP certificate). */
export async function spRedirectSignatureValid(rawQuery: string): Promise<boolean> {
  const parts = rawQuery.split("&");
  const get = (name: string) => parts.find((p) => p.startsWith(`${name}=`));
  const message = get("SAMLRequest") ?? get("SAMLResponse");
  const relay = get("RelayState");
  const sigAlg = get("SigAlg");
  const signature = get("Signature");
  if (!message || !sigAlg || !signature) return false;
  const signed = [message, relay, sigAlg].filter(Boolean).join("&");
  return verify(
    "sha256",
    Buffer.from(signed),
    await pem(SP_CRT),
    Buffer.from(decodeURIComponent(signature.slice("Signature=".length)), "base64"),
  );
}

/** Splits an SP redirect URL: the destination, the raw query and the inflated message. */
export function parseSpRedirect(location: string): {
  base: string;
  rawQuery: string;
  params: URLSearchParams;
  xml: string;
} {
  const q = location.indexOf("?");
  const rawQuery = location.slice(q + 1);
  const params = new URLSearchParams(rawQuery);
  const message = params.get("SAMLRequest") ?? params.get("SAMLResponse") ?? "";
  return {
    base: location.slice(0, q),
    rawQuery,
    params,
    xml: inflateRawSync(Buffer.from(message, "base64")).toString("utf8"),
  };
}

// ------------------------------------------------------------------------------------ app

export interface Idp {
  files: SpFiles;
  dir: string;
  cleanup(): Promise<void>;
}

/** SP key files (the fixture SP pair) and a temp dir for xmlsec1. */
export async function setupFiles(): Promise<Idp> {
  const files = await spFiles();
  await copyFile(SP_KEY, files.current.key);
  await copyFile(SP_CRT, files.current.cert);
  const dir = await mkdtemp(join(tmpdir(), "tikti-saml-flows-"));
  return {
    files,
    dir,
    cleanup: async () => {
      await files.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function idpMetadataXml(
  o: { slo?: Array<[string, string, string?]>; entityId?: string } = {},
): Promise<string> {
  return derBase64(IDP_CRT).then(
    (b64) =>
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="${DS}" entityID="${o.entityId ?? IDP_ENTITY}">` +
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      (o.slo ?? [[REDIRECT, IDP_SLO, IDP_SLO_RESPONSE]])
        .map(
          ([b, l, r]) =>
            `<md:SingleLogoutService Binding="${b}" Location="${l}"${r ? ` ResponseLocation="${r}"` : ""}/>`,
        )
        .join("") +
      `<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>` +
      `<md:SingleSignOnService Binding="${REDIRECT}" Location="${IDP_SSO}"/></md:IDPSSODescriptor></md:EntityDescriptor>`,
  );
}

export interface FlowApp extends SamlTestApp {
  idp: TestIdp;
}

/** The app with SAML on, tenant `acme` and its IdP registered through the admin API. */
export async function flowApp(options: {
  store: KV;
  setup: Idp;
  clock: Clock;
  idp?: Record<string, unknown>;
  slo?: Array<[string, string, string?]>;
  config?: Record<string, unknown>;
  saml?: Record<string, unknown>;
  tenants?: string[];
  /** The app's audit sink instead of the collecting one (a failing sink, for fail-closed tests). */
  auditSink?: AppDeps["auditSink"];
}): Promise<FlowApp> {
  const t = await buildSamlTestApp({
    store: options.store,
    files: options.setup.files,
    clock: options.clock,
    ...(options.auditSink ? { auditSink: options.auditSink } : {}),
    ...(options.config ? { config: options.config } : {}),
    ...(options.saml ? { saml: options.saml } : {}),
  });
  for (const tid of options.tenants ?? ["acme"]) {
    await createTenant(t, tid);
    const res = await t.call(`/tenants/${tid}/saml/idp`, {
      method: "PUT",
      json: { metadataXml: await idpMetadataXml(options.slo ? { slo: options.slo } : {}), ...options.idp },
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }
  return Object.assign(t, { idp: new TestIdp(() => options.clock.now(), options.setup.dir) });
}

// ------------------------------------------------------------------------------------ browser

export const STATE = "__Host-tikti_saml_state";
export const SLO_STATE = "__Host-tikti_saml_slo";
export const SP_ENTITY = "https://id.test.example/saml";
export const ACS = "https://id.test.example/saml/acs";
export const SLO = "https://id.test.example/saml/slo";

/** Every `Set-Cookie` of a response. */
export function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}

/** The value set for cookie `name` (last one wins), or null. */
export function cookieSet(res: Response, name: string): string | null {
  let value: string | null = null;
  for (const c of setCookies(res)) {
    if (c.startsWith(`${name}=`)) value = c.slice(name.length + 1).split(";", 1)[0] ?? "";
  }
  return value;
}

export interface Login {
  requestId: string;
  location: string;
  rawQuery: string;
  xml: string;
  relayState: string | null;
  res: Response;
}

/** GET /saml/login/:tid → the AuthnRequest the browser is sent to the IdP with. */
export async function login(t: SamlTestApp, tid = "acme", query = ""): Promise<Login> {
  const res = await t.call(`/saml/login/${tid}${query}`, { key: false });
  expect(res.status, await res.clone().text()).toBe(302);
  const location = res.headers.get("location")!;
  const parsed = parseSpRedirect(location);
  const requestId = /\bID="([^"]+)"/.exec(parsed.xml)![1]!;
  expect(cookieSet(res, STATE)).toBe(requestId);
  return {
    requestId,
    location,
    rawQuery: parsed.rawQuery,
    xml: parsed.xml,
    relayState: parsed.params.get("RelayState"),
    res,
  };
}

/** POST an ACS form. `cookies` is the `Cookie` header; `fields` overrides/extends the form. */
export function postAcs(
  t: SamlTestApp,
  input: {
    samlResponse?: string;
    relayState?: string | null;
    cookie?: string | null;
    path?: string;
    body?: string;
    contentType?: string;
    headers?: Record<string, string>;
  },
): Promise<Response> {
  const params = new URLSearchParams();
  if (input.samlResponse !== undefined) params.set("SAMLResponse", input.samlResponse);
  if (input.relayState !== undefined && input.relayState !== null) params.set("RelayState", input.relayState);
  const headers: Record<string, string> = {
    "content-type": input.contentType ?? "application/x-www-form-urlencoded",
    ...input.headers,
  };
  if (input.cookie) headers.cookie = input.cookie;
  return t.call(input.path ?? "/saml/acs", {
    method: "POST",
    key: false,
    headers,
    body: input.body ?? params.toString(),
  });
}

/** The claims of a compact JWS (no verification: the routes under test do that). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
}

export interface SignedIn {
  login: Login;
  res: Response;
  idToken: string;
  claims: Record<string, unknown>;
}

/**
 * The whole SP-initiated round trip: login, a Response signed for the recorded request, the ACS
 * post with the state cookie. Expects acceptance.
 */
export async function signIn(
  t: FlowApp,
  o: {
    tid?: string;
    query?: string;
    assertion?: AssertionOptions;
    response?: ResponseOptions;
    encrypt?: keyof typeof CONTENT;
    signResponse?: boolean;
  } = {},
): Promise<SignedIn> {
  const l = await login(t, o.tid ?? "acme", o.query ?? "");
  const r = await t.idp.signedResponse({
    acsUrl: ACS,
    audience: SP_ENTITY,
    requestId: l.requestId,
    ...(o.assertion ? { assertion: o.assertion } : {}),
    ...(o.response ? { response: o.response } : {}),
    ...(o.encrypt ? { encrypt: o.encrypt } : {}),
    ...(o.signResponse !== undefined ? { signResponse: o.signResponse } : {}),
  });
  const res = await postAcs(t, {
    samlResponse: r.base64,
    relayState: l.relayState,
    cookie: `${STATE}=${l.requestId}`,
  });
  expect(res.status, await res.clone().text()).toBe(302);
  const idToken = cookieSet(res, "tikti_idt");
  expect(idToken).toBeTruthy();
  return { login: l, res, idToken: idToken!, claims: claimsOf(idToken!) };
}

/** The parsed `saml.assertion` audit records so far. */
export function samlAudits(t: SamlTestApp): Array<Record<string, unknown>> {
  return t.auditLines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.event === "saml.assertion");
}
