/**
 * PEM helpers. RSA keys made by `openssl genrsa` (OpenSSL < 3) and many secret stores are PKCS#1
 * ("BEGIN RSA PRIVATE KEY"), while WebCrypto imports only PKCS#8. Wrapping PKCS#1 in a PKCS#8
 * PrivateKeyInfo (RFC 5208 §5) takes three DER elements, written by src/crypto/der.ts.
 */
import { derNull, octetString, oid, seq, unsignedInteger } from "./der.ts";
import { OID } from "./x509.ts";

const PKCS1_HEADER = /-----BEGIN RSA PRIVATE KEY-----([\s\S]*?)-----END RSA PRIVATE KEY-----/;

/**
 * PKCS#1 RSAPrivateKey DER → PKCS#8 PrivateKeyInfo DER:
 * `SEQUENCE { version INTEGER 0, algorithm AlgorithmIdentifier rsaEncryption, privateKey OCTET STRING }`.
 */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return seq(unsignedInteger(0), seq(oid(OID.rsaEncryption), derNull()), octetString(pkcs1));
}

/** Returns a PKCS#8 PEM for a PKCS#8 or PKCS#1 RSA private key PEM; other input is returned as is. */
export function toPkcs8Pem(pem: string): string {
  const body = PKCS1_HEADER.exec(pem)?.[1];
  if (body === undefined) return pem.trim();
  return toPem(pkcs1ToPkcs8(base64ToBytes(body.replace(/\s+/g, ""))), "PRIVATE KEY");
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

import { fromBase64 as base64ToBytes, toBase64 as bytesToBase64 } from "../bytes.ts";

/** Base64 helpers live in src/bytes.ts; re-exported for the callers of this module. */
export { base64ToBytes, bytesToBase64 };
