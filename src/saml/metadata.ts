/**
 * SAML metadata, both directions:
 *
 * - **IdP metadata in** (docs/spec/saml.md §12.1–§12.2): fetching a metadata URL with its limits (https
 *   only, every resolved address public, no redirects, size and time caps, errors that never echo
 *   the URL or the body), then parsing with the hardened parser of the SAML messages (src/saml/xml.ts:
 *   DOCTYPE, entity declarations and processing instructions refused before parsing, every parser
 *   warning fatal) and validating into the endpoint and certificate fields of an IdP record.
 *   Elements are matched by namespace URI and local name.
 * - **SP metadata out** (§4): the one `EntityDescriptor` of this SP, byte-identical across calls and
 *   replicas with the same keys and rotation state, built with fast-xml-parser's builder.
 *
 * The network is injected (`MetadataTransport`): src/runtime/saml-fetch.ts connects to the vetted
 * address itself, so the host is resolved exactly once.
 */

import type { Element } from "@xmldom/xmldom";
import { XMLBuilder } from "fast-xml-parser";
import { concatBytes } from "../bytes.ts";
import { isLoopbackHost } from "../config/validate.ts";
import { CertificateParseError, parseCertificate } from "../crypto/x509.ts";
import { TiktiError } from "../errors.ts";
import { must, only } from "../must.ts";
import { cidrContains, parseCidr, parseIp } from "../net/ip.ts";
import { isoSeconds, sha256Hex, strictBase64 } from "./certs.ts";
import { type FreshCert, NAMEID_EMAIL, type SloBinding } from "./idp-records.ts";
import type { SpKeyPair } from "./sp-keys.ts";
import type { SamlUrls } from "./urls.ts";
import {
  attrOf,
  CDATA,
  childrenNamed,
  decodeXmlBytes,
  descendantsNamed,
  hasDtdMarkup,
  isNamed,
  parseXmlText,
  prescanMarkup,
  SamlInputError,
  TEXT,
} from "./xml.ts";

export const NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata";
export const NS_DS = "http://www.w3.org/2000/09/xmldsig#";
export const SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol";
export const BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
export const BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
export const METADATA_URL_MAX_CHARS = 2048;
const ENTITY_ID_MAX_CHARS = 1024;
const MIN_RSA_BITS = 2048;

/** The exact `error` texts of docs/spec/saml.md §12.2 (answered as `400 INVALID_SAML_METADATA`). */
export const METADATA_MESSAGES = {
  notWellFormed: "metadata is not well-formed XML",
  doctype: "metadata contains a DOCTYPE or entity declaration",
  tooLarge: "metadata too large",
  notOneIdp: "metadata must describe exactly one IdP",
  entityIdEmpty: "entityID is empty",
  ssoBinding: "unsupported SSO binding",
  ssoHttps: "SSO URL not using HTTPS",
  noSigningCert: "no signing certificate",
  expiredSigningCert: "expired signing certificate",
  weakKey: "signing certificate key too weak",
  urlNotAllowed: "metadata URL not allowed",
  urlNonPublic: "metadata URL resolves to a non-public address",
  fetchFailed: "metadata fetch failed",
  entityIdChanged: "entityID changed",
  noMetadataUrl: "IdP record has no metadata URL",
} as const;

export type MetadataMessage = (typeof METADATA_MESSAGES)[keyof typeof METADATA_MESSAGES];

/** A metadata refusal; `message` is one of `METADATA_MESSAGES`. */
export class MetadataError extends Error {
  override readonly name = "MetadataError";
  override readonly message: MetadataMessage;
  constructor(message: MetadataMessage, options?: { cause?: unknown }) {
    super(message, options);
    this.message = message;
  }
  toTiktiError(): TiktiError {
    return new TiktiError("INVALID_SAML_METADATA", { message: this.message, cause: this.cause });
  }
}

// ------------------------------------------------------------------------------------ XML tree

/**
 * Parses metadata bytes with the one inbound XML parser (src/saml/xml.ts): UTF-8 only, the §7.2
 * pre-scan, then @xmldom/xmldom with every warning fatal, namespace-aware, nesting capped. Its
 * refusals become the §12.2 messages: DTD markup is the DOCTYPE rule; a processing instruction,
 * another encoding or anything the parser rejects is "not well-formed" (docs/api-decisions.md).
 */
function parseXml(bytes: Uint8Array, maxBytes: number): Element {
  try {
    const text = decodeXmlBytes(bytes, maxBytes);
    if (hasDtdMarkup(text)) throw new MetadataError(METADATA_MESSAGES.doctype);
    prescanMarkup(text);
    return parseXmlText(text).root;
  } catch (cause) {
    if (cause instanceof MetadataError) throw cause;
    if (cause instanceof SamlInputError && cause.kind === "size") {
      throw new MetadataError(METADATA_MESSAGES.tooLarge, { cause });
    }
    throw new MetadataError(METADATA_MESSAGES.notWellFormed, { cause });
  }
}

const isMd = (e: Element, local: string) => isNamed(e, NS_MD, local);
const mdChildren = (e: Element, local: string) => childrenNamed(e, NS_MD, local);
const dsChildren = (e: Element, local: string) => childrenNamed(e, NS_DS, local);

/** The element's own character data (text and CDATA children; comments and child elements skipped). */
function ownText(e: Element): string {
  let text = "";
  for (const n of Array.from(e.childNodes)) {
    if (n.nodeType === TEXT || n.nodeType === CDATA) text += n.nodeValue ?? "";
  }
  return text;
}

// ------------------------------------------------------------------------------------ validation

export interface ParsedIdpMetadata {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
  sloBinding: SloBinding;
  sloResponseUrl: string;
  /** Unexpired signing certificates, metadata order, duplicates merged. */
  signingCerts: FreshCert[];
  encryptionCerts: FreshCert[];
  nameIdFormat: string;
  /** SHA-256 hex of the metadata bytes. */
  metadataSha256: string;
}

export interface MetadataRules {
  devMode: boolean;
  maxBytes: number;
  now: number;
}

/** Whitespace or a C0/DEL control character anywhere in `s`. */
function hasSpaceOrControl(s: string): boolean {
  if (/\s/.test(s)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * An IdP endpoint: absolute `https` without userinfo or fragment; in dev mode also loopback `http`
 * (docs/spec/operations.md §2.1). A query string is allowed.
 */
export function isAcceptableEndpoint(raw: string, devMode: boolean): boolean {
  if (raw === "" || hasSpaceOrControl(raw) || raw.includes("#")) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username !== "" || url.password !== "") return false;
  if (url.protocol === "https:") return url.hostname !== "";
  return devMode && url.protocol === "http:" && isLoopbackHost(url.hostname);
}

function supportsSaml2(e: Element): boolean {
  return (attrOf(e, "protocolSupportEnumeration") ?? "").split(/\s+/).includes(SAML2_PROTOCOL);
}

function idpDescriptorsOf(entity: Element): Element[] {
  return mdChildren(entity, "IDPSSODescriptor").filter(supportsSaml2);
}

/** The one `EntityDescriptor` with a SAML 2.0 `IDPSSODescriptor` (docs/spec/saml.md §12.2 rule 4). */
function selectIdpEntity(root: Element): { entity: Element; idp: Element } {
  let entities: Element[];
  if (isMd(root, "EntityDescriptor")) entities = [root];
  else if (isMd(root, "EntitiesDescriptor")) entities = descendantsNamed(root, NS_MD, "EntityDescriptor");
  else throw new MetadataError(METADATA_MESSAGES.notOneIdp);
  const entity = only(entities.filter((e) => idpDescriptorsOf(e).length > 0));
  if (entity === undefined) throw new MetadataError(METADATA_MESSAGES.notOneIdp);
  const idp = only(idpDescriptorsOf(entity));
  if (idp === undefined) throw new MetadataError(METADATA_MESSAGES.notOneIdp);
  return { entity, idp };
}

interface KeyCert {
  use: string | null;
  cert: Awaited<ReturnType<typeof parseCertificate>> | null;
}

async function keyDescriptorCerts(idp: Element): Promise<KeyCert[]> {
  const out: KeyCert[] = [];
  for (const kd of mdChildren(idp, "KeyDescriptor")) {
    const use = attrOf(kd, "use");
    const certElements = dsChildren(kd, "KeyInfo")
      .flatMap((ki) => dsChildren(ki, "X509Data"))
      .flatMap((xd) => dsChildren(xd, "X509Certificate"));
    for (const el of certElements) {
      const der = strictBase64(ownText(el));
      let cert: KeyCert["cert"] = null;
      if (der) {
        try {
          cert = await parseCertificate(der);
        } catch (e) {
          if (!(e instanceof CertificateParseError)) throw e;
        }
      }
      out.push({ use, cert });
    }
  }
  return out;
}

function uniqueCerts(certs: Array<NonNullable<KeyCert["cert"]>>): FreshCert[] {
  const out: FreshCert[] = [];
  for (const c of certs) {
    if (!out.some((o) => o.sha256 === c.sha256))
      out.push({ der: c.der, sha256: c.sha256, notAfter: c.notAfter });
  }
  return out;
}

/**
 * Parses and validates IdP metadata bytes (docs/spec/saml.md §12.2). Throws `MetadataError` with the first
 * rule that fails.
 */
export async function parseIdpMetadata(bytes: Uint8Array, rules: MetadataRules): Promise<ParsedIdpMetadata> {
  if (bytes.length > rules.maxBytes) throw new MetadataError(METADATA_MESSAGES.tooLarge);
  const root = parseXml(bytes, rules.maxBytes);
  const { entity, idp } = selectIdpEntity(root);

  const entityId = attrOf(entity, "entityID") ?? "";
  if (entityId.trim() === "" || entityId.length > ENTITY_ID_MAX_CHARS) {
    throw new MetadataError(METADATA_MESSAGES.entityIdEmpty);
  }

  const sso = mdChildren(idp, "SingleSignOnService").find((c) => attrOf(c, "Binding") === BINDING_REDIRECT);
  if (!sso) throw new MetadataError(METADATA_MESSAGES.ssoBinding);
  const ssoUrl = attrOf(sso, "Location") ?? "";
  if (!isAcceptableEndpoint(ssoUrl, rules.devMode)) throw new MetadataError(METADATA_MESSAGES.ssoHttps);

  const keyCerts = await keyDescriptorCerts(idp);
  const signing = keyCerts
    .filter((k) => k.use === null || k.use === "signing")
    .flatMap((k) => (k.cert ? [k.cert] : []));
  if (signing.length === 0) throw new MetadataError(METADATA_MESSAGES.noSigningCert);
  const live = signing.filter((c) => c.notAfter > rules.now);
  if (live.length === 0) throw new MetadataError(METADATA_MESSAGES.expiredSigningCert);
  if (live.some((c) => c.publicKey.kind !== "rsa" || c.publicKey.bits < MIN_RSA_BITS)) {
    throw new MetadataError(METADATA_MESSAGES.weakKey);
  }
  const encryption = keyCerts
    .filter((k) => k.use === null || k.use === "encryption")
    .flatMap((k) => (k.cert && k.cert.notAfter > rules.now ? [k.cert] : []));

  // SLO: first usable HTTP-Redirect endpoint, else HTTP-POST; none → SLO disabled.
  const slos = mdChildren(idp, "SingleLogoutService");
  const usable = (binding: string) =>
    slos.find(
      (s) =>
        attrOf(s, "Binding") === binding && isAcceptableEndpoint(attrOf(s, "Location") ?? "", rules.devMode),
    );
  const slo = usable(BINDING_REDIRECT) ?? usable(BINDING_POST);
  const responseLocation = (slo && attrOf(slo, "ResponseLocation")) ?? "";

  const formats = mdChildren(idp, "NameIDFormat").map((c) => ownText(c).trim());
  const [firstFormat] = formats;
  const nameIdFormat =
    firstFormat === undefined || formats.includes(NAMEID_EMAIL) ? NAMEID_EMAIL : firstFormat;

  return {
    entityId,
    ssoUrl,
    sloUrl: (slo && attrOf(slo, "Location")) ?? "",
    sloBinding: slo ? (attrOf(slo, "Binding") === BINDING_REDIRECT ? "HTTP-Redirect" : "HTTP-POST") : "",
    sloResponseUrl: slo && isAcceptableEndpoint(responseLocation, rules.devMode) ? responseLocation : "",
    signingCerts: uniqueCerts(live),
    encryptionCerts: uniqueCerts(encryption),
    nameIdFormat,
    metadataSha256: await sha256Hex(bytes),
  };
}

// ------------------------------------------------------------------------------------ fetching

/** The network as metadata fetching sees it (src/runtime/saml-fetch.ts is the real one). */
export interface MetadataTransport {
  /** Every address of a host name (A and AAAA). Throws when the name does not resolve. */
  resolve(hostname: string): Promise<string[]>;
  /**
   * `GET url`, connecting to `address` (no second resolution) with TLS verified against the system
   * trust store for the URL's host. Must not follow redirects; must stop when `signal` aborts.
   */
  get(url: URL, address: string, signal: AbortSignal): Promise<Response>;
}

/** A transport for cores without network access: every fetch fails. */
export const noNetworkTransport: MetadataTransport = {
  resolve: () => Promise.reject(new Error("no metadata transport configured")),
  get: () => Promise.reject(new Error("no metadata transport configured")),
};

/** docs/spec/saml.md §12.1: address ranges a metadata URL may not reach. */
const BLOCKED_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::/128",
  "::1/128",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "2002::/16",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
].map((c) => must(parseCidr(c), `the blocked range ${c}`));

/**
 * True when `address` is a public unicast address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged by
 * its embedded IPv4 address (parseIp already unwraps it).
 */
export function isPublicAddress(address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  return !BLOCKED_RANGES.some((r) => r.bytes.length === ip.length && cidrContains(r, ip));
}

/** Checks the URL rules of §12.1 (not the address rule); throws `metadata URL not allowed`. */
export function checkMetadataUrl(raw: string, devMode: boolean): URL {
  const refuse = (): never => {
    throw new MetadataError(METADATA_MESSAGES.urlNotAllowed);
  };
  if (raw.length > METADATA_URL_MAX_CHARS || hasSpaceOrControl(raw) || raw.includes("#")) refuse();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse();
  }
  if (url.username !== "" || url.password !== "" || url.hostname === "") refuse();
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && devMode && isLoopbackHost(url.hostname)) return url;
  return refuse();
}

export interface FetchRules {
  devMode: boolean;
  maxBytes: number;
  timeoutMs: number;
  /** Host names exempt from the public-address rule (still https). */
  allowPrivateHosts: readonly string[];
  transport: MetadataTransport;
}

export interface FetchedMetadata {
  bytes: Uint8Array;
  durationMs: number;
}

/**
 * Fetches a metadata URL under the rules of §12.1. Failures are `MetadataError`s whose messages
 * never contain the URL, its query or the response body.
 */
export async function fetchMetadata(rawUrl: string, rules: FetchRules): Promise<FetchedMetadata> {
  const started = Date.now();
  const url = checkMetadataUrl(rawUrl, rules.devMode);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const failed = (cause?: unknown): never => {
    throw new MetadataError(METADATA_MESSAGES.fetchFailed, { cause });
  };

  let addresses: string[];
  if (parseIp(host)) addresses = [host];
  else {
    try {
      addresses = await rules.transport.resolve(host);
    } catch (cause) {
      return failed(cause);
    }
  }
  const [firstAddress] = addresses;
  if (firstAddress === undefined) return failed();
  const exempt = rules.allowPrivateHosts.some((h) => h.toLowerCase() === host.toLowerCase());
  if (!exempt) {
    const loopbackDev = rules.devMode && isLoopbackHost(host);
    for (const a of addresses) {
      const ok = loopbackDev ? isLoopbackHost(a) : isPublicAddress(a);
      if (!ok) throw new MetadataError(METADATA_MESSAGES.urlNonPublic);
    }
  }

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), rules.timeoutMs);
  try {
    let res: Response;
    try {
      res = await rules.transport.get(url, firstAddress, controller.signal);
    } catch (cause) {
      return failed(cause);
    }
    // No redirects (any 3xx fails) and only 200 is accepted.
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      return failed(new Error(`HTTP status ${res.status}`));
    }
    const declared = Number(res.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared > rules.maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new MetadataError(METADATA_MESSAGES.tooLarge);
    }
    const bytes = await readCapped(res, rules.maxBytes, failed);
    return { bytes, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(
  res: Response,
  maxBytes: number,
  failed: (cause?: unknown) => never,
): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (cause) {
      return failed(cause);
    }
    if (step.done) break;
    total += step.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new MetadataError(METADATA_MESSAGES.tooLarge);
    }
    chunks.push(step.value);
  }
  return concatBytes(chunks, total);
}

// ------------------------------------------------------------------------------------ SP metadata

export const SP_METADATA_CONTENT_TYPE = "application/samlmetadata+xml; charset=utf-8";
const ENCRYPTION_METHODS = [
  "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
];

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  // Otherwise an attribute whose value is "true" is written without a value (not XML).
  suppressBooleanAttributes: false,
  format: true,
  indentBy: "  ",
});

/** The SP pairs the metadata publishes (chosen by the rotation state, src/services/saml/rotation.ts). */
export interface PublishedCertificates {
  signing: SpKeyPair[];
  encryption: SpKeyPair[];
}

export interface SpMetadataInput {
  urls: SamlUrls;
  published: PublishedCertificates;
  /** `sp.requireAssertionSigned` → `WantAssertionsSigned`. */
  wantAssertionsSigned: boolean;
  /** Tenant whose unsolicited ACS (`{acsURL}/{tid}`, index 1) is added (docs/spec/saml.md §4). */
  unsolicitedTenantId?: string;
}

/**
 * The SP metadata document of docs/spec/saml.md §4. `validUntil` is the earliest `notAfter` of the published
 * certificates, so the bytes depend only on configuration, keys and rotation state.
 */
export function buildSpMetadata(input: SpMetadataInput): string {
  const { urls, published } = input;
  const keyInfo = (certBase64: string) => ({
    "ds:KeyInfo": { "ds:X509Data": { "ds:X509Certificate": certBase64 } },
  });
  const notAfters = [...published.signing, ...published.encryption].map((p) => p.notAfter);
  const acs: Array<Record<string, string>> = [
    { "@_Binding": BINDING_POST, "@_Location": urls.acsUrl, "@_index": "0", "@_isDefault": "true" },
  ];
  if (input.unsolicitedTenantId !== undefined) {
    acs.push({
      "@_Binding": BINDING_POST,
      "@_Location": urls.unsolicitedAcsUrl(input.unsolicitedTenantId),
      "@_index": "1",
    });
  }
  const doc = {
    "md:EntityDescriptor": {
      "@_xmlns:md": NS_MD,
      "@_xmlns:ds": NS_DS,
      "@_entityID": urls.entityId,
      "@_validUntil": isoSeconds(Math.min(...notAfters)),
      "md:SPSSODescriptor": {
        "@_AuthnRequestsSigned": "true",
        "@_WantAssertionsSigned": input.wantAssertionsSigned ? "true" : "false",
        "@_protocolSupportEnumeration": SAML2_PROTOCOL,
        "md:KeyDescriptor": [
          ...published.signing.map((p) => ({ "@_use": "signing", ...keyInfo(p.certBase64) })),
          ...published.encryption.map((p) => ({
            "@_use": "encryption",
            ...keyInfo(p.certBase64),
            "md:EncryptionMethod": ENCRYPTION_METHODS.map((a) => ({ "@_Algorithm": a })),
          })),
        ],
        "md:SingleLogoutService": [
          { "@_Binding": BINDING_REDIRECT, "@_Location": urls.sloUrl },
          { "@_Binding": BINDING_POST, "@_Location": urls.sloUrl },
        ],
        "md:NameIDFormat": NAMEID_EMAIL,
        "md:AssertionConsumerService": acs,
      },
    },
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(doc).trimEnd()}\n`;
}
