/**
 * src/crypto/x509.ts, the one X.509 reader and self-signed certificate builder: certificates made
 * by openssl in the test are read field by field and compared with `openssl x509` output; the
 * builder's certificates are read back by openssl and verified by node:crypto (OpenSSL). Negative
 * twins: every malformed variant is a CertificateParseError, never a partial result.
 */
import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, X509Certificate as NodeX509 } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBase64, toHex } from "../../src/bytes.ts";
import { generateRsaKeyPair } from "../../src/crypto/keygen.ts";
import { toPem } from "../../src/crypto/pem.ts";
import {
  buildSelfSignedCertificate,
  CertificateParseError,
  keyAlgorithmOid,
  OID,
  parseCertificate,
  parseCertificateFields,
} from "../../src/crypto/x509.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tikti-x509-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8" });
const derOf = (pem: string) => fromBase64(pem.replace(/-----[A-Z ]+-----|\s+/g, ""));
/** `openssl x509 -noout <args>` on a PEM file: the value after `=` of its one line. */
const field = (file: string, ...args: string[]) =>
  openssl("x509", "-in", file, "-noout", "-nameopt", "RFC2253", ...args)
    .trim()
    .replace(/^[^=]*=/, "");

async function opensslCert(name: string, keyArgs: string[], subj: string, serial: string): Promise<string> {
  const file = join(dir, `${name}.pem`);
  openssl(
    "req",
    "-x509",
    ...keyArgs,
    "-nodes",
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    file,
    "-days",
    "400",
    "-subj",
    subj,
    "-set_serial",
    serial,
    "-sha256",
  );
  return file;
}

describe("X.509 reader against openssl", () => {
  it("reads an RSA certificate field by field as `openssl x509` prints it", async () => {
    const file = await opensslCert(
      "rsa",
      ["-newkey", "rsa:3072"],
      "/C=DE/O=Acme Corp/OU=IAM/CN=adfs.acme.test",
      "0x00c0ffee0123456789abcdef",
    );
    const c = await parseCertificate(derOf(await readFile(file, "utf8")));

    expect(c.serialNumber).toBe(field(file, "-serial").toLowerCase());
    expect(c.serialNumber).toBe("c0ffee0123456789abcdef");
    expect(c.subject).toBe(field(file, "-subject"));
    expect(c.subject).toBe("CN=adfs.acme.test,OU=IAM,O=Acme Corp,C=DE");
    expect(c.issuer).toBe(field(file, "-issuer"));
    expect(c.notBefore).toBe(Date.parse(field(file, "-startdate")));
    expect(c.notAfter).toBe(Date.parse(field(file, "-enddate")));
    expect(c.notAfter - c.notBefore).toBe(400 * 86_400_000);
    expect(c.sha256).toBe(field(file, "-fingerprint", "-sha256").replace(/:/g, "").toLowerCase());

    const text = openssl("x509", "-in", file, "-noout", "-text");
    expect(text).toContain("Signature Algorithm: sha256WithRSAEncryption");
    expect(c.signatureAlgorithm).toBe(OID.sha256WithRSAEncryption);
    expect(text).toContain("Public-Key: (3072 bit)");
    expect(text).toContain("Exponent: 65537 (0x10001)");
    if (c.publicKey.kind !== "rsa") throw new Error("expected an RSA key");
    expect(c.publicKey.bits).toBe(3072);
    expect(toHex(c.publicKey.exponent)).toBe("010001");
    expect(toHex(c.publicKey.modulus)).toBe(field(file, "-modulus").toLowerCase());

    // The SPKI is the exact DER openssl extracts, and WebCrypto imports it.
    const spkiPem = openssl("x509", "-in", file, "-noout", "-pubkey");
    expect(toHex(c.spki)).toBe(toHex(derOf(spkiPem)));
    const key = await crypto.subtle.importKey(
      "spki",
      c.spki as BufferSource,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    expect((key.algorithm as RsaHashedKeyAlgorithm).modulusLength).toBe(3072);
  });

  it("reads an EC certificate: its algorithms by OID, the key as `other`", async () => {
    const file = await opensslCert(
      "ec",
      ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      "/CN=ec.acme.test",
      "7",
    );
    const c = parseCertificateFields(derOf(await readFile(file, "utf8")));
    expect(openssl("x509", "-in", file, "-noout", "-text")).toContain(
      "Signature Algorithm: ecdsa-with-SHA256",
    );
    expect(c.signatureAlgorithm).toBe("1.2.840.10045.4.3.2");
    expect(c.publicKey).toEqual({ kind: "other", algorithmOid: "1.2.840.10045.2.1" });
    expect(c.serialNumber).toBe("07");
    expect(c.subject).toBe("CN=ec.acme.test");
  });
});

describe("self-signed certificate builder", () => {
  it("builds an end-entity certificate openssl reads and node:crypto verifies", async () => {
    const pair = await generateRsaKeyPair(2048);
    const notBefore = Date.UTC(2026, 0, 2, 3, 4, 5);
    const notAfter = Date.UTC(2060, 6, 7, 8, 9, 10); // GeneralizedTime from 2050
    const serial = new Uint8Array([0x80, 0, 0, 1]); // top bit set: needs a leading 0 byte
    const der = await buildSelfSignedCertificate({
      privateKey: pair.privateKey,
      spki: pair.spki,
      name: [
        [OID.organizationName, "Acme, Inc."],
        [OID.commonName, "tikti-sp"],
      ],
      notBefore,
      notAfter,
      serial,
      endEntity: true,
    });
    const file = join(dir, "built.pem");
    await writeFile(file, toPem(der, "CERTIFICATE"));

    expect(field(file, "-serial")).toBe("80000001");
    expect(field(file, "-subject")).toBe("CN=tikti-sp,O=Acme\\, Inc.");
    expect(field(file, "-issuer")).toBe("CN=tikti-sp,O=Acme\\, Inc.");
    expect(Date.parse(field(file, "-startdate"))).toBe(notBefore);
    expect(Date.parse(field(file, "-enddate"))).toBe(notAfter);
    const text = openssl("x509", "-in", file, "-noout", "-text");
    expect(text).toContain("Version: 3 (0x2)");
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toContain("Signature Algorithm: sha256WithRSAEncryption");

    const node = new NodeX509(der);
    expect(node.verify(createPublicKey({ key: Buffer.from(pair.spki), format: "der", type: "spki" }))).toBe(
      true,
    );
    expect(node.checkIssued(node)).toBe(true);

    // And our reader agrees with what it wrote.
    const read = await parseCertificate(der);
    expect(read).toMatchObject({
      serialNumber: "80000001",
      subject: "CN=tikti-sp,O=Acme\\, Inc.",
      notBefore,
      notAfter,
    });
    expect(toHex(read.spki)).toBe(toHex(pair.spki));
  });

  it("without endEntity there is no extension; a wrong key makes a signature that does not verify", async () => {
    const [pair, other] = await Promise.all([generateRsaKeyPair(2048), generateRsaKeyPair(2048)]);
    const der = await buildSelfSignedCertificate({
      privateKey: other.privateKey,
      spki: pair.spki,
      name: [[OID.commonName, "x"]],
      notBefore: Date.UTC(2026, 0, 1),
      notAfter: Date.UTC(2027, 0, 1),
      serial: 1,
    });
    const file = join(dir, "plain.pem");
    await writeFile(file, toPem(der, "CERTIFICATE"));
    expect(openssl("x509", "-in", file, "-noout", "-text")).not.toContain("X509v3");
    expect(
      new NodeX509(der).verify(createPublicKey({ key: Buffer.from(pair.spki), format: "der", type: "spki" })),
    ).toBe(false);
  });
});

describe("negative twins", () => {
  let good: Uint8Array;
  beforeAll(async () => {
    const pair = await generateRsaKeyPair(2048);
    good = await buildSelfSignedCertificate({
      privateKey: pair.privateKey,
      spki: pair.spki,
      name: [[OID.commonName, "twin"]],
      notBefore: Date.UTC(2026, 0, 1),
      notAfter: Date.UTC(2027, 0, 1),
      serial: 5,
    });
  });
  const with_ = (at: number, value: number) => {
    const copy = new Uint8Array(good);
    copy[at] = value;
    return copy;
  };

  it("the unmodified twin parses", () => {
    expect(parseCertificateFields(good).subject).toBe("CN=twin");
  });

  it.each<[string, () => Uint8Array]>([
    ["truncated by one byte", () => good.subarray(0, good.length - 1)],
    ["truncated inside the length", () => good.subarray(0, 3)],
    ["a trailing byte", () => new Uint8Array([...good, 0])],
    ["outer tag SET instead of SEQUENCE", () => with_(0, 0x31)],
    ["outer length one more than the bytes", () => with_(3, (good[3] ?? 0) + 1)],
    ["indefinite length", () => new Uint8Array([0x30, 0x80, 0x00, 0x00])],
    ["high tag number", () => new Uint8Array([0x1f, 0x01, 0x00])],
    ["a SEQUENCE that is not a certificate", () => new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])],
    ["empty input", () => new Uint8Array(0)],
  ])("%s → CertificateParseError", (_label, bytes) => {
    expect(() => parseCertificateFields(bytes())).toThrow(CertificateParseError);
  });

  it("a wrong tag inside TBSCertificate (serial as OCTET STRING) is refused", () => {
    // 30 82 LL LL | 30 82 LL LL (TBS) | a0 03 02 01 02 (version) | 02 01 05 (serial)
    expect(good[8]).toBe(0xa0);
    expect(good[13]).toBe(0x02);
    expect(() => parseCertificateFields(with_(13, 0x04))).toThrow(CertificateParseError);
  });
});

describe("keyAlgorithmOid", () => {
  it("reads the algorithm of PKCS#8 and SPKI keys as openssl wrote them, null for anything else", () => {
    const cases: Array<[ReturnType<typeof generateKeyPairSync>, string]> = [
      [generateKeyPairSync("rsa", { modulusLength: 1024 }), OID.rsaEncryption],
      [generateKeyPairSync("ec", { namedCurve: "P-256" }), "1.2.840.10045.2.1"],
      [generateKeyPairSync("ed25519"), "1.3.101.112"],
    ];
    for (const [pair, expected] of cases) {
      const pkcs8 = new Uint8Array(pair.privateKey.export({ format: "der", type: "pkcs8" }));
      const spki = new Uint8Array(pair.publicKey.export({ format: "der", type: "spki" }));
      expect(keyAlgorithmOid(pkcs8, "pkcs8")).toBe(expected);
      expect(keyAlgorithmOid(spki, "spki")).toBe(expected);
      // The twins: each shape read as the other, and a truncated prefix.
      expect(keyAlgorithmOid(spki, "pkcs8")).toBeNull();
      expect(keyAlgorithmOid(pkcs8.subarray(0, 6), "pkcs8")).toBeNull();
    }
    expect(keyAlgorithmOid(new Uint8Array([0x31, 0x00]), "spki")).toBeNull();
  });
});
