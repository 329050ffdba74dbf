/**
 * A self-signed X.509 v3 certificate for an RSA key, with WebCrypto and a minimal DER writer (no
 * ASN.1 library, no openssl): sha256WithRSAEncryption, subject = issuer = CN=<cn>, random positive
 * 128-bit serial, basicConstraints CA:FALSE. Enough for SAML SP metadata, which pins the certificate
 * itself rather than a chain.
 */

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function length(n: number): Uint8Array {
  if (n < 0x80) return new Uint8Array([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...parts: Uint8Array[]) => {
  const content = concat(parts);
  return concat([new Uint8Array([tag]), length(content.length), content]);
};
const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts);

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a! + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

function time(ms: number): Uint8Array {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  if (y < 2050) return tlv(0x17, new TextEncoder().encode(`${p(y % 100)}${rest}`));
  return tlv(0x18, new TextEncoder().encode(`${p(y, 4)}${rest}`));
}

export interface SelfSigned {
  der: Uint8Array;
  notAfter: Date;
}

export async function selfSignedCertificate(options: {
  privateKey: CryptoKey;
  spki: Uint8Array;
  cn: string;
  days: number;
  now?: number;
}): Promise<SelfSigned> {
  const now = options.now ?? Date.now();
  const notBefore = now - 5 * 60_000;
  const notAfter = now + options.days * 86_400_000;
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, new TextEncoder().encode(options.cn)))));
  const sigAlg = seq(oid("1.2.840.113549.1.1.11"), tlv(0x05));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero byte needed
  const basicConstraints = seq(oid("2.5.29.19"), tlv(0x01, new Uint8Array([0xff])), tlv(0x04, seq()));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, new Uint8Array([2]))),
    tlv(0x02, serial),
    sigAlg,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    options.spki,
    tlv(0xa3, seq(basicConstraints)),
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", options.privateKey, tbs as BufferSource),
  );
  const der = seq(tbs, sigAlg, tlv(0x03, new Uint8Array([0]), signature));
  return { der, notAfter: new Date(Math.floor(notAfter / 1000) * 1000) };
}
