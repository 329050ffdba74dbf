/**
 * A self-signed X.509 v3 certificate for an RSA key, with WebCrypto and a minimal DER writer (no
 * ASN.1 library, no openssl): sha256WithRSAEncryption, subject = issuer = CN=<cn>, random positive
 * 128-bit serial, basicConstraints CA:FALSE. Enough for SAML SP metadata, which pins the certificate
 * itself rather than a chain.
 */
import { oid, seq, derTime as time, tlv } from "../../../../src/crypto/der.ts";

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
