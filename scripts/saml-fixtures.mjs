#!/usr/bin/env node
// Generates the SAML fixture corpus under test/fixtures/saml/ (docs/spec/saml.md §7.10, issue 4):
// byte-exact messages named for their verdict, and manifest.json listing
// [file, expected reason code, expectations]. Signatures and most encryptions are made by xmlsec1
// (an independent implementation), never by the code under test; a few shapes xmlsec1 1.2 cannot
// produce (xmlenc11 RSA-OAEP with SHA-256, crafted padding, Redirect-binding query signatures) are
// made here with node:crypto.
//
//   node scripts/rt.mjs node scripts/saml-fixtures.mjs        (needs xmlsec1 and openssl)
//
// Test keys are created once under test/fixtures/saml/keys/ and reused, so re-running only changes
// the encrypted fixtures (RSA-OAEP and AES IVs are random). All times are relative to a fixed
// `now` recorded in the manifest, so fixtures never expire.
import { execFileSync } from "node:child_process";
import { constants, createCipheriv, createHash, publicEncrypt, randomBytes, sign } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(root, "test/fixtures/saml");
const KEYS = join(OUT, "keys");
const tmp = mkdtempSync(join(tmpdir(), "tikti-saml-fixtures-"));

// ---------------------------------------------------------------------------------------------
// Constants

const NOW = "2031-05-04T10:00:00Z";
const SP = "https://sp.tikti.test/saml";
const ACS = "https://sp.tikti.test/saml/acs";
const SLO = "https://sp.tikti.test/saml/slo";
const TID = "acme";
const ACS_TID = `${ACS}/${TID}`;
const IDP = "https://idp.example.test/metadata";
const REQ = "_5f0c1e2d3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d";
const LOGOUT_REQ = "_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
const USER = "alice@example.test";

const NS_P = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_A = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const XENC = "http://www.w3.org/2001/04/xmlenc#";
const XENC11 = "http://www.w3.org/2009/xmlenc11#";
const XS = "http://www.w3.org/2001/XMLSchema";
const XSI = "http://www.w3.org/2001/XMLSchema-instance";

const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

const ALG = {
  excC14n: "http://www.w3.org/2001/10/xml-exc-c14n#",
  excC14nComments: "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
  incC14n: "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
  enveloped: "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
  xpath: "http://www.w3.org/TR/1999/REC-xpath-19991116",
  rsaSha256: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  rsaSha512: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  rsaSha1: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
  hmacSha1: "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  sha512: "http://www.w3.org/2001/04/xmlenc#sha512",
  sha1: "http://www.w3.org/2000/09/xmldsig#sha1",
  md5: "http://www.w3.org/2001/04/xmldsig-more#md5",
  aes128gcm: "http://www.w3.org/2009/xmlenc11#aes128-gcm",
  aes256gcm: "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  aes128cbc: "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
  aes256cbc: "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
  tripledes: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
  rsaOaepMgf1p: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
  rsaOaep: "http://www.w3.org/2009/xmlenc11#rsa-oaep",
  rsa15: "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
  mgf1sha256: "http://www.w3.org/2009/xmlenc11#mgf1sha256",
};

/** ISO instant `seconds` after NOW, without milliseconds. */
function at(seconds) {
  return new Date(Date.parse(NOW) + seconds * 1000).toISOString().replace(".000Z", "Z");
}

function idFor(kind, name) {
  return `_${kind}${createHash("sha256").update(name).digest("hex").slice(0, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// Keys (test-only, created once)

function ensureKeyPair(name, cn, { pkcs1 = false } = {}) {
  const key = join(KEYS, `${name}.key.pem`);
  const crt = join(KEYS, `${name}.crt.pem`);
  if (!existsSync(key) || !existsSync(crt)) {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "36500",
        "-subj",
        `/CN=${cn}/O=Tikti test fixtures - TEST ONLY`,
        "-keyout",
        key,
        "-out",
        crt,
      ],
      { stdio: "ignore" },
    );
    if (pkcs1) execFileSync("openssl", ["rsa", "-in", key, "-traditional", "-out", key], { stdio: "ignore" });
  }
  return { name, key, crt, keyPem: readFileSync(key, "utf8"), crtPem: readFileSync(crt, "utf8") };
}

mkdirSync(KEYS, { recursive: true });
const K = {
  idp: ensureKeyPair("idp-signing", "Tikti fixture IdP signing"),
  idpNext: ensureKeyPair("idp-signing-next", "Tikti fixture IdP next signing"),
  attacker: ensureKeyPair("attacker", "Attacker self-signed"),
  sp: ensureKeyPair("sp-encryption", "Tikti fixture SP encryption", { pkcs1: true }),
  spOther: ensureKeyPair("sp-other", "Some other SP"),
};
const HMAC_KEY = join(KEYS, "hmac.key.bin");
if (!existsSync(HMAC_KEY)) writeFileSync(HMAC_KEY, "tikti-fixture-hmac-secret-test-only");
writeFileSync(
  join(KEYS, "README.md"),
  "# TEST ONLY keys\n\nSelf-signed RSA keys and certificates generated by `scripts/saml-fixtures.mjs` for the SAML\n" +
    "fixture corpus. They protect nothing and must never be used outside tests.\n\n" +
    "- `idp-signing` — the fixture IdP's pinned signing certificate\n" +
    "- `idp-signing-next` — a second pinned IdP certificate (rotation: tried in order)\n" +
    "- `attacker` — an unpinned key whose certificate is carried in `KeyInfo` (certificate faking)\n" +
    "- `sp-encryption` — the SP's encryption pair (PKCS#1 key on purpose)\n" +
    "- `sp-other` — an encryption pair that is not the SP's\n" +
    "- `hmac.key.bin` — an HMAC secret (HMAC signatures must be refused)\n",
);

// ---------------------------------------------------------------------------------------------
// Builders (strings; every fixture is built from these and then signed/mutated)

function sigTemplate(refId, o = {}) {
  const transforms = (o.transforms ?? [ALG.enveloped, ALG.excC14n])
    .map((t) => (t.startsWith("<") ? t : `<ds:Transform Algorithm="${t}"/>`))
    .join("");
  const keyInfo = o.keyInfo ?? "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>";
  return (
    `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="${o.c14n ?? ALG.excC14n}"/>` +
    `<ds:SignatureMethod Algorithm="${o.sigAlg ?? ALG.rsaSha256}"/>` +
    `<ds:Reference URI="#${o.uri ?? refId}"><ds:Transforms>${transforms}</ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${o.digest ?? ALG.sha256}"/><ds:DigestValue></ds:DigestValue></ds:Reference>` +
    `</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>${keyInfo}</ds:Signature>`
  );
}

const DEFAULT_ATTRIBUTES = {
  mail: [USER],
  displayName: ["Alice Example"],
  groups: ["engineering", "staff"],
};

function attributeStatement(attrs) {
  const body = Object.entries(attrs)
    .map(
      ([name, values]) =>
        `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
        values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`).join("") +
        "</saml:Attribute>",
    )
    .join("");
  return `<saml:AttributeStatement>${body}</saml:AttributeStatement>`;
}

function subjectConfirmation(o = {}) {
  const attrs = [];
  if (o.irt !== null) attrs.push(`InResponseTo="${o.irt ?? REQ}"`);
  if (o.notBefore) attrs.push(`NotBefore="${o.notBefore}"`);
  if (o.notOnOrAfter !== null) attrs.push(`NotOnOrAfter="${o.notOnOrAfter ?? at(300)}"`);
  if (o.recipient !== null) attrs.push(`Recipient="${o.recipient ?? ACS}"`);
  return (
    `<saml:SubjectConfirmation Method="${o.method ?? BEARER}">` +
    `<saml:SubjectConfirmationData ${attrs.join(" ")}/></saml:SubjectConfirmation>`
  );
}

/** An Assertion; `o.sign` adds a signature template (object of sigTemplate options or true). */
function assertion(o = {}) {
  const id = o.id ?? "_a0";
  const nsDecl = o.declareNs === false ? "" : ` xmlns:saml="${NS_A}" xmlns:xs="${XS}" xmlns:xsi="${XSI}"`;
  const nameId =
    o.nameIdXml ??
    `<saml:NameID Format="${o.nameIdFormat ?? EMAIL_FORMAT}">${o.nameId ?? USER}</saml:NameID>`;
  const subject =
    o.subject ?? `<saml:Subject>${nameId}${o.confirmations ?? subjectConfirmation(o.scd)}</saml:Subject>`;
  const audiences =
    o.audienceXml ??
    `<saml:AudienceRestriction><saml:Audience>${o.audience ?? SP}</saml:Audience></saml:AudienceRestriction>`;
  const condAttrs = [];
  if (o.notBefore !== null) condAttrs.push(`NotBefore="${o.notBefore ?? at(-60)}"`);
  if (o.notOnOrAfter !== null) condAttrs.push(`NotOnOrAfter="${o.notOnOrAfter ?? at(300)}"`);
  const conditions = o.conditions ?? `<saml:Conditions ${condAttrs.join(" ")}>${audiences}</saml:Conditions>`;
  const sessionNoa =
    o.sessionNotOnOrAfter === undefined
      ? ` SessionNotOnOrAfter="${at(8 * 3600)}"`
      : o.sessionNotOnOrAfter === null
        ? ""
        : ` SessionNotOnOrAfter="${o.sessionNotOnOrAfter}"`;
  const authn =
    o.authn ??
    `<saml:AuthnStatement AuthnInstant="${at(-30)}" SessionIndex="${o.sessionIndex ?? `_s${id.slice(2, 18)}`}"${sessionNoa}>` +
      "<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>";
  const attrs = o.attributeXml ?? attributeStatement(o.attributes ?? DEFAULT_ATTRIBUTES);
  const issuer = o.issuerXml ?? `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer>`;
  const sig = o.sign ? sigTemplate(id, o.sign === true ? {} : o.sign) : "";
  return (
    `<saml:Assertion${nsDecl} ID="${id}" Version="2.0" IssueInstant="${o.issueInstant ?? at(-10)}">` +
    `${issuer}${sig}${subject}${conditions}${authn}${attrs}</saml:Assertion>`
  );
}

/** A Response around `o.body` (default: an assertion built from `o.assertion`). */
function response(o = {}) {
  const id = o.id ?? "_r0";
  const attrs = [`ID="${id}"`, 'Version="2.0"', `IssueInstant="${o.issueInstant ?? at(-10)}"`];
  if (o.destination !== null) attrs.push(`Destination="${o.destination ?? ACS}"`);
  if (o.irt !== null) attrs.push(`InResponseTo="${o.irt ?? REQ}"`);
  const extraNs = o.rootNs ?? "";
  const issuer = o.issuer === null ? "" : (o.issuerXml ?? `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer>`);
  const sig = o.sign ? sigTemplate(id, o.sign === true ? {} : o.sign) : "";
  const status =
    o.statusXml ?? `<samlp:Status><samlp:StatusCode Value="${o.status ?? SUCCESS}"/></samlp:Status>`;
  const body = o.body ?? assertion(o.assertion);
  return (
    `<samlp:Response xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}"${extraNs} ${attrs.join(" ")}>` +
    `${issuer}${sig}${o.extensions ?? ""}${status}${body}</samlp:Response>`
  );
}

// ---------------------------------------------------------------------------------------------
// xmlsec1

const ID_ATTRS = [
  ["urn:oasis:names:tc:SAML:2.0:protocol", "Response"],
  ["urn:oasis:names:tc:SAML:2.0:protocol", "LogoutRequest"],
  ["urn:oasis:names:tc:SAML:2.0:protocol", "LogoutResponse"],
  ["urn:oasis:names:tc:SAML:2.0:assertion", "Assertion"],
].flatMap(([ns, name]) => ["--id-attr:ID", `${ns}:${name}`]);

const XPATH_ROOT_SIG = "/*/*[local-name()='Signature']";
const XPATH_ASSERTION_SIG = "(//*[local-name()='Assertion']/*[local-name()='Signature'])[1]";

let seq = 0;
function tmpFile(name, content) {
  const p = join(tmp, `${seq++}-${name}`);
  if (content !== undefined) writeFileSync(p, content);
  return p;
}

function keyArgs(key) {
  if (key === "hmac") return ["--hmackey", HMAC_KEY];
  return ["--privkey-pem", `${key.key},${key.crt}`];
}

function xmlsecSign(xml, xpath, key = K.idp) {
  const input = tmpFile("in.xml", xml);
  const output = tmpFile("out.xml");
  execFileSync(
    "xmlsec1",
    ["--sign", ...keyArgs(key), ...ID_ATTRS, "--node-xpath", xpath, "--output", output, input],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return readFileSync(output, "utf8");
}

/** Signs the assertion template (if any) first, then the root template (if any). */
function signed(xml, { assertion: a = true, root: r = true, key = K.idp, assertionKey, rootKey } = {}) {
  let out = xml;
  if (a) out = xmlsecSign(out, XPATH_ASSERTION_SIG, assertionKey ?? key);
  if (r) out = xmlsecSign(out, XPATH_ROOT_SIG, rootKey ?? key);
  return out;
}

function stripDecl(xml) {
  return xml.replace(/^<\?xml[^>]*\?>\n?/, "").replace(/\n$/, "");
}

function xmlsecEncrypt(plaintextXml, { content, transport = ALG.rsaOaepMgf1p, sessionKey, cert = K.sp }) {
  const data = tmpFile("data.xml", plaintextXml);
  const template = tmpFile(
    "tmpl.xml",
    `<xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element"><xenc:EncryptionMethod Algorithm="${content}"/>` +
      `<ds:KeyInfo xmlns:ds="${DS}"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${transport}"/>` +
      "<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>" +
      "<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>",
  );
  const output = tmpFile("enc.xml");
  execFileSync(
    "xmlsec1",
    [
      "--encrypt",
      "--pubkey-cert-pem",
      cert.crt,
      "--session-key",
      sessionKey,
      "--xml-data",
      data,
      "--node-xpath",
      "/*",
      "--output",
      output,
      template,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return stripDecl(readFileSync(output, "utf8"));
}

/** Encryption made here, for shapes xmlsec1 1.2 cannot produce. */
function nodeEncrypt(plaintext, o = {}) {
  const content = o.content ?? ALG.aes128gcm;
  const keyLen = content.includes("128") ? 16 : 32;
  const key = randomBytes(keyLen);
  let value;
  if (content.endsWith("gcm")) {
    const iv = randomBytes(12);
    const c = createCipheriv(`aes-${keyLen * 8}-gcm`, key, iv);
    value = Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  } else {
    const iv = randomBytes(16);
    const data = Buffer.from(plaintext);
    // XML Encryption padding: random bytes, the last one the pad length (1–16); `padLength`
    // overrides that last byte to craft invalid padding.
    const pad = randomBytes(16 - (data.length % 16));
    pad[pad.length - 1] = o.padLength ?? pad.length;
    const c = createCipheriv(`aes-${keyLen * 8}-cbc`, key, iv).setAutoPadding(false);
    value = Buffer.concat([iv, c.update(Buffer.concat([data, pad])), c.final()]);
  }
  if (o.tamper) value[value.length - 20] ^= 0x01;
  const oaepHash = o.oaepHash ?? "sha1";
  const wrapped = publicEncrypt(
    { key: (o.cert ?? K.sp).crtPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    key,
  );
  const transportUri = o.transport ?? (oaepHash === "sha256" ? ALG.rsaOaep : ALG.rsaOaepMgf1p);
  const methodKids =
    oaepHash === "sha256"
      ? `<ds:DigestMethod xmlns:ds="${DS}" Algorithm="${ALG.sha256}"/><xenc11:MGF xmlns:xenc11="${XENC11}" Algorithm="${ALG.mgf1sha256}"/>`
      : `<ds:DigestMethod xmlns:ds="${DS}" Algorithm="${ALG.sha1}"/>`;
  const encryptedKey =
    `<xenc:EncryptedKey xmlns:xenc="${XENC}"><xenc:EncryptionMethod Algorithm="${transportUri}">${methodKids}</xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`;
  const keyInfo = o.sibling
    ? ""
    : `<ds:KeyInfo xmlns:ds="${DS}">${encryptedKey}${o.secondKey ? encryptedKey : ""}</ds:KeyInfo>`;
  const data =
    `<xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element"><xenc:EncryptionMethod Algorithm="${content}"/>` +
    `${keyInfo}<xenc:CipherData><xenc:CipherValue>${value.toString("base64")}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`;
  return o.sibling ? `${data}${encryptedKey}` : data;
}

// ---------------------------------------------------------------------------------------------
// String surgery helpers for attack fixtures

const SIG_RE = /<ds:Signature[\s\S]*?<\/ds:Signature>/g;

function signatures(xml) {
  return xml.match(SIG_RE) ?? [];
}
function assertionOf(xml) {
  const start = xml.indexOf("<saml:Assertion");
  const end = xml.indexOf("</saml:Assertion>", start) + "</saml:Assertion>".length;
  return xml.slice(start, end);
}
function withoutSignatures(xml) {
  return xml.replace(SIG_RE, "");
}
function replaceOnce(xml, from, to) {
  const i = xml.indexOf(from);
  if (i === -1) throw new Error(`fixture surgery: ${from.slice(0, 60)} not found`);
  return xml.slice(0, i) + to + xml.slice(i + from.length);
}
function rootOpenTag(xml) {
  const start = xml.indexOf("<samlp:Response");
  return xml.slice(start, xml.indexOf(">", start) + 1);
}
function responseElement(xml) {
  const start = xml.indexOf("<samlp:Response");
  const end = xml.lastIndexOf("</samlp:Response>") + "</samlp:Response>".length;
  return xml.slice(start, end);
}

// ---------------------------------------------------------------------------------------------
// Corpus

const cases = [];
const written = new Set();

/**
 * Adds a fixture. `file` is relative to test/fixtures/saml; `reason` is the expected reason code
 * or "ok"; `overrides` change the manifest defaults for this case only.
 */
function add(file, reason, why, content, extra = {}) {
  if (written.has(file)) throw new Error(`duplicate fixture ${file}`);
  written.add(file);
  const path = join(OUT, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  cases.push({
    file,
    kind: extra.kind ?? "response",
    binding: extra.binding ?? "post",
    reason,
    why,
    ...omit(extra, ["kind", "binding"]),
  });
}
/** Another manifest row for an existing file, under different expectations. */
function again(file, reason, why, extra = {}) {
  if (!written.has(file)) throw new Error(`unknown fixture ${file}`);
  cases.push({
    file,
    kind: extra.kind ?? "response",
    binding: extra.binding ?? "post",
    reason,
    why,
    ...omit(extra, ["kind", "binding"]),
  });
}
function omit(o, keys) {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

/** The standard solicited response, both signatures, with per-fixture IDs. */
function standard(name, o = {}) {
  const rid = idFor("r", name);
  const aid = idFor("a", name);
  return response({
    id: rid,
    sign: o.responseSign === undefined ? true : o.responseSign,
    ...o.response,
    assertion: { id: aid, sign: o.assertionSign === undefined ? true : o.assertionSign, ...o.assertion },
  });
}
function signedStandard(name, o = {}) {
  const xml = standard(name, o);
  return signed(xml, {
    assertion: o.assertionSign !== false,
    root: o.responseSign !== false,
    key: o.key,
    assertionKey: o.assertionKey,
    rootKey: o.rootKey,
  });
}

const okExpect = { nameId: USER, attributes: DEFAULT_ATTRIBUTES };

// --- valid --------------------------------------------------------------------------------------

const baseName = "valid/response.signed.assertion-signed.xml";
const BASE = signedStandard(baseName);
add(baseName, "ok", "Response and Assertion signed (xmlsec1, rsa-sha256, sha256, exclusive C14N)", BASE, {
  expect: okExpect,
});

const assertionOnlyName = "valid/response.unsigned.assertion-signed.xml";
const ASSERTION_ONLY = signedStandard(assertionOnlyName, { responseSign: false });
add(assertionOnlyName, "ok", "only the Assertion signed", ASSERTION_ONLY, { expect: okExpect });

{
  const name = "valid/response.signed.assertion-unsigned.require-assertion-signed-false.xml";
  add(
    name,
    "ok",
    "only the Response signed, requireAssertionSigned=false: claims from the signed Response bytes",
    signedStandard(name, { assertionSign: false }),
    {
      overrides: { policy: { requireAssertionSigned: false } },
      expect: okExpect,
    },
  );
}
{
  const name = "valid/response.rsa-sha512.sha512.xml";
  add(
    name,
    "ok",
    "rsa-sha512/sha512 when configured",
    signedStandard(name, {
      response: { sign: { sigAlg: ALG.rsaSha512, digest: ALG.sha512 } },
      assertion: { sign: { sigAlg: ALG.rsaSha512, digest: ALG.sha512 } },
    }),
    {
      overrides: {
        policy: { allowedSigAlgs: ["rsa-sha256", "rsa-sha512"], allowedDigestAlgs: ["sha256", "sha512"] },
      },
      expect: okExpect,
    },
  );
  again(name, "algorithm_disallowed", "control: rsa-sha512 is refused under the default allowlist");
}
again(baseName, "algorithm_disallowed", "control: allowlist [rsa-sha512] rejects an rsa-sha256 message", {
  overrides: { policy: { allowedSigAlgs: ["rsa-sha512"], allowedDigestAlgs: ["sha256", "sha512"] } },
});
{
  const name = "valid/response.inclusive-namespaces-prefixlist.xml";
  const prefixTransform = `<ds:Transform Algorithm="${ALG.excC14n}"><ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="xs xsi"/></ds:Transform>`;
  add(
    name,
    "ok",
    "exclusive C14N with an InclusiveNamespaces PrefixList",
    signedStandard(name, {
      assertion: { sign: { transforms: [ALG.enveloped, prefixTransform] } },
    }),
    { expect: okExpect },
  );
}
{
  const name = "valid/response.pysaml2-style-prefixes.xml";
  // Namespace prefixes ns0/ns1/ns2 as pysaml2 writes them: matching is by namespace URI only.
  let xml = standard(name);
  xml = xml.replaceAll("samlp:", "ns0:").replaceAll("xmlns:samlp=", "xmlns:ns0=");
  xml = xml.replaceAll("saml:", "ns1:").replaceAll("xmlns:saml=", "xmlns:ns1=");
  xml = xml.replaceAll("ds:", "ns2:").replaceAll("xmlns:ds=", "xmlns:ns2=");
  add(name, "ok", "prefixes ns0/ns1/ns2 (pysaml2)", signed(xml), { expect: okExpect });
}
{
  const name = "valid/response.idp-key-rollover-second-cert.xml";
  add(
    name,
    "ok",
    "signed with the second pinned certificate (tried in order)",
    signedStandard(name, { key: K.idpNext }),
    {
      overrides: { idpCerts: [{ key: "idp-signing" }, { key: "idp-signing-next" }] },
      expect: okExpect,
    },
  );
}
{
  const name = "valid/response.unsolicited.xml";
  add(
    name,
    "ok",
    "IdP-initiated: no InResponseTo anywhere, posted to {acsURL}/{tid}",
    signedStandard(name, {
      response: { irt: null, destination: ACS_TID },
      assertion: { scd: { irt: null, recipient: ACS_TID } },
    }),
    { overrides: { requestId: null, acsUrl: ACS_TID }, expect: okExpect },
  );
}
{
  const name = "valid/response.no-session-not-on-or-after.multi-valued.xml";
  add(
    name,
    "ok",
    "no SessionNotOnOrAfter; multi-valued and repeated attributes merged",
    signedStandard(name, {
      assertion: {
        sessionNotOnOrAfter: null,
        attributeXml: `${attributeStatement({ mail: [USER], groups: ["a", "b"] })}${attributeStatement({ groups: ["c"], role: ["x"] })}`,
      },
    }),
    { expect: { nameId: USER, attributes: { mail: [USER], groups: ["a", "b", "c"], role: ["x"] } } },
  );
}

// Encrypted (assertion signed, then encrypted; Response signed over the ciphertext).
function encryptedResponse(name, encrypt, o = {}) {
  const aid = idFor("a", name);
  const sign = o.assertionSign ?? true;
  const bare = assertion({ id: aid, sign, ...o.assertion });
  const plain = sign ? stripDecl(xmlsecSign(bare, XPATH_ROOT_SIG)) : bare;
  const body = `<saml:EncryptedAssertion>${encrypt(o.plaintext ? o.plaintext(plain) : plain)}</saml:EncryptedAssertion>`;
  const xml = response({ id: idFor("r", name), sign: o.responseSign ?? true, body, ...o.response });
  return o.responseSign === false ? xml : signed(xml, { assertion: false });
}
function encryptedVariants() {
  const list = [
    ["aes256-cbc", ALG.aes256cbc, "aes-256"],
    ["aes128-cbc", ALG.aes128cbc, "aes-128"],
    ["aes256-gcm", ALG.aes256gcm, "aes-256"],
    ["aes128-gcm", ALG.aes128gcm, "aes-128"],
  ];
  for (const [label, content, sessionKey] of list) {
    const name = `valid/response.encrypted.${label}.rsa-oaep-mgf1p.xml`;
    add(
      name,
      "ok",
      `EncryptedAssertion ${label} + rsa-oaep-mgf1p (xmlsec1)`,
      encryptedResponse(name, (p) => xmlsecEncrypt(p, { content, sessionKey })),
      { expect: okExpect },
    );
  }
}
encryptedVariants();
{
  const name = "valid/response.encrypted.aes256-gcm.rsa-oaep-sha256.xml";
  add(
    name,
    "ok",
    "xmlenc11 rsa-oaep with SHA-256 digest and MGF1-SHA-256",
    encryptedResponse(name, (p) => nodeEncrypt(p, { content: ALG.aes256gcm, oaepHash: "sha256" })),
    { expect: okExpect },
  );
}
{
  const name = "valid/response.encrypted.aes128-cbc.encryptedkey-sibling.xml";
  add(
    name,
    "ok",
    "EncryptedKey as a sibling of EncryptedData; XML-Enc padding of a full block",
    encryptedResponse(name, (p) =>
      nodeEncrypt(`${p}${" ".repeat(16 - (Buffer.byteLength(p) % 16))}`, {
        content: ALG.aes128cbc,
        sibling: true,
      }),
    ),
    { expect: okExpect },
  );
}
{
  const name = "valid/response.encrypted.ancestor-namespaces.xml";
  // The plaintext uses saml:/xs:/xsi: prefixes declared only on the Response root (§7.9 step 5).
  const aid = idFor("a", name);
  const prefixTransform = `<ds:Transform Algorithm="${ALG.excC14n}"><ec:InclusiveNamespaces xmlns:ec="${ALG.excC14n}" PrefixList="xs"/></ds:Transform>`;
  const rootNs = ` xmlns:xs="${XS}" xmlns:xsi="${XSI}"`;
  const carrier = signed(
    response({
      id: "_carrier",
      rootNs,
      assertion: { id: aid, declareNs: false, sign: { transforms: [ALG.enveloped, prefixTransform] } },
    }),
    { root: false },
  );
  const plain = assertionOf(carrier);
  const body = `<saml:EncryptedAssertion>${nodeEncrypt(plain, { content: ALG.aes256gcm })}</saml:EncryptedAssertion>`;
  add(
    name,
    "ok",
    "plaintext relies on namespace declarations of EncryptedAssertion's ancestors",
    signed(response({ id: idFor("r", name), rootNs, sign: true, body }), { assertion: false }),
    { expect: okExpect },
  );
}
again(
  "valid/response.encrypted.aes256-gcm.rsa-oaep-mgf1p.xml",
  "ok",
  "SP key rotation: the first published pair fails, the second decrypts",
  {
    overrides: { decryptionKeys: ["sp-other", "sp-encryption"] },
    expect: okExpect,
  },
);

// --- P1–P3: hygiene --------------------------------------------------------------------------------

{
  const evil =
    '<!DOCTYPE samlp:Response [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>';
  add(
    "invalid/doctype-entity-expansion.xml",
    "xxe_detected",
    "billion-laughs style internal entities",
    `<?xml version="1.0"?>\n${evil}\n${stripDecl(BASE).replace(USER, "&lol2;")}\n`,
  );
  add(
    "invalid/doctype-external-entity.xml",
    "xxe_detected",
    "external entity (XXE)",
    `<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n${stripDecl(BASE).replace(USER, "&xxe;")}\n`,
  );
  add(
    "invalid/doctype-only.xml",
    "xxe_detected",
    "a bare DOCTYPE",
    `<!DOCTYPE samlp:Response>\n${stripDecl(BASE)}\n`,
  );
  add(
    "invalid/processing-instruction.xml",
    "xxe_detected",
    "processing instruction after the declaration",
    `<?xml version="1.0"?>\n<?xml-stylesheet href="x.xsl"?>\n${stripDecl(BASE)}\n`,
  );
  add(
    "invalid/encoding-utf16.xml",
    "xxe_detected",
    "UTF-16 with BOM",
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(stripDecl(BASE), "utf16le")]),
  );
  add(
    "invalid/encoding-declared-latin1.xml",
    "xxe_detected",
    "declaration names ISO-8859-1",
    `<?xml version="1.0" encoding="ISO-8859-1"?>\n${stripDecl(BASE)}\n`,
  );
  add(
    "invalid/encoding-invalid-utf8.xml",
    "xxe_detected",
    "bytes that are not UTF-8",
    Buffer.concat([
      Buffer.from(stripDecl(BASE).slice(0, 200)),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(stripDecl(BASE).slice(200)),
    ]),
  );
  add(
    "invalid/not-well-formed.xml",
    "request_not_found",
    "truncated document",
    BASE.slice(0, BASE.length - 40),
  );
  add(
    "invalid/two-root-elements.xml",
    "request_not_found",
    "several roots: a second Response after the first",
    `${BASE}${stripDecl(BASE)}\n`,
  );
  add(
    "invalid/unbound-prefix.xml",
    "request_not_found",
    "a prefix without declaration",
    BASE.replace("<samlp:Status>", "<samlp:Status><x:y/>"),
  );
}

// --- P4: shape (signature wrapping and ambiguity) ----------------------------------------------------

{
  // XSW1–XSW8 after SAML Raider's catalogue, built from genuinely signed messages.
  const sigs = signatures(BASE);
  const responseSig = sigs[0];
  const original = responseElement(BASE);
  const originalNoSig = replaceOnce(original, responseSig, "");
  const evilAssertion = assertion({
    id: "_evil_assertion",
    nameId: "admin@victim.test",
    attributes: { mail: ["admin@victim.test"] },
  });
  const evilRoot = rootOpenTag(BASE).replace(/ID="[^"]*"/, 'ID="_evil_response"');
  const status = `<samlp:Status><samlp:StatusCode Value="${SUCCESS}"/></samlp:Status>`;
  const issuer = `<saml:Issuer>${IDP}</saml:Issuer>`;
  const withObject = responseSig.replace(
    "</ds:Signature>",
    `<ds:Object>${originalNoSig}</ds:Object></ds:Signature>`,
  );
  add(
    "invalid/xsw1-response-copy-in-signature-object.xml",
    "signature_wrapping_detected",
    "XSW1: evil Response; the signed original inside the Signature's Object",
    `${evilRoot}${issuer}${withObject}${status}${evilAssertion}</samlp:Response>`,
  );
  add(
    "invalid/xsw2-response-copy-before-signature.xml",
    "signature_wrapping_detected",
    "XSW2: evil Response; the signed original as a sibling before a detached Signature",
    `${evilRoot}${issuer}${originalNoSig}${responseSig}${status}${evilAssertion}</samlp:Response>`,
  );

  const signedAssertion = assertionOf(ASSERTION_ONLY);
  const assertionSig = signatures(signedAssertion)[0];
  const assertionNoSig = replaceOnce(signedAssertion, assertionSig, "");
  const originalId = /ID="([^"]*)"/.exec(signedAssertion)[1];
  const evilSameId = evilAssertion.replace('ID="_evil_assertion"', `ID="${originalId}"`);
  add(
    "invalid/xsw3-unsigned-assertion-first.xml",
    "signature_wrapping_detected",
    "XSW3: unsigned evil Assertion before the signed one",
    replaceOnce(ASSERTION_ONLY, signedAssertion, `${evilAssertion}${signedAssertion}`),
  );
  add(
    "invalid/xsw4-signed-assertion-inside-evil.xml",
    "signature_wrapping_detected",
    "XSW4: the signed Assertion wrapped inside the evil one",
    replaceOnce(
      ASSERTION_ONLY,
      signedAssertion,
      evilAssertion.replace("</saml:Assertion>", `${signedAssertion}</saml:Assertion>`),
    ),
  );
  const evilWithSig = evilSameId.replace(
    `<saml:Issuer>${IDP}</saml:Issuer>`,
    `<saml:Issuer>${IDP}</saml:Issuer>${assertionSig}`,
  );
  add(
    "invalid/xsw5-modified-assertion-original-appended.xml",
    "signature_wrapping_detected",
    "XSW5: modified Assertion keeps the Signature; the original (unsigned copy) at the end",
    replaceOnce(ASSERTION_ONLY, signedAssertion, `${evilWithSig}${assertionNoSig}`),
  );
  add(
    "invalid/xsw6-original-inside-signature.xml",
    "signature_wrapping_detected",
    "XSW6: modified Assertion; original copy inside its Signature",
    replaceOnce(
      ASSERTION_ONLY,
      signedAssertion,
      evilSameId.replace(
        `<saml:Issuer>${IDP}</saml:Issuer>`,
        `<saml:Issuer>${IDP}</saml:Issuer>${assertionSig.replace("</ds:Signature>", `${assertionNoSig}</ds:Signature>`)}`,
      ),
    ),
  );
  add(
    "invalid/xsw7-extensions-with-signed-assertion.xml",
    "signature_wrapping_detected",
    "XSW7: Extensions holding the signed Assertion; evil Assertion in place",
    replaceOnce(ASSERTION_ONLY, signedAssertion, evilAssertion).replace(
      "<samlp:Status>",
      `<samlp:Extensions>${signedAssertion}</samlp:Extensions><samlp:Status>`,
    ),
  );
  add(
    "invalid/xsw8-original-in-signature-object.xml",
    "signature_wrapping_detected",
    "XSW8: modified Assertion; original copy in the Signature's Object",
    replaceOnce(
      ASSERTION_ONLY,
      signedAssertion,
      evilSameId.replace(
        `<saml:Issuer>${IDP}</saml:Issuer>`,
        `<saml:Issuer>${IDP}</saml:Issuer>${assertionSig.replace("</ds:Signature>", `<ds:Object>${assertionNoSig}</ds:Object></ds:Signature>`)}`,
      ),
    ),
  );
  add(
    "invalid/assertion-moved-into-extensions.xml",
    "signature_wrapping_detected",
    "the only (signed) Assertion moved into samlp:Extensions",
    replaceOnce(ASSERTION_ONLY, signedAssertion, "").replace(
      "<samlp:Status>",
      `<samlp:Extensions>${signedAssertion}</samlp:Extensions><samlp:Status>`,
    ),
  );
  add(
    "invalid/assertion-in-advice.xml",
    "signature_wrapping_detected",
    "a second Assertion inside Advice of the signed one",
    replaceOnce(
      ASSERTION_ONLY,
      signedAssertion,
      signedAssertion.replace(
        "<saml:AuthnStatement",
        `<saml:Advice>${evilAssertion}</saml:Advice><saml:AuthnStatement`,
      ),
    ),
  );
  add(
    "invalid/unsigned-sibling-assertion-after.xml",
    "signature_wrapping_detected",
    "an unsigned sibling Assertion after the signed one",
    replaceOnce(ASSERTION_ONLY, signedAssertion, `${signedAssertion}${evilAssertion}`),
  );
  add(
    "invalid/duplicate-ids.xml",
    "signature_wrapping_detected",
    "Response ID equals the Assertion ID",
    ASSERTION_ONLY.replace(/(<samlp:Response[^>]*? ID=")[^"]*"/, `$1${originalId}"`),
  );
  add(
    "invalid/duplicate-ids-in-extensions.xml",
    "signature_wrapping_detected",
    "an Extensions element carrying the Assertion's ID",
    ASSERTION_ONLY.replace(
      "<samlp:Status>",
      `<samlp:Extensions><x:Ext xmlns:x="urn:x" ID="${originalId}"/></samlp:Extensions><samlp:Status>`,
    ),
  );
  add(
    "invalid/several-assertions-both-signed.xml",
    "signature_wrapping_detected",
    "two validly signed Assertions",
    replaceOnce(
      ASSERTION_ONLY,
      signedAssertion,
      `${signedAssertion}${assertionOf(signedStandard("second", { responseSign: false }))}`,
    ),
  );
  add(
    "invalid/assertion-and-encrypted-assertion.xml",
    "signature_wrapping_detected",
    "an Assertion and an EncryptedAssertion",
    replaceOnce(ASSERTION_ONLY, signedAssertion, `${signedAssertion}<saml:EncryptedAssertion/>`),
  );
  add(
    "invalid/signature-in-subject.xml",
    "signature_wrapping_detected",
    "a ds:Signature below Subject",
    ASSERTION_ONLY.replace("</saml:Subject>", `${assertionSig}</saml:Subject>`),
  );
  add(
    "invalid/two-response-signatures.xml",
    "signature_wrapping_detected",
    "two Signatures on the Response",
    replaceOnce(BASE, responseSig, `${responseSig}${responseSig}`),
  );
  add(
    "invalid/two-subjects.xml",
    "signature_wrapping_detected",
    "two Subjects",
    ASSERTION_ONLY.replace(
      "<saml:Conditions",
      `<saml:Subject><saml:NameID>admin@victim.test</saml:NameID></saml:Subject><saml:Conditions`,
    ),
  );
  add(
    "invalid/two-nameids.xml",
    "signature_wrapping_detected",
    "two NameIDs in the Subject",
    ASSERTION_ONLY.replace(
      "<saml:SubjectConfirmation ",
      "<saml:NameID>admin@victim.test</saml:NameID><saml:SubjectConfirmation ",
    ),
  );
  add(
    "invalid/two-conditions.xml",
    "signature_wrapping_detected",
    "two Conditions",
    ASSERTION_ONLY.replace(
      "<saml:AuthnStatement",
      `<saml:Conditions><saml:AudienceRestriction><saml:Audience>${SP}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement`,
    ),
  );
  add(
    "invalid/no-assertion-success.xml",
    "signature_wrapping_detected",
    "Success status without any assertion",
    replaceOnce(ASSERTION_ONLY, signedAssertion, ""),
  );
  add(
    "invalid/assertion-without-id.xml",
    "signature_wrapping_detected",
    "Assertion with an empty ID",
    ASSERTION_ONLY.replace(`ID="${originalId}"`, 'ID=""'),
  );
  add(
    "invalid/root-is-assertion.xml",
    "signature_wrapping_detected",
    "the root is a bare Assertion",
    `${signedAssertion}\n`,
  );
  add(
    "invalid/root-is-logout-response.xml",
    "signature_wrapping_detected",
    "the root is a LogoutResponse",
    `<samlp:LogoutResponse xmlns:samlp="${NS_P}" ID="_lr" Version="2.0" IssueInstant="${at(-5)}">${status}</samlp:LogoutResponse>`,
  );

  // Comment injection (§7.3 rule 6): the signature still verifies, since comments are not signed.
  const commentNameId = signedStandard("comment-nameid", {
    responseSign: false,
    assertion: { nameId: "victim@example.test.evil.test" },
  });
  add(
    "invalid/comment-injection-nameid.xml",
    "signature_wrapping_detected",
    "NameID victim@example.test<!---->.evil.test (signature still valid)",
    commentNameId.replace("victim@example.test.evil.test", "victim@example.test<!---->.evil.test"),
  );
  add(
    "invalid/comment-injection-attribute-value.xml",
    "signature_wrapping_detected",
    "comment inside a mail AttributeValue",
    ASSERTION_ONLY.replace(
      `>${USER}</saml:AttributeValue>`,
      `>alice<!---->@example.test</saml:AttributeValue>`,
    ),
  );
  add(
    "invalid/comment-in-issuer.xml",
    "signature_wrapping_detected",
    "comment inside the Assertion Issuer",
    ASSERTION_ONLY.replace(
      `<saml:Issuer>${IDP}</saml:Issuer><ds:Signature`,
      `<saml:Issuer>${IDP}<!--x--></saml:Issuer><ds:Signature`,
    ),
  );
  add(
    "invalid/element-in-nameid.xml",
    "signature_wrapping_detected",
    "an element inside NameID",
    ASSERTION_ONLY.replace(`>${USER}</saml:NameID>`, `>${USER}<saml:X/></saml:NameID>`),
  );
  add(
    "invalid/comment-in-audience.xml",
    "signature_wrapping_detected",
    "comment inside Audience",
    ASSERTION_ONLY.replace(
      `<saml:Audience>${SP}</saml:Audience>`,
      `<saml:Audience>${SP}<!----></saml:Audience>`,
    ),
  );
}

// --- Step 2–3: destination and status --------------------------------------------------------------

add(
  "invalid/destination-mismatch.xml",
  "destination_mismatch",
  "signed Response with another Destination",
  signedStandard("destination-mismatch", {
    response: { destination: "https://other.example.test/saml/acs" },
  }),
);
add(
  "invalid/destination-missing.xml",
  "destination_mismatch",
  "signed Response without Destination",
  signedStandard("destination-missing", { response: { destination: null } }),
);
add(
  "invalid/status-responder-no-assertion.xml",
  "status_not_success",
  "error status (Responder) without assertion",
  signed(
    response({
      id: idFor("r", "status-responder"),
      sign: true,
      body: "",
      statusXml: `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status>`,
    }),
    { assertion: false },
  ),
);
add(
  "invalid/status-requester-with-assertion.xml",
  "status_not_success",
  "Requester status although an assertion is present",
  signedStandard("status-requester", {
    response: { status: "urn:oasis:names:tc:SAML:2.0:status:Requester" },
  }),
);

// --- Step 4 and 6: signatures ------------------------------------------------------------------------

{
  const sigs = signatures(BASE);
  const responseSig = sigs[0];
  add(
    "invalid/signature-stripped.xml",
    "algorithm_disallowed",
    "both signatures removed: the assertion signature is mandatory",
    withoutSignatures(BASE),
  );
  add(
    "invalid/assertion-signature-stripped.xml",
    "algorithm_disallowed",
    "Response signed, assertion signature removed (requireAssertionSigned)",
    signedStandard("assertion-stripped", { assertionSign: false }),
  );
  add(
    "invalid/response-tampered-after-signing.xml",
    "signature_invalid",
    "Response IssueInstant changed after signing",
    BASE.replace(/(<samlp:Response[^>]*?IssueInstant=")[^"]*"/, `$1${at(-9)}"`),
  );
  add(
    "invalid/response-signature-value-tampered.xml",
    "signature_invalid",
    "one SignatureValue character changed",
    BASE.replace(/(<ds:SignatureValue>)(.)/, (_m, a, c) => `${a}${c === "A" ? "B" : "A"}`),
  );
  add(
    "invalid/certificate-faking-attacker-keyinfo.xml",
    "signature_invalid",
    "re-signed with an attacker key whose certificate is in KeyInfo",
    signedStandard("cert-faking", { key: K.attacker }),
  );
  add(
    "invalid/assertion-certificate-faking.xml",
    "assertion_signature_invalid",
    "Assertion re-signed by the attacker (Response unsigned)",
    signedStandard("assertion-cert-faking", { responseSign: false, key: K.attacker }),
  );
  add(
    "invalid/assertion-attribute-changed-after-signing.xml",
    "assertion_signature_invalid",
    "an attribute value changed after the Assertion was signed",
    ASSERTION_ONLY.replace(">engineering<", ">administrators<"),
  );
  add(
    "invalid/response-reference-to-assertion.xml",
    "signature_invalid",
    "Response signature whose Reference points at the Assertion",
    signedStandard("ref-outside", { response: { sign: { uri: idFor("a", "ref-outside") } } }),
  );
  add(
    "invalid/assertion-reference-outside-signed-element.xml",
    "assertion_signature_invalid",
    "Assertion signature whose Reference points at the Response",
    signedStandard("ref-outside-assertion", {
      responseSign: false,
      assertion: { sign: { uri: idFor("r", "ref-outside-assertion") } },
    }),
  );
  add(
    "invalid/reference-empty-uri.xml",
    "signature_invalid",
    'Reference URI="" (whole document)',
    signed(
      standard("empty-uri").replace(
        `<ds:Reference URI="#${idFor("r", "empty-uri")}">`,
        '<ds:Reference URI="">',
      ),
    ),
  );
  const secondSignedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(responseSig)[0];
  add(
    "invalid/two-signed-info.xml",
    "signature_invalid",
    "a second SignedInfo in the Response signature",
    replaceOnce(
      BASE,
      responseSig,
      responseSig.replace("</ds:SignedInfo>", `</ds:SignedInfo>${secondSignedInfo}`),
    ),
  );
  add(
    "invalid/comment-in-digest-value.xml",
    "signature_invalid",
    "comment inside DigestValue (canonicalisation would drop it)",
    replaceOnce(BASE, responseSig, responseSig.replace(/(<ds:DigestValue>[A-Za-z0-9+/]{10})/, "$1<!---->")),
  );
  add(
    "invalid/signature-object.xml",
    "signature_invalid",
    "a ds:Object in the Response signature",
    replaceOnce(
      BASE,
      responseSig,
      responseSig.replace("</ds:Signature>", "<ds:Object>x</ds:Object></ds:Signature>"),
    ),
  );
  add(
    "invalid/two-references.xml",
    "signature_invalid",
    "two References in SignedInfo",
    signed(
      standard("two-refs").replace(
        "</ds:Reference></ds:SignedInfo>",
        `</ds:Reference><ds:Reference URI="#${idFor("a", "two-refs")}"><ds:Transforms><ds:Transform Algorithm="${ALG.enveloped}"/><ds:Transform Algorithm="${ALG.excC14n}"/></ds:Transforms><ds:DigestMethod Algorithm="${ALG.sha256}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>`,
      ),
      { assertion: true, root: true },
    ),
  );
  add(
    "invalid/transform-only-exc-c14n.xml",
    "signature_invalid",
    "transforms without enveloped-signature",
    signedStandard("only-exc", { response: { sign: { transforms: [ALG.excC14n] } } }),
  );
  // Algorithms (§7.6).
  const algCase = (file, why, sign, target = "response") =>
    add(
      file,
      "algorithm_disallowed",
      why,
      signedStandard(
        file,
        target === "response" ? { response: { sign } } : { responseSign: false, assertion: { sign } },
      ),
    );
  algCase("invalid/rsa-sha1.xml", "RSA-SHA1 signature on the Response", { sigAlg: ALG.rsaSha1 });
  algCase("invalid/sha1-digest.xml", "SHA-1 digest", { digest: ALG.sha1 });
  algCase("invalid/md5-digest.xml", "MD5 digest", { digest: ALG.md5 });
  algCase("invalid/inclusive-c14n.xml", "inclusive C14N for SignedInfo", { c14n: ALG.incC14n });
  algCase("invalid/exc-c14n-with-comments.xml", "#WithComments transform", {
    transforms: [ALG.enveloped, ALG.excC14nComments],
  });
  algCase("invalid/xpath-transform.xml", "XPath transform", {
    transforms: [
      ALG.enveloped,
      `<ds:Transform Algorithm="${ALG.xpath}"><ds:XPath>not(ancestor-or-self::ds:Signature)</ds:XPath></ds:Transform>`,
      ALG.excC14n,
    ],
  });
  algCase(
    "invalid/assertion-rsa-sha1.xml",
    "RSA-SHA1 on the Assertion (Response unsigned)",
    { sigAlg: ALG.rsaSha1 },
    "assertion",
  );
  add(
    "invalid/hmac-sha1.xml",
    "algorithm_disallowed",
    "HMAC-SHA1 signature on the Response (key confusion)",
    signed(standard("hmac", { response: { sign: { sigAlg: ALG.hmacSha1, keyInfo: "" } } }), {
      rootKey: "hmac",
    }),
  );
}

// --- Step 5: encryption --------------------------------------------------------------------------------

add(
  "invalid/encrypted-tripledes.xml",
  "algorithm_disallowed",
  "Triple-DES content encryption",
  encryptedResponse("3des", (p) => xmlsecEncrypt(p, { content: ALG.tripledes, sessionKey: "des-192" })),
);
add(
  "invalid/encrypted-rsa-1_5.xml",
  "algorithm_disallowed",
  "rsa-1_5 key transport",
  encryptedResponse("rsa15", (p) =>
    xmlsecEncrypt(p, { content: ALG.aes256cbc, transport: ALG.rsa15, sessionKey: "aes-256" }),
  ),
);
add(
  "invalid/encrypted-tampered-gcm-ciphertext.xml",
  "decrypt_failed",
  "one ciphertext bit flipped (GCM tag fails)",
  encryptedResponse("tampered-gcm", (p) => nodeEncrypt(p, { content: ALG.aes256gcm, tamper: true })),
);
add(
  "invalid/encrypted-bad-cbc-padding.xml",
  "decrypt_failed",
  "CBC padding length byte 0x20 (> 16)",
  encryptedResponse("bad-padding", (p) => nodeEncrypt(p, { content: ALG.aes128cbc, padLength: 0x20 })),
);
add(
  "invalid/encrypted-for-another-sp.xml",
  "decrypt_failed",
  "content key wrapped for another key pair",
  encryptedResponse("other-sp", (p) =>
    xmlsecEncrypt(p, { content: ALG.aes256gcm, sessionKey: "aes-256", cert: K.spOther }),
  ),
);
add(
  "invalid/encrypted-two-encrypted-keys.xml",
  "decrypt_failed",
  "two EncryptedKey elements",
  encryptedResponse("two-keys", (p) => nodeEncrypt(p, { content: ALG.aes128gcm, secondKey: true })),
);
add(
  "invalid/encrypted-assertion-unsigned.xml",
  "algorithm_disallowed",
  "decrypted assertion without its own signature (always mandatory)",
  encryptedResponse("enc-unsigned", (p) => nodeEncrypt(p, { content: ALG.aes256gcm }), {
    assertionSign: false,
  }),
);
add(
  "invalid/encrypted-plaintext-doctype.xml",
  "decrypt_failed",
  "plaintext carries a DOCTYPE (same decrypt_failed as every plaintext failure)",
  encryptedResponse("enc-doctype", (p) =>
    nodeEncrypt(`<!DOCTYPE x [<!ENTITY e "x">]>${p}`, { content: ALG.aes256gcm }),
  ),
);
add(
  "invalid/encrypted-plaintext-wrapping.xml",
  "signature_wrapping_detected",
  "plaintext: evil Assertion wrapping the signed one",
  encryptedResponse("enc-wrap", (p) =>
    nodeEncrypt(
      assertion({ id: "_evil_inner", nameId: "admin@victim.test" }).replace(
        "</saml:Assertion>",
        `${p}</saml:Assertion>`,
      ),
      { content: ALG.aes256gcm },
    ),
  ),
);
add(
  "invalid/encrypted-unsolicited-with-in-response-to.xml",
  "request_not_found",
  "unsolicited post whose encrypted assertion carries an InResponseTo (seen only after decryption)",
  encryptedResponse("enc-unsolicited-irt", (p) => nodeEncrypt(p, { content: ALG.aes256gcm }), {
    response: { irt: null, destination: ACS_TID },
    assertion: { scd: { recipient: ACS_TID } },
  }),
  { overrides: { requestId: null, acsUrl: ACS_TID } },
);
{
  const name = "valid/response.encrypted.unsolicited.xml";
  add(
    name,
    "ok",
    "unsolicited response with an encrypted assertion",
    encryptedResponse(name, (p) => nodeEncrypt(p, { content: ALG.aes128gcm }), {
      response: { irt: null, destination: ACS_TID },
      assertion: { scd: { irt: null, recipient: ACS_TID } },
    }),
    { overrides: { requestId: null, acsUrl: ACS_TID }, expect: okExpect },
  );
}
again(baseName, "decrypt_failed", "plaintext Assertion while requireEncryptedAssertion (config)", {
  overrides: { policy: { requireEncryptedAssertion: true } },
});
again(assertionOnlyName, "decrypt_failed", "plaintext Assertion while the IdP record requires encryption", {
  overrides: { idpRequireEncryptedAssertion: true },
});

// --- Step 7–11: protocol checks on validly signed messages ---------------------------------------------

const proto = (file, reason, why, o, extra) => add(file, reason, why, signedStandard(file, o), extra);
proto("invalid/issuer-mismatch-assertion.xml", "issuer_mismatch", "Assertion Issuer is another entity", {
  assertion: { issuer: "https://evil.example.test/idp" },
});
proto("invalid/issuer-mismatch-response.xml", "issuer_mismatch", "Response Issuer is another entity", {
  response: { issuer: "https://evil.example.test/idp" },
});
proto("invalid/issuer-format-not-entity.xml", "issuer_mismatch", "Issuer@Format is not ...:entity", {
  assertion: {
    issuerXml: `<saml:Issuer Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${IDP}</saml:Issuer>`,
  },
});
proto("invalid/audience-mismatch.xml", "audience_mismatch", "Audience is another SP", {
  assertion: { audience: "https://other-sp.example.test" },
});
proto(
  "invalid/audience-restriction-missing.xml",
  "audience_mismatch",
  "Conditions without AudienceRestriction",
  { assertion: { audienceXml: "" } },
);
proto(
  "invalid/audience-second-restriction-wrong.xml",
  "audience_mismatch",
  "every AudienceRestriction must name the SP",
  {
    assertion: {
      audienceXml: `<saml:AudienceRestriction><saml:Audience>${SP}</saml:Audience></saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>https://other-sp.example.test</saml:Audience></saml:AudienceRestriction>`,
    },
  },
);
proto("invalid/expired-conditions.xml", "clock_skew", "Conditions NotOnOrAfter an hour ago", {
  assertion: {
    notBefore: at(-7200),
    notOnOrAfter: at(-3600),
    issueInstant: at(-7200),
    scd: { notOnOrAfter: at(300) },
  },
});
proto("invalid/not-yet-valid.xml", "clock_skew", "Conditions NotBefore in an hour", {
  assertion: { notBefore: at(3600) },
});
proto("invalid/issue-instant-in-future.xml", "clock_skew", "Assertion IssueInstant in an hour", {
  assertion: { issueInstant: at(3600) },
});
proto("invalid/session-not-on-or-after-past.xml", "clock_skew", "SessionNotOnOrAfter an hour ago", {
  assertion: { sessionNotOnOrAfter: at(-3600) },
});
proto(
  "invalid/time-with-offset-not-utc.xml",
  "clock_skew",
  "NotOnOrAfter with a time zone offset (SAML times are UTC)",
  { assertion: { notOnOrAfter: "2031-05-04T12:05:00+02:00" } },
);
proto(
  "invalid/recipient-mismatch.xml",
  "subject_confirmation_mismatch",
  "SubjectConfirmationData Recipient is another URL",
  { assertion: { scd: { recipient: "https://other.example.test/acs" } } },
);
proto(
  "invalid/subject-confirmation-expired.xml",
  "subject_confirmation_mismatch",
  "SubjectConfirmationData NotOnOrAfter an hour ago",
  { assertion: { scd: { notOnOrAfter: at(-3600) } } },
);
proto(
  "invalid/subject-confirmation-not-before.xml",
  "subject_confirmation_mismatch",
  "SubjectConfirmationData carries NotBefore",
  { assertion: { scd: { notBefore: at(-60) } } },
);
proto(
  "invalid/subject-confirmation-no-not-on-or-after.xml",
  "subject_confirmation_mismatch",
  "SubjectConfirmationData without NotOnOrAfter",
  { assertion: { scd: { notOnOrAfter: null } } },
);
proto(
  "invalid/subject-confirmation-holder-of-key.xml",
  "subject_confirmation_mismatch",
  "no bearer SubjectConfirmation",
  { assertion: { scd: { method: "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key" } } },
);
proto(
  "invalid/subject-confirmation-in-response-to-other.xml",
  "subject_confirmation_mismatch",
  "Response@InResponseTo right, SubjectConfirmationData@InResponseTo another request",
  { assertion: { scd: { irt: "_0ther0000000000000000000000000000000000" } } },
);
proto(
  "invalid/in-response-to-other-request.xml",
  "request_not_found",
  "InResponseTo names a request this browser did not start",
  {
    response: { irt: "_0ther0000000000000000000000000000000000" },
    assertion: { scd: { irt: "_0ther0000000000000000000000000000000000" } },
  },
);
proto(
  "invalid/unsolicited-on-acs.xml",
  "request_not_found",
  "unsolicited response (no InResponseTo) posted to /saml/acs",
  { response: { irt: null }, assertion: { scd: { irt: null } } },
);
again(
  "valid/response.unsolicited.xml",
  "request_not_found",
  "IdP-initiated response on /saml/acs: no request to bind it to",
);
again(baseName, "request_not_found", "solicited response posted to /saml/acs/:tid (carries InResponseTo)", {
  overrides: { requestId: null, acsUrl: ACS_TID },
});
proto(
  "invalid/unsolicited-too-old.xml",
  "clock_skew",
  "unsolicited response issued 10 minutes ago (> requestTTL + skew)",
  {
    response: { irt: null, destination: ACS_TID, issueInstant: at(-600) },
    assertion: { issueInstant: at(-600), scd: { irt: null, recipient: ACS_TID } },
  },
  { overrides: { requestId: null, acsUrl: ACS_TID } },
);
proto("invalid/name-id-missing.xml", "missing_attribute", "Subject without NameID", {
  assertion: { nameIdXml: "" },
});
proto("invalid/encrypted-id.xml", "missing_attribute", "EncryptedID instead of NameID (not supported)", {
  assertion: { nameIdXml: `<saml:EncryptedID><xenc:EncryptedData xmlns:xenc="${XENC}"/></saml:EncryptedID>` },
});
proto("invalid/name-id-too-long.xml", "missing_attribute", "NameID of 257 characters", {
  assertion: { nameId: `${"a".repeat(245)}@example.test` },
});
proto("invalid/authn-statement-missing.xml", "missing_attribute", "no AuthnStatement", {
  assertion: { authn: "" },
});
again(baseName, "idp_metadata_stale", "the only pinned certificate expired", {
  overrides: { idpCerts: [{ key: "idp-signing", notAfter: "2030-01-01T00:00:00Z" }] },
});
again(
  baseName,
  "signature_invalid",
  "the pinned certificate is another key (only KeyInfo names the signer)",
  { overrides: { idpCerts: [{ key: "attacker" }] } },
);
again(baseName, "idp_metadata_stale", "the pinned certificate is past retireAfter", {
  overrides: { idpCerts: [{ key: "idp-signing", retireAfter: "2031-05-01T00:00:00Z" }] },
});

// --- Logout messages (§9.3, §9.4) -----------------------------------------------------------------------

function logoutRequest(o = {}) {
  const id = o.id ?? "_lq0";
  const attrs = [`ID="${id}"`, 'Version="2.0"', `IssueInstant="${o.issueInstant ?? at(-5)}"`];
  if (o.destination !== null) attrs.push(`Destination="${o.destination ?? SLO}"`);
  if (o.notOnOrAfter) attrs.push(`NotOnOrAfter="${o.notOnOrAfter}"`);
  const sig = o.sign ? sigTemplate(id, o.sign === true ? {} : o.sign) : "";
  return (
    `<samlp:LogoutRequest xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ${attrs.join(" ")}>` +
    `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer>${sig}` +
    (o.nameIdXml ?? `<saml:NameID Format="${EMAIL_FORMAT}">${USER}</saml:NameID>`) +
    (o.sessionIndexes ?? ["_s1", "_s2"])
      .map((s) => `<samlp:SessionIndex>${s}</samlp:SessionIndex>`)
      .join("") +
    "</samlp:LogoutRequest>"
  );
}
function logoutResponse(o = {}) {
  const id = o.id ?? "_ls0";
  const attrs = [
    `ID="${id}"`,
    'Version="2.0"',
    `IssueInstant="${o.issueInstant ?? at(-5)}"`,
    `InResponseTo="${o.irt ?? LOGOUT_REQ}"`,
  ];
  if (o.destination !== null) attrs.push(`Destination="${o.destination ?? SLO}"`);
  const sig = o.sign ? sigTemplate(id, o.sign === true ? {} : o.sign) : "";
  return (
    `<samlp:LogoutResponse xmlns:samlp="${NS_P}" xmlns:saml="${NS_A}" ${attrs.join(" ")}>` +
    `<saml:Issuer>${o.issuer ?? IDP}</saml:Issuer>${sig}` +
    `<samlp:Status><samlp:StatusCode Value="${o.status ?? SUCCESS}"/></samlp:Status></samlp:LogoutResponse>`
  );
}
const lreq = (file, reason, why, o = {}, sign = true) =>
  add(
    file,
    reason,
    why,
    sign
      ? signed(logoutRequest({ id: idFor("lq", file), sign: true, ...o }), { assertion: false })
      : logoutRequest({ id: idFor("lq", file), ...o }),
    { kind: "logout-request" },
  );
const lres = (file, reason, why, o = {}) =>
  add(
    file,
    reason,
    why,
    signed(logoutResponse({ id: idFor("ls", file), sign: true, ...o }), { assertion: false }),
    { kind: "logout-response" },
  );

lreq(
  "valid/logout-request.post.signed.xml",
  "ok",
  "IdP-initiated LogoutRequest, POST binding, enveloped signature",
);
lreq("invalid/logout-request.post.unsigned.xml", "signature_invalid", "unsigned LogoutRequest", {}, false);
add(
  "invalid/logout-request.post.attacker-signed.xml",
  "signature_invalid",
  "LogoutRequest signed by an unpinned key",
  signed(logoutRequest({ id: idFor("lq", "attacker"), sign: true }), { assertion: false, key: K.attacker }),
  { kind: "logout-request" },
);
lreq("invalid/logout-request.two-name-ids.xml", "request_not_found", "two NameIDs", {
  nameIdXml: `<saml:NameID>${USER}</saml:NameID><saml:NameID>bob@example.test</saml:NameID>`,
});
lreq("invalid/logout-request.comment-in-name-id.xml", "request_not_found", "comment inside NameID", {
  nameIdXml: `<saml:NameID>alice<!---->@example.test</saml:NameID>`,
});
lreq(
  "invalid/logout-request.destination-mismatch.xml",
  "destination_mismatch",
  "Destination is another URL",
  { destination: "https://other.example.test/slo" },
);
lreq("invalid/logout-request.destination-missing.xml", "destination_mismatch", "no Destination", {
  destination: null,
});
lreq(
  "invalid/logout-request.issued-too-long-ago.xml",
  "clock_skew",
  "IssueInstant 10 minutes ago (> requestTTL + skew)",
  { issueInstant: at(-600) },
);
lreq("invalid/logout-request.not-on-or-after-past.xml", "clock_skew", "NotOnOrAfter an hour ago", {
  notOnOrAfter: at(-3600),
});
lreq("invalid/logout-request.rsa-sha1.xml", "algorithm_disallowed", "RSA-SHA1 enveloped signature", {
  sign: { sigAlg: ALG.rsaSha1 },
});
add(
  "invalid/logout-request.doctype.xml",
  "xxe_detected",
  "DOCTYPE in a LogoutRequest",
  `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${logoutRequest({ sessionIndexes: ["&e;"] })}`,
  { kind: "logout-request" },
);
add(
  "invalid/logout-request.root-is-response.xml",
  "request_not_found",
  "a Response where a LogoutRequest is expected",
  BASE,
  { kind: "logout-request" },
);

lres("valid/logout-response.post.signed.xml", "ok", "LogoutResponse Success, POST binding");
lres(
  "invalid/logout-response.status-requester.xml",
  "status_not_success",
  "LogoutResponse with Requester status",
  { status: "urn:oasis:names:tc:SAML:2.0:status:Requester" },
);
lres("invalid/logout-response.issuer-mismatch.xml", "issuer_mismatch", "LogoutResponse from another issuer", {
  issuer: "https://evil.example.test/idp",
});
lres(
  "invalid/logout-response.in-response-to-other.xml",
  "request_not_found",
  "LogoutResponse for another request",
  { irt: "_0ther0000000000000000000000000000000000" },
);
lres(
  "invalid/logout-response.destination-mismatch.xml",
  "destination_mismatch",
  "LogoutResponse Destination is another URL",
  { destination: "https://other.example.test/slo" },
);

// HTTP-Redirect binding: the raw query string as received (SAML bindings §3.4.4.1).
function redirectQuery(
  xml,
  { relayState, sigAlg = ALG.rsaSha256, key = K.idp, param = "SAMLRequest", tamper = false } = {},
) {
  const enc = (s) => encodeURIComponent(s);
  let q = `${param}=${enc(deflateRawSync(Buffer.from(xml)).toString("base64"))}`;
  if (relayState !== undefined) q += `&RelayState=${enc(relayState)}`;
  q += `&SigAlg=${enc(sigAlg)}`;
  const hash = sigAlg === ALG.rsaSha1 ? "sha1" : sigAlg === ALG.rsaSha512 ? "sha512" : "sha256";
  const signature = sign(hash, Buffer.from(q), key.keyPem);
  let out = `${q}&Signature=${enc(signature.toString("base64"))}`;
  if (tamper) out = replaceOnce(out, `RelayState=${enc(relayState)}`, `RelayState=${enc(`${relayState}x`)}`);
  return `${out}\n`;
}
const rq = (file, reason, why, content, kind = "logout-request") =>
  add(file, reason, why, content, { kind, binding: "redirect" });
rq(
  "valid/logout-request.redirect.signed.txt",
  "ok",
  "LogoutRequest over HTTP-Redirect with RelayState",
  redirectQuery(logoutRequest({ id: idFor("lq", "redirect") }), { relayState: "/after logout?x=1&y=2" }),
);
rq(
  "invalid/logout-request.redirect.relay-state-tampered.txt",
  "signature_invalid",
  "RelayState changed after signing",
  redirectQuery(logoutRequest({ id: idFor("lq", "redirect-tampered") }), { relayState: "/a", tamper: true }),
);
rq(
  "invalid/logout-request.redirect.rsa-sha1.txt",
  "algorithm_disallowed",
  "SigAlg rsa-sha1",
  redirectQuery(logoutRequest({ id: idFor("lq", "redirect-sha1") }), { sigAlg: ALG.rsaSha1 }),
);
rq(
  "invalid/logout-request.redirect.attacker-key.txt",
  "signature_invalid",
  "signed with an unpinned key",
  redirectQuery(logoutRequest({ id: idFor("lq", "redirect-attacker") }), { key: K.attacker }),
);
{
  const good = redirectQuery(logoutRequest({ id: idFor("lq", "redirect-repeated") }), {
    relayState: "/a",
  }).trim();
  rq(
    "invalid/logout-request.redirect.repeated-parameter.txt",
    "request_not_found",
    "RelayState repeated",
    `${good}&RelayState=%2Fb\n`,
  );
}
rq(
  "invalid/logout-request.redirect.unsigned.txt",
  "signature_invalid",
  "no SigAlg/Signature",
  `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(logoutRequest())).toString("base64"))}\n`,
);
{
  // Deflate bomb: ~10 MiB of whitespace inside a LogoutRequest deflates to ~10 KiB (§7.2).
  const bomb = deflateRawSync(
    Buffer.concat([
      Buffer.from(logoutRequest().replace("</samlp:LogoutRequest>", "")),
      Buffer.alloc(10 * 1024 * 1024, 0x20),
      Buffer.from("</samlp:LogoutRequest>"),
    ]),
    { level: 9 },
  );
  const q = `SAMLRequest=${encodeURIComponent(bomb.toString("base64"))}&SigAlg=${encodeURIComponent(ALG.rsaSha256)}`;
  rq(
    "invalid/logout-request.redirect.deflate-bomb.txt",
    "request_not_found",
    "inflates past 256 KiB",
    `${q}&Signature=${encodeURIComponent(sign("sha256", Buffer.from(q), K.idp.keyPem).toString("base64"))}\n`,
  );
}
rq(
  "valid/logout-response.redirect.signed.txt",
  "ok",
  "LogoutResponse over HTTP-Redirect",
  redirectQuery(logoutResponse({ id: idFor("ls", "redirect") }), { param: "SAMLResponse" }),
  "logout-response",
);

// ---------------------------------------------------------------------------------------------
// Manifest

const manifest = {
  generatedBy: "scripts/saml-fixtures.mjs",
  note: "TEST ONLY. Each case: [file, expected reason]; 'ok' means accepted. Caller steps (request lookup, replay) are simulated by the test.",
  now: NOW,
  defaults: {
    spEntityId: SP,
    acsUrl: ACS,
    sloUrl: SLO,
    idpEntityId: IDP,
    requestId: REQ,
    logoutRequestId: LOGOUT_REQ,
    tenantId: TID,
    idpCerts: [{ key: "idp-signing", notAfter: "2126-01-01T00:00:00Z", retireAfter: null }],
    idpRequireEncryptedAssertion: false,
    decryptionKeys: ["sp-encryption"],
    policy: {
      allowedSigAlgs: ["rsa-sha256"],
      allowedDigestAlgs: ["sha256"],
      clockSkewSeconds: 120,
      requestTTLSeconds: 300,
      requireAssertionSigned: true,
      requireEncryptedAssertion: false,
    },
  },
  cases,
};
writeFileSync(join(OUT, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(
  join(OUT, "README.md"),
  "# SAML fixture corpus (TEST ONLY)\n\n" +
    "Generated by `node scripts/rt.mjs node scripts/saml-fixtures.mjs` (needs `xmlsec1` and `openssl`);\n" +
    "do not edit by hand. Files are byte-exact and named for their verdict: `valid/` are accepted under\n" +
    "the manifest defaults, `invalid/` are rejected. `manifest.json` lists every case as\n" +
    "`{file, kind, binding, reason, why, overrides?, expect?}` with a fixed `now`, so nothing expires;\n" +
    "`test/saml/fixtures.test.ts` asserts each reason code. Signatures and most encryptions are made by\n" +
    "xmlsec1, an implementation independent of the code under test. Re-running the script changes only\n" +
    "the encrypted fixtures (random keys and IVs); `keys/` is created once and reused.\n",
);

rmSync(tmp, { recursive: true, force: true });
console.log(`wrote ${written.size} fixtures, ${cases.length} manifest rows to ${OUT}`);
