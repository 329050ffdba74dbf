/**
 * Key generation, in one place: the dev quick-start's signing key (src/config/dev.ts), the CLI's
 * `keys generate` and `saml keys generate`, and the tests' helpers all call this module, so the
 * algorithm parameters (public exponent 65537, RSASSA-PKCS1-v1_5 with SHA-256; ECDSA on P-256;
 * Ed25519) are chosen once.
 * WebCrypto only, so it runs unchanged on Bun, Deno and Node.
 */
import type { AccessTokenAlg } from "./jws.ts";
import { toPem } from "./pem.ts";

export interface GeneratedKeyPair {
  /** Extractable, usable for signing (RS256 / rsa-sha256). */
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** PKCS#8 PrivateKeyInfo DER. Secret: never log it. */
  pkcs8: Uint8Array;
  /** `pkcs8` as PEM (`-----BEGIN PRIVATE KEY-----`, trailing newline). Secret: never log it. */
  pkcs8Pem: string;
  /** SubjectPublicKeyInfo DER (what an X.509 certificate carries). */
  spki: Uint8Array;
  /** Modulus length in bits. */
  bits: number;
}

/** The F4 exponent: every RSA key Tikti generates uses it (smaller exponents are unsafe with some paddings). */
const F4 = new Uint8Array([1, 0, 1]);

/**
 * A new RSA key pair of `bits` modulus bits. The callers choose the size: operators' tools offer
 * 2048, 3072 or 4096; tests also ask for 1024 to prove that small keys are refused.
 */
export async function generateRsaKeyPair(bits = 2048): Promise<GeneratedKeyPair> {
  if (!Number.isInteger(bits) || bits < 1024 || bits % 8 !== 0) {
    throw new RangeError(`RSA modulus length must be a multiple of 8 of at least 1024 bits, got ${bits}`);
  }
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: F4, hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  return { ...(await exported(pair)), bits };
}

/** A new access-token signing key pair (docs/spec/tokens.md §1): the algorithm fixes the key type. */
export async function generateAccessTokenKeyPair(
  alg: AccessTokenAlg,
  rsaBits = 2048,
): Promise<Omit<GeneratedKeyPair, "bits"> & { alg: AccessTokenAlg }> {
  if (alg === "RS256") return { ...(await generateRsaKeyPair(rsaBits)), alg };
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...(await exported(pair)), alg };
}

/** A generated pair with its PKCS#8 (DER and PEM) and SPKI encodings. */
async function exported(pair: CryptoKeyPair): Promise<Omit<GeneratedKeyPair, "bits">> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    pkcs8,
    pkcs8Pem: toPem(pkcs8, "PRIVATE KEY"),
    spki,
  };
}
