import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateParseError, parseCertificate, parseCertificateFields } from "../../../src/crypto/x509.ts";
import { isoSeconds, pemBlocks, strictBase64 } from "../../../src/saml/certs.ts";
import { makeCert, rsaKey, tlv } from "./helpers.ts";

describe("X.509 reader", () => {
  it("reads subject, validity, key size and SHA-256 of a generated certificate", async () => {
    const notAfter = Date.UTC(2031, 5, 30, 12, 0, 0);
    const c = await makeCert({ cn: "idp.example.com", org: "Example, Inc.", notAfter });
    const parsed = await parseCertificate(c.der);
    expect(parsed.subject).toBe("CN=idp.example.com,O=Example\\, Inc.");
    expect(parsed.notAfter).toBe(notAfter);
    expect(parsed.sha256).toBe(c.sha256);
    expect(parsed.publicKey).toMatchObject({ kind: "rsa", bits: 2048 });
    expect(parsed.spki).toEqual(c.key.spki);
  });

  it("reads GeneralizedTime validity (years from 2050)", async () => {
    const notAfter = Date.UTC(2060, 0, 2, 3, 4, 5);
    const parsed = parseCertificateFields((await makeCert({ notAfter })).der);
    expect(isoSeconds(parsed.notAfter)).toBe("2060-01-02T03:04:05Z");
  });

  it("reports the real modulus size of small keys", async () => {
    const c = await makeCert({ key: await rsaKey("small", 1024) });
    expect(parseCertificateFields(c.der).publicKey).toMatchObject({ kind: "rsa", bits: 1024 });
  });

  it("refuses truncated input, trailing bytes, indefinite lengths and non-certificates", async () => {
    const { der } = await makeCert();
    const bad = [
      der.subarray(0, der.length - 1),
      new Uint8Array([...der, 0]),
      new Uint8Array([0x30, 0x80, 0x00, 0x00]),
      tlv(0x30, tlv(0x02, new Uint8Array([1]))),
      new Uint8Array([]),
    ];
    for (const b of bad) expect(() => parseCertificateFields(b)).toThrow(CertificateParseError);
  });

  it("strict base64 refuses bad alphabet and padding but tolerates whitespace", () => {
    expect(strictBase64("QUJD\n RA==")).toEqual(new TextEncoder().encode("ABCD"));
    expect(strictBase64("QUJDRA=")).toBeNull();
    expect(strictBase64("QUJD*A==")).toBeNull();
    expect(strictBase64("")).toBeNull();
  });

  describe("against openssl", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tikti-openssl-"));
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:3072",
          "-nodes",
          "-keyout",
          join(dir, "k.pem"),
          "-out",
          join(dir, "c.pem"),
          "-days",
          "400",
          "-subj",
          "/C=DE/O=Acme Corp/OU=IAM/CN=adfs.acme.test",
        ],
        { stdio: "ignore" },
      );
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("agrees with openssl on subject fields, notAfter, key size and fingerprint", async () => {
      const pem = await readFile(join(dir, "c.pem"), "utf8");
      const [block] = pemBlocks(pem);
      const parsed = await parseCertificate(block!.der);
      const run = (...args: string[]) =>
        execFileSync("openssl", ["x509", "-in", join(dir, "c.pem"), "-noout", ...args], { encoding: "utf8" });
      const fingerprint = run("-fingerprint", "-sha256")
        .split("=")[1]!
        .trim()
        .replace(/:/g, "")
        .toLowerCase();
      const enddate = run("-enddate").split("=")[1]!.trim();
      expect(parsed.sha256).toBe(fingerprint);
      expect(parsed.notAfter).toBe(Date.parse(enddate));
      expect(parsed.subject).toBe("CN=adfs.acme.test,OU=IAM,O=Acme Corp,C=DE");
      expect(parsed.publicKey).toMatchObject({ kind: "rsa", bits: 3072 });
    });
  });
});
