/**
 * PEM and time helpers of the SAML modules. Certificates are read by src/crypto/x509.ts (over the
 * one DER reader, src/crypto/der.ts); the base64 and SHA-256 helpers live in src/bytes.ts.
 */

import { sha256Hex, strictBase64 } from "../bytes.ts";
import { CertificateParseError } from "../crypto/x509.ts";

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
  for (const [, label, body, endLabel] of text.matchAll(re)) {
    // The pattern always captures all three groups; a missing one is no PEM block.
    if (label === undefined || body === undefined) throw new CertificateParseError("not a PEM block");
    if (label !== endLabel) throw new CertificateParseError("PEM BEGIN and END labels differ");
    const der = strictBase64(body.replace(/^[A-Za-z-]+:.*$/gm, ""));
    if (der === null) throw new CertificateParseError("PEM body is not valid base64");
    out.push({ label, der });
  }
  return out;
}

/** RFC 3339 UTC with second precision (`2027-01-01T00:00:00Z`). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
