/**
 * The one X.509 reader (RFC 5280 §4.1) and the self-signed certificate builder, over the DER
 * reader/writer of src/crypto/der.ts. WebCrypto cannot parse certificates, and the fields Tikti
 * needs sit at fixed positions of TBSCertificate: serial, signature algorithm, issuer, validity,
 * subject and SubjectPublicKeyInfo (for WebCrypto and the RSA key size), plus the SHA-256 of the
 * DER. Anything the reader cannot read is "not a parsable certificate", never a partial result.
 */
import { toHex as hex, sha256Hex } from "../bytes.ts";
import {
  bitLength,
  bitString,
  children,
  contentOf,
  DerError,
  derNull,
  derTime,
  encodingOf,
  expectTag,
  octetString,
  oid,
  readBitStringBytes,
  readDocument,
  readOid,
  readTime,
  readTlv,
  readUnsignedInteger,
  seq,
  set,
  TAG,
  type Tlv,
  tlv,
  unsignedInteger,
  utf8String,
} from "./der.ts";

export class CertificateParseError extends Error {
  override readonly name = "CertificateParseError";
}

export const OID = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  /** prime256v1, the P-256 named curve. */
  p256: "1.2.840.10045.3.1.7",
  ed25519: "1.3.101.112",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  commonName: "2.5.4.3",
  organizationName: "2.5.4.10",
  basicConstraints: "2.5.29.19",
} as const;

export type PublicKeyInfo =
  | { kind: "rsa"; bits: number; modulus: Uint8Array; exponent: Uint8Array }
  | { kind: "other"; algorithmOid: string };

export interface X509Certificate {
  der: Uint8Array;
  /** Lowercase hex SHA-256 of the DER. */
  sha256: string;
  /** Lowercase hex of the serial number's magnitude. */
  serialNumber: string;
  /** OID of `signatureAlgorithm` (e.g. 1.2.840.113549.1.1.11, sha256WithRSAEncryption). */
  signatureAlgorithm: string;
  /** RFC 4514 string of the issuer (most specific RDN first). */
  issuer: string;
  /** RFC 4514 string of the subject (most specific RDN first), e.g. `CN=idp,O=Example`. */
  subject: string;
  /** Milliseconds since the epoch. */
  notBefore: number;
  notAfter: number;
  /** DER of the SubjectPublicKeyInfo (importable with `crypto.subtle.importKey("spki", ...)`). */
  spki: Uint8Array;
  publicKey: PublicKeyInfo;
}

// ------------------------------------------------------------------------------------ reader

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

function stringValue(buf: Uint8Array, el: Tlv): string | null {
  const bytes = contentOf(buf, el);
  switch (el.tag) {
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
        s += String.fromCharCode(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
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

/** A Name as an RFC 4514 string. */
function nameText(buf: Uint8Array, name: Tlv): string {
  const rdns = children(buf, expectTag(name, TAG.sequence, "Name"));
  const parts = rdns.map((rdn) =>
    children(buf, expectTag(rdn, TAG.set, "RelativeDistinguishedName"))
      .map((atv) => {
        const [type, value] = children(buf, expectTag(atv, TAG.sequence, "AttributeTypeAndValue"));
        const typeOid = readOid(buf, expectTag(type, TAG.oid, "attribute type"));
        if (!value) throw new DerError("malformed DER: attribute value");
        const text = stringValue(buf, value);
        const key = ATTRIBUTE_NAMES[typeOid] ?? typeOid;
        return `${key}=${text === null ? `#${hex(encodingOf(buf, value))}` : escapeDnValue(text)}`;
      })
      .join("+"),
  );
  // RFC 4514 §2.1: the last RDN of the sequence is written first.
  return parts.reverse().join(",");
}

/** The algorithm OID of an AlgorithmIdentifier. */
function algorithmOf(buf: Uint8Array, algorithm: Tlv | undefined, what: string): string {
  const [id] = children(buf, expectTag(algorithm, TAG.sequence, what));
  return readOid(buf, expectTag(id, TAG.oid, `${what} OID`));
}

function publicKeyOf(buf: Uint8Array, spki: Tlv): PublicKeyInfo {
  const [algorithm, key] = children(buf, spki);
  const algorithmOid = algorithmOf(buf, algorithm, "AlgorithmIdentifier");
  expectTag(key, TAG.bitString, "subjectPublicKey");
  if (algorithmOid !== OID.rsaEncryption) return { kind: "other", algorithmOid };
  const rsaKey = readBitStringBytes(buf, key as Tlv);
  const rsa = readTlv(rsaKey, 0);
  const [n, e] = children(rsaKey, expectTag(rsa, TAG.sequence, "RSAPublicKey"));
  const modulus = readUnsignedInteger(rsaKey, expectTag(n, TAG.integer, "modulus"));
  const exponent = readUnsignedInteger(rsaKey, expectTag(e, TAG.integer, "exponent"));
  return { kind: "rsa", bits: bitLength(modulus), modulus, exponent };
}

/** `parseCertificate` without the digest (synchronous). Throws `CertificateParseError`. */
export function parseCertificateFields(input: Uint8Array): Omit<X509Certificate, "sha256"> {
  const der = new Uint8Array(input);
  try {
    const cert = readDocument(der, TAG.sequence, "Certificate");
    const [tbs, sigAlg, sigValue] = children(der, cert);
    expectTag(tbs, TAG.sequence, "TBSCertificate");
    const signatureAlgorithm = algorithmOf(der, sigAlg, "signatureAlgorithm");
    expectTag(sigValue, TAG.bitString, "signatureValue");
    const items = children(der, tbs as Tlv);
    let i = 0;
    if (items[0]?.tag === 0xa0) i++; // [0] EXPLICIT version
    const serial = readUnsignedInteger(der, expectTag(items[i++], TAG.integer, "serialNumber"));
    expectTag(items[i++], TAG.sequence, "signature");
    const issuer = expectTag(items[i++], TAG.sequence, "issuer");
    const validity = expectTag(items[i++], TAG.sequence, "validity");
    const subject = expectTag(items[i++], TAG.sequence, "subject");
    const spki = expectTag(items[i++], TAG.sequence, "subjectPublicKeyInfo");
    const [notBefore, notAfter] = children(der, validity);
    if (!notBefore || !notAfter) throw new DerError("malformed DER: validity");
    return {
      der,
      serialNumber: hex(serial),
      signatureAlgorithm,
      issuer: nameText(der, issuer),
      subject: nameText(der, subject),
      notBefore: readTime(der, notBefore),
      notAfter: readTime(der, notAfter),
      spki: encodingOf(der, spki),
      publicKey: publicKeyOf(der, spki),
    };
  } catch (e) {
    if (e instanceof DerError) throw new CertificateParseError(`malformed certificate: ${e.message}`);
    throw e;
  }
}

/** Parses a DER certificate; throws `CertificateParseError` when it is not one. */
export async function parseCertificate(der: Uint8Array): Promise<X509Certificate> {
  const fields = parseCertificateFields(der);
  return { ...fields, sha256: await sha256Hex(fields.der) };
}

/**
 * The AlgorithmIdentifier of a PKCS#8 PrivateKeyInfo (RFC 5208 §5) or a SubjectPublicKeyInfo: its
 * OID, and its parameters when they are an OID (an EC key's named curve, RFC 5480 §2.1.1), else
 * `null`. `null` altogether when the DER does not have that shape. Only the prefix is read;
 * importing the key checks the rest.
 */
export function keyAlgorithm(
  der: Uint8Array,
  kind: "pkcs8" | "spki",
): { oid: string; parameters: string | null } | null {
  try {
    const outer = readTlv(der, 0);
    if (outer.tag !== TAG.sequence) return null;
    let pos = outer.contentStart;
    if (kind === "pkcs8") pos = expectTag(readTlv(der, pos, outer.end), TAG.integer, "version").end;
    const algorithm = expectTag(readTlv(der, pos, outer.end), TAG.sequence, "AlgorithmIdentifier");
    const [id, params] = children(der, algorithm);
    const oid = readOid(der, expectTag(id, TAG.oid, "algorithm OID"));
    return { oid, parameters: params?.tag === TAG.oid ? readOid(der, params) : null };
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}

/** The algorithm OID of a PKCS#8 or SPKI key (`keyAlgorithm` without the parameters). */
export function keyAlgorithmOid(der: Uint8Array, kind: "pkcs8" | "spki"): string | null {
  return keyAlgorithm(der, kind)?.oid ?? null;
}

// ------------------------------------------------------------------------------------ builder

export interface SelfSignedOptions {
  /** RSA private key (RSASSA-PKCS1-v1_5, SHA-256) that signs the certificate. */
  privateKey: CryptoKey;
  /** The SubjectPublicKeyInfo to certify (normally the public half of `privateKey`). */
  spki: Uint8Array;
  /** Subject = issuer, as RDNs in encoding order: `[[OID.organizationName, "Acme"], [OID.commonName, "sp"]]`. */
  name: ReadonlyArray<readonly [string, string]>;
  notBefore: number;
  notAfter: number;
  /** Positive serial number's magnitude. */
  serial: Uint8Array | number;
  /** Adds a critical basicConstraints CA:FALSE extension (an end-entity certificate). */
  endEntity?: boolean;
}

/** A self-signed X.509 v3 certificate, sha256WithRSAEncryption, as DER. */
export async function buildSelfSignedCertificate(options: SelfSignedOptions): Promise<Uint8Array> {
  const name = seq(...options.name.map(([type, value]) => set(seq(oid(type), utf8String(value)))));
  const sigAlg = seq(oid(OID.sha256WithRSAEncryption), derNull());
  const basicConstraints = seq(
    oid(OID.basicConstraints),
    tlv(TAG.boolean, new Uint8Array([0xff])),
    octetString(seq()),
  );
  const tbs = seq(
    tlv(0xa0, unsignedInteger(2)),
    unsignedInteger(options.serial),
    sigAlg,
    name,
    seq(derTime(options.notBefore), derTime(options.notAfter)),
    name,
    options.spki,
    ...(options.endEntity ? [tlv(0xa3, seq(basicConstraints))] : []),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", options.privateKey, tbs as BufferSource),
  );
  return seq(tbs, sigAlg, bitString(signature));
}
