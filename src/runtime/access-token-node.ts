/**
 * The access-token signer on `node:crypto` (Bun and Node): the same JWS as the Web Crypto signer of
 * src/crypto/access-token.ts, byte for byte for RS256 and EdDSA (both deterministic), and in the
 * same format for ES256 (raw r‖s, `dsaEncoding: "ieee-p1363"`, not DER; ECDSA signatures are
 * randomised) — proved by test/crypto/access-token-node.test.ts — but signed synchronously with a
 * `KeyObject` imported once.
 *
 * Why (docs/benchmarks.md): on Node `crypto.sign` is faster than `crypto.subtle.sign`, which hops
 * to the libuv pool for every token; on Bun `crypto.subtle.sign` shares Bun's thread pool with
 * `Bun.password`, so during a sign-in burst every exchange waited behind queued password hashes.
 * Deno keeps Web Crypto: its `node:crypto` RSA is slower than its Web Crypto.
 */
import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import { type AccessTokenSigner, orderAccessTokenClaims } from "../crypto/access-token.ts";
import type { AccessTokenAlg } from "../crypto/jws.ts";
import { toPkcs8Pem } from "../crypto/pem.ts";

const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** The algorithm a node:crypto private key signs with, or undefined for another key type. */
function algOf(key: KeyObject): AccessTokenAlg | undefined {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  return undefined;
}

/**
 * `privateKeyPem`: PKCS#8 (or PKCS#1 RSA) PEM (the `jwksPrivateKey` setting); `kid`: the active kid;
 * `alg`: the key ring's `activeAlg`, which the key's type must fix (docs/spec/tokens.md §1).
 */
export function createNodeCryptoAccessTokenSigner(
  privateKeyPem: string,
  kid: string,
  alg: AccessTokenAlg = "RS256",
): AccessTokenSigner {
  const key = createPrivateKey(toPkcs8Pem(privateKeyPem));
  const actual = algOf(key);
  if (actual !== alg)
    throw new Error(
      `access-token key: ${alg} needs another key type (found ${actual ?? key.asymmetricKeyType})`,
    );
  const headers = {
    JWT: b64url(JSON.stringify({ alg, typ: "JWT", kid })),
    "at+jwt": b64url(JSON.stringify({ alg, typ: "at+jwt", kid })),
  };
  // RS256: SHA-256 + PKCS#1 v1.5; ES256: SHA-256 + ECDSA as JWS's fixed-size r‖s; EdDSA: no pre-hash.
  const sigOf =
    alg === "EdDSA"
      ? (data: Buffer) => sign(null, data, key)
      : alg === "ES256"
        ? (data: Buffer) => sign("sha256", data, { key, dsaEncoding: "ieee-p1363" })
        : (data: Buffer) => sign("sha256", data, key);
  return {
    async sign(claims, typ = "JWT") {
      const signingInput = `${headers[typ]}.${b64url(JSON.stringify(orderAccessTokenClaims(claims)))}`;
      const signature = sigOf(Buffer.from(signingInput, "latin1"));
      return `${signingInput}.${signature.toString("base64url")}`;
    },
  };
}

/** The signer a runtime uses (chosen by measurement, see the file comment); `undefined` = Web Crypto. */
export function runtimeAccessTokenSigner(
  runtime: "bun" | "node" | "deno",
  privateKeyPem: string,
  kid: string,
  alg: AccessTokenAlg = "RS256",
): AccessTokenSigner | undefined {
  return runtime === "deno" ? undefined : createNodeCryptoAccessTokenSigner(privateKeyPem, kid, alg);
}
