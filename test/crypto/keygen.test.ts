/**
 * src/crypto/keygen.ts, the one RSA key generator (dev quick-start, CLI, tests): what it returns is
 * read back by openssl, and the PEM, the DER and the CryptoKeys describe the same key.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateRsaKeyPair } from "../../src/crypto/keygen.ts";

const openssl = (args: string[], input: string) => execFileSync("openssl", args, { input, encoding: "utf8" });

describe("generateRsaKeyPair", () => {
  it("makes a 2048-bit e=65537 key whose PEM, PKCS#8, SPKI and CryptoKeys agree (read by openssl)", async () => {
    const pair = await generateRsaKeyPair();
    expect(pair.bits).toBe(2048);
    expect(pair.pkcs8Pem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END PRIVATE KEY-----\n$/,
    );

    const text = openssl(["pkey", "-noout", "-text"], pair.pkcs8Pem);
    expect(text).toContain("Private-Key: (2048 bit, 2 primes)");
    expect(text).toContain("publicExponent: 65537 (0x10001)");

    // The PEM is the DER, and the SPKI is the public half of that private key.
    const fromPem = createPrivateKey(pair.pkcs8Pem);
    expect(Buffer.from(fromPem.export({ format: "der", type: "pkcs8" }))).toEqual(Buffer.from(pair.pkcs8));
    const spkiOfPrivate = createPublicKey(fromPem).export({ format: "der", type: "spki" });
    expect(Buffer.from(spkiOfPrivate)).toEqual(Buffer.from(pair.spki));
    expect(
      createPublicKey({ key: Buffer.from(pair.spki), format: "der", type: "spki" }).asymmetricKeyType,
    ).toBe("rsa");

    // The CryptoKeys sign and verify RS256 with each other.
    expect(pair.privateKey.algorithm).toMatchObject({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-256" } });
    const data = new TextEncoder().encode("payload");
    const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, data);
    expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pair.publicKey, sig, data)).toBe(true);
    expect(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", pair.publicKey, sig, new Uint8Array(3))).toBe(
      false,
    );
  });

  it("honours the requested size and gives a new key each call", async () => {
    const [a, b] = await Promise.all([generateRsaKeyPair(1024), generateRsaKeyPair(1024)]);
    expect(createPrivateKey(a.pkcs8Pem).asymmetricKeyDetails?.modulusLength).toBe(1024);
    expect(a.bits).toBe(1024);
    expect(Buffer.from(a.spki).equals(Buffer.from(b.spki))).toBe(false);
  });

  it("refuses sizes below 1024 bits or not a whole number of bytes", async () => {
    for (const bits of [512, 1023, 2047.5, Number.NaN]) {
      await expect(generateRsaKeyPair(bits)).rejects.toThrow(RangeError);
    }
  });
});
