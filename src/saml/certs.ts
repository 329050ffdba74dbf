/**
 * The little X.509 that SAML needs: `notAfter`, the subject for display and metric labels, the
 * SubjectPublicKeyInfo (for WebCrypto and the RSA key size) and the SHA-256 of the DER.
 *
 * WebCrypto cannot parse certificates, and the fields above sit at fixed positions of
 * TBSCertificate (RFC 5280 §4.1), so a strict DER reader of ~150 lines does the job without an
 * ASN.1 dependency. It refuses indefinite lengths, high tag numbers and trailing bytes: anything
 * it cannot read is "not a parsable certificate", never a partial result.
 */

import { toHex as hex, sha256Hex, strictBase64 } from "../bytes.ts";

export class CertificateParseError extends Error {
  override readonly name = "CertificateParseError";
}

const RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1";

export type PublicKeyInfo =
  | { kind: "rsa"; bits: number; modulus: Uint8Array; exponent: Uint8Array }
  | { kind: "other"; algorithmOid: string };

export interface X509Certificate {
  der: Uint8Array;
  /** Lowercase hex SHA-256 of the DER. */
  sha256: string;
  /** RFC 4514 string of the subject (most specific RDN first), e.g. `CN=idp,O=Example`. */
  subject: string;
  /** Milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
  /** DER of the SubjectPublicKeyInfo (importable with `crypto.subtle.importKey("spki", ...)`). */
  spki: Uint8Array;
  publicKey: PublicKeyInfo;
}

// ------------------------------------------------------------------------------------ DER reader

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset after the last content byte. */
  end: number;
}

function fail(what: string): never {
  throw new CertificateParseError(`malformed certificate: ${what}`);
}

function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined || offset + 2 > limit) fail("truncated");
  if ((tag & 0x1f) === 0x1f) fail("high tag numbers are not used in certificates");
  let pos = offset + 2;
  let len = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0) fail("indefinite length");
    if (n > 4) fail("length too large");
    len = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[pos++];
      if (b === undefined) fail("truncated length");
      len = len * 256 + b;
    }
  }
  if (pos + len > limit) fail("length beyond the enclosing element");
  return { tag, start: offset, contentStart: pos, end: pos + len };
}

/** The children of a constructed element, in order. */
function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.end) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) fail(`expected ${what}`);
  return tlv;
}

function oidText(buf: Uint8Array, tlv: Tlv): string {
  const bytes = buf.subarray(tlv.contentStart, tlv.end);
  if (bytes.length === 0) fail("empty OID");
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  if (bytes[bytes.length - 1]! & 0x80) fail("truncated OID");
  const head = parts.shift()!;
  const first = head < 40 ? 0 : head < 80 ? 1 : 2;
  return [first, head - first * 40, ...parts].join(".");
}

function timeValue(buf: Uint8Array, tlv: Tlv): number {
  const text = new TextDecoder("latin1").decode(buf.subarray(tlv.contentStart, tlv.end));
  let m: RegExpExecArray | null;
  if (tlv.tag === 0x17) {
    // UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: YY >= 50 means 19YY).
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) fail("UTCTime");
    const yy = Number(m[1]);
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  }
  if (tlv.tag === 0x18) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (!m) fail("GeneralizedTime");
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  }
  return fail("expected a time");
}

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

function stringValue(buf: Uint8Array, tlv: Tlv): string | null {
  const bytes = buf.subarray(tlv.contentStart, tlv.end);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      return new TextDecoder("utf-8").decode(bytes);
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString (read as Latin-1, as most tools do)
      return new TextDecoder("latin1").decode(bytes);
    case 0x1e: {
      // BMPString: UTF-16BE
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2)
        s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
      return s;
    }
    default:
      return null;
  }
}

/** RFC 4514 §2.4 escaping of an attribute value. */
function escapeDnValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=]/g, (ch) => `\\${ch}`);
  out = Array.from(out, (ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x20 || c === 0x7f ? `\\${c.toString(16).padStart(2, "0")}` : ch;
  }).join("");
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function nameText(buf: Uint8Array, name: Tlv): string {
  const rdns = children(buf, expectTag(name, 0x30, "Name"));
  const parts = rdns.map((rdn) =>
    children(buf, expectTag(rdn, 0x31, "RelativeDistinguishedName"))
      .map((atv) => {
        const [type, value] = children(buf, expectTag(atv, 0x30, "AttributeTypeAndValue"));
        const oid = oidText(buf, expectTag(type, 0x06, "attribute type"));
        if (!value) fail("attribute value");
        const text = stringValue(buf, value);
        const key = ATTRIBUTE_NAMES[oid] ?? oid;
        return `${key}=${text === null ? `#${hex(buf.subarray(value.start, value.end))}` : escapeDnValue(text)}`;
      })
      .join("+"),
  );
  // RFC 4514 §2.1: the last RDN of the sequence is written first.
  return parts.reverse().join(",");
}

function unsignedInteger(buf: Uint8Array, tlv: Tlv): Uint8Array {
  let bytes = buf.subarray(tlv.contentStart, tlv.end);
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  return bytes;
}

function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

function publicKeyOf(buf: Uint8Array, spki: Tlv): PublicKeyInfo {
  const [algorithm, bitString] = children(buf, spki);
  const [oidTlv] = children(buf, expectTag(algorithm, 0x30, "AlgorithmIdentifier"));
  const oid = oidText(buf, expectTag(oidTlv, 0x06, "algorithm OID"));
  const bits = expectTag(bitString, 0x03, "subjectPublicKey");
  if (oid !== RSA_ENCRYPTION_OID) return { kind: "other", algorithmOid: oid };
  if (buf[bits.contentStart] !== 0) fail("RSA key bit string with unused bits");
  const rsaKey = readTlv(buf, bits.contentStart + 1, bits.end);
  const [n, e] = children(buf, expectTag(rsaKey, 0x30, "RSAPublicKey"));
  const modulus = unsignedInteger(buf, expectTag(n, 0x02, "modulus"));
  const exponent = unsignedInteger(buf, expectTag(e, 0x02, "exponent"));
  return { kind: "rsa", bits: bitLength(modulus), modulus, exponent };
}

/** Parses a DER certificate; throws `CertificateParseError` when it is not one. */
export async function parseCertificate(der: Uint8Array): Promise<X509Certificate> {
  const fields = parseCertificateFields(der);
  return { ...fields, sha256: await sha256Hex(fields.der) };
}

/** `parseCertificate` without the digest (synchronous). */
export function parseCertificateFields(input: Uint8Array): Omit<X509Certificate, "sha256"> {
  const der = new Uint8Array(input);
  const cert = readTlv(der, 0);
  if (cert.tag !== 0x30) fail("expected Certificate");
  if (cert.end !== der.length) fail("trailing bytes after the certificate");
  const [tbs, sigAlg, sigValue] = children(der, cert);
  expectTag(tbs, 0x30, "TBSCertificate");
  expectTag(sigAlg, 0x30, "signatureAlgorithm");
  expectTag(sigValue, 0x03, "signatureValue");
  const items = children(der, tbs!);
  let i = 0;
  if (items[0]?.tag === 0xa0) i++; // [0] EXPLICIT version
  expectTag(items[i++], 0x02, "serialNumber");
  expectTag(items[i++], 0x30, "signature");
  expectTag(items[i++], 0x30, "issuer");
  const validity = expectTag(items[i++], 0x30, "validity");
  const subject = expectTag(items[i++], 0x30, "subject");
  const spki = expectTag(items[i++], 0x30, "subjectPublicKeyInfo");
  const [notBefore, notAfter] = children(der, validity);
  if (!notBefore || !notAfter) fail("validity");
  return {
    der,
    subject: nameText(der, subject),
    notBefore: timeValue(der, notBefore),
    notAfter: timeValue(der, notAfter),
    spki: der.slice(spki.start, spki.end),
    publicKey: publicKeyOf(der, spki),
  };
}

export { toBase64 } from "../bytes.ts";
/** The SAML modules take these from here; the implementations live in src/bytes.ts. */
export { sha256Hex, strictBase64 };

// ------------------------------------------------------------------------------------ PEM, base64

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every `-----BEGIN <label>-----` block of a PEM text, in order. Bad base64 → error. */
export function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const out: PemBlock[] = [];
  for (const m of text.matchAll(re)) {
    if (m[1] !== m[3]) throw new CertificateParseError("PEM BEGIN and END labels differ");
    const der = strictBase64(m[2]!.replace(/^[A-Za-z-]+:.*$/gm, ""));
    if (der === null) throw new CertificateParseError("PEM body is not valid base64");
    out.push({ label: m[1]!, der });
  }
  return out;
}

/** RFC 3339 UTC with second precision (`2027-01-01T00:00:00Z`). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
