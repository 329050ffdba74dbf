/**
 * PEM helpers. RSA keys made by `openssl genrsa` (OpenSSL < 3) and many secret stores are PKCS#1
 * ("BEGIN RSA PRIVATE KEY"), while WebCrypto imports only PKCS#8. Wrapping PKCS#1 in a PKCS#8
 * PrivateKeyInfo (RFC 5208 §5) is a fixed DER prefix, so no ASN.1 library is needed.
 */
import { derLength } from "./der.ts";

const PKCS1_HEADER = /-----BEGIN RSA PRIVATE KEY-----([\s\S]*?)-----END RSA PRIVATE KEY-----/;

/** Returns a PKCS#8 PEM for a PKCS#8 or PKCS#1 RSA private key PEM; other input is returned as is. */
export function toPkcs8Pem(pem: string): string {
  const body = PKCS1_HEADER.exec(pem)?.[1];
  if (body === undefined) return pem.trim();
  const pkcs1 = base64ToBytes(body.replace(/\s+/g, ""));
  // PrivateKeyInfo ::= SEQUENCE { version INTEGER 0, algorithm AlgorithmIdentifier rsaEncryption, privateKey OCTET STRING }
  const algorithm = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ];
  const octet = [0x04, ...derLength(pkcs1.length), ...pkcs1];
  const inner = [0x02, 0x01, 0x00, ...algorithm, ...octet];
  const der = new Uint8Array([0x30, ...derLength(inner.length), ...inner]);
  return toPem(der, "PRIVATE KEY");
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

import { fromBase64 as base64ToBytes, toBase64 as bytesToBase64 } from "../bytes.ts";

/** Base64 helpers live in src/bytes.ts; re-exported for the callers of this module. */
export { base64ToBytes, bytesToBase64 };
