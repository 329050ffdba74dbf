/**
 * The access-token signer on `node:crypto` (Bun and Node): the same RS256 JWS as the Web Crypto
 * signer of src/crypto/access-token.ts, byte for byte (PKCS#1 v1.5 is deterministic; proved by
 * test/crypto/access-token-node.test.ts), but signed synchronously with a `KeyObject` imported once.
 *
 * Why (docs/benchmarks.md): on Node `crypto.sign` is faster than `crypto.subtle.sign`, which hops
 * to the libuv pool for every token; on Bun `crypto.subtle.sign` shares Bun's thread pool with
 * `Bun.password`, so during a sign-in burst every exchange waited behind queued password hashes.
 * Deno keeps Web Crypto: its `node:crypto` RSA is slower than its Web Crypto.
 */
import { createPrivateKey, sign } from "node:crypto";
import { type AccessTokenSigner, orderAccessTokenClaims } from "../crypto/access-token.ts";
import { toPkcs8Pem } from "../crypto/pem.ts";

const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** `privateKeyPem`: PKCS#8 or PKCS#1 PEM (the `jwksPrivateKey` setting); `kid`: the active kid. */
export function createNodeCryptoAccessTokenSigner(privateKeyPem: string, kid: string): AccessTokenSigner {
  const key = createPrivateKey(toPkcs8Pem(privateKeyPem));
  const headers = {
    JWT: b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid })),
    "at+jwt": b64url(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid })),
  };
  return {
    async sign(claims, typ = "JWT") {
      const signingInput = `${headers[typ]}.${b64url(JSON.stringify(orderAccessTokenClaims(claims)))}`;
      const signature = sign("sha256", Buffer.from(signingInput, "latin1"), key);
      return `${signingInput}.${signature.toString("base64url")}`;
    },
  };
}

/** The signer a runtime uses (chosen by measurement, see the file comment); `undefined` = Web Crypto. */
export function runtimeAccessTokenSigner(
  runtime: "bun" | "node" | "deno",
  privateKeyPem: string,
  kid: string,
): AccessTokenSigner | undefined {
  return runtime === "deno" ? undefined : createNodeCryptoAccessTokenSigner(privateKeyPem, kid);
}
