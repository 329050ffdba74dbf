/**
 * The SAML ACS point of the benchmark (issue 8): a bench IdP that signs unsolicited Responses
 * (docs/spec/saml.md §6.6) in-process, fast enough to prepare thousands right before a load point, and
 * the settings the bench server and the in-process baseline share.
 *
 * Why not xmlsec1 or xml-crypto: the replay guard (§6.3 step 12) refuses a repeated Assertion ID,
 * so every request needs its own signed Response — ~3,700 per runtime. xmlsec1 costs a process
 * per signature and xml-crypto a parse and a canonicalisation per signature; here the document is
 * written directly in its exclusive-c14n form (no whitespace, no XML declaration, `<a></a>` for
 * empty elements, attributes in canonical order, each namespace declared exactly where exclusive
 * c14n renders it: `saml` on Issuer and Assertion, `samlp` on Response, `ds` on Signature), so
 * a digest is SHA-256 over a substring and a signature is one RSA-SHA256 over the canonical
 * SignedInfo: ~1 ms per Response with both signatures. test/saml/bench-idp.test.ts proves that
 * xmlsec1 (independent) and the server's own pipeline accept what this file signs.
 *
 * Shape (what a typical IdP sends): Response and Assertion both signed (RSA-SHA256, SHA-256,
 * exclusive c14n, no KeyInfo), plaintext assertion, emailAddress NameID, `mail`/`displayName`/
 * `groups` attributes, no InResponseTo, Destination/Recipient `{acsURL}/{tid}`.
 */
import { Buffer } from "node:buffer";
import { createHash, createPrivateKey, type KeyObject, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const KEYS = join(import.meta.dirname, "../fixtures/saml/keys");
/** TEST-ONLY fixture pairs (test/fixtures/saml/keys/README.md). */
export const BENCH_IDP_KEY_FILE = join(KEYS, "idp-signing.key.pem");
export const BENCH_IDP_CERT_FILE = join(KEYS, "idp-signing.crt.pem");
export const BENCH_SP_KEY_FILE = join(KEYS, "sp-encryption.key.pem");
export const BENCH_SP_CERT_FILE = join(KEYS, "sp-encryption.crt.pem");

/** The bench server's fixed `issuerBaseUrl` (test/bench/run.ts): SP URLs are its defaults. */
export const BENCH_ISSUER = "http://127.0.0.1:8080";
export const BENCH_IDP_ENTITY = "https://idp.bench.example/metadata";

/** Destination/Recipient (`{acsURL}/{tid}`, §6.6) and Audience (`sp.entityID`) of the bench server. */
export function benchAcsTarget(tenantId: string): { acsUrl: string; audience: string } {
  return { acsUrl: `${BENCH_ISSUER}/saml/acs/${tenantId}`, audience: `${BENCH_ISSUER}/saml` };
}
const IDP_SSO = "https://idp.bench.example/sso";

const NS_P = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_A = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const PPT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

/** The base64 DER of a PEM certificate (as in `ds:X509Certificate`). */
export function certBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
}

/** IdP metadata with the fixture signing certificate, for `PUT /tenants/:tid/saml/idp`. */
export function benchIdpMetadataXml(): string {
  const cert = certBase64(readFileSync(BENCH_IDP_CERT_FILE, "utf8"));
  return (
    `<md:EntityDescriptor xmlns:md="${NS_MD}" xmlns:ds="${DS}" entityID="${BENCH_IDP_ENTITY}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="${NS_P}">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="${REDIRECT}" Location="${IDP_SSO}"/></md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/** Characters that would need escaping in c14n output are never produced by the callers. */
function plain(value: string): string {
  if (!/^[A-Za-z0-9@._:/#+=-]*$/.test(value))
    throw new Error(`bench IdP: unsupported characters in ${value}`);
  return value;
}

const instant = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export interface BenchResponseInput {
  /** `{acsURL}/{tid}`: Destination and Recipient. */
  acsUrl: string;
  /** `sp.entityID`: the Audience. */
  audience: string;
  /** NameID (emailAddress format) and `mail` attribute. */
  email: string;
  /** Milliseconds; IssueInstant is 2 s before. */
  now: number;
  /** Seconds the assertion stays valid (Conditions and SubjectConfirmationData NotOnOrAfter). */
  validSeconds?: number;
}

export class BenchIdp {
  private readonly key: KeyObject;
  private n = 0;

  constructor(keyPem: string = readFileSync(BENCH_IDP_KEY_FILE, "utf8")) {
    this.key = createPrivateKey(keyPem);
  }

  private id(prefix: string): string {
    return `_${prefix}${randomBytes(10).toString("hex")}${(this.n++).toString(16)}`;
  }

  /**
   * The enveloped `ds:Signature` over `canonical` (the signed element, already in exclusive-c14n
   * form, without its signature): the Reference digest over those bytes, the SignatureValue over the
   * canonical SignedInfo (apex: `xmlns:ds` rendered on SignedInfo itself).
   */
  private signature(refId: string, canonical: string): string {
    const digest = createHash("sha256").update(canonical).digest("base64");
    const signedInfo =
      `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"></ds:CanonicalizationMethod>` +
      `<ds:SignatureMethod Algorithm="${RSA_SHA256}"></ds:SignatureMethod>` +
      `<ds:Reference URI="#${refId}"><ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"></ds:Transform>` +
      `<ds:Transform Algorithm="${EXC_C14N}"></ds:Transform></ds:Transforms>` +
      `<ds:DigestMethod Algorithm="${SHA256}"></ds:DigestMethod><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;
    const value = sign(
      "sha256",
      Buffer.from(`<ds:SignedInfo xmlns:ds="${DS}">${signedInfo}</ds:SignedInfo>`),
      this.key,
    ).toString("base64");
    return (
      `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo>${signedInfo}</ds:SignedInfo>` +
      `<ds:SignatureValue>${value}</ds:SignatureValue></ds:Signature>`
    );
  }

  /** A signed unsolicited Response (XML text). */
  response(input: BenchResponseInput): { xml: string; assertionId: string } {
    const acs = plain(input.acsUrl);
    const audience = plain(input.audience);
    const email = plain(input.email);
    const now = input.now;
    const valid = input.validSeconds ?? 1800;
    const issue = instant(now - 2000);
    const until = instant(now + valid * 1000);
    const aid = this.id("a");
    const rid = this.id("r");
    const sessionIndex = this.id("s");

    const issuer = `<saml:Issuer>${BENCH_IDP_ENTITY}</saml:Issuer>`;
    const assertionOpen = `<saml:Assertion xmlns:saml="${NS_A}" ID="${aid}" IssueInstant="${issue}" Version="2.0">`;
    const assertionRest =
      `<saml:Subject><saml:NameID Format="${EMAIL_FORMAT}">${email}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="${BEARER}"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${acs}">` +
      "</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>" +
      `<saml:Conditions NotBefore="${instant(now - 60_000)}" NotOnOrAfter="${until}"><saml:AudienceRestriction>` +
      `<saml:Audience>${audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${instant(now - 30_000)}" SessionIndex="${sessionIndex}" SessionNotOnOrAfter="${instant(now + 8 * 3_600_000)}">` +
      `<saml:AuthnContext><saml:AuthnContextClassRef>${PPT}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      "<saml:AttributeStatement>" +
      `<saml:Attribute Name="mail" NameFormat="${BASIC}"><saml:AttributeValue>${email}</saml:AttributeValue></saml:Attribute>` +
      `<saml:Attribute Name="displayName" NameFormat="${BASIC}"><saml:AttributeValue>Bench User</saml:AttributeValue></saml:Attribute>` +
      `<saml:Attribute Name="groups" NameFormat="${BASIC}"><saml:AttributeValue>engineering</saml:AttributeValue>` +
      "<saml:AttributeValue>staff</saml:AttributeValue></saml:Attribute>" +
      "</saml:AttributeStatement></saml:Assertion>";
    const assertion =
      assertionOpen + issuer + this.signature(aid, assertionOpen + issuer + assertionRest) + assertionRest;

    const responseOpen = `<samlp:Response xmlns:samlp="${NS_P}" Destination="${acs}" ID="${rid}" IssueInstant="${issue}" Version="2.0">`;
    const responseIssuer = `<saml:Issuer xmlns:saml="${NS_A}">${BENCH_IDP_ENTITY}</saml:Issuer>`;
    const responseRest =
      `<samlp:Status><samlp:StatusCode Value="${SUCCESS}"></samlp:StatusCode></samlp:Status>${assertion}` +
      "</samlp:Response>";
    const xml =
      responseOpen +
      responseIssuer +
      this.signature(rid, responseOpen + responseIssuer + responseRest) +
      responseRest;
    return { xml, assertionId: aid };
  }

  /** The ACS form body (`application/x-www-form-urlencoded`) of a fresh signed Response. */
  formBody(input: BenchResponseInput): string {
    const { xml } = this.response(input);
    return `SAMLResponse=${encodeURIComponent(Buffer.from(xml).toString("base64"))}`;
  }
}
