/**
 * Signing and verification keys, imported once at start-up (never per request) — docs/spec/tokens.md §6.
 *
 * The JWKS document is serialised here once, so every replica with the same configuration serves
 * byte-identical output and the JWKS route does no work per request.
 */
import { exportJWK, importJWK, importPKCS8, importSPKI, type JWK } from "jose";
import { must } from "../must.ts";
import { ACCESS_TOKEN_ALGS, type AccessTokenAlg } from "./jws.ts";
import { toPkcs8Pem } from "./pem.ts";

export interface ExtraJwksKey {
  kid: string;
  publicKey?: string | undefined;
  privateKey?: string | undefined;
}

export interface KeyRing {
  readonly activeKid: string;
  /** The algorithm the active key's type fixes (docs/spec/tokens.md §1). */
  readonly activeAlg: AccessTokenAlg;
  /** The signing key (non-extractable). */
  readonly signingKey: CryptoKey;
  /** kid → public verification key, active key first; each verifies its own algorithm only. */
  readonly verificationKeys: ReadonlyMap<string, CryptoKey>;
  readonly jwks: { keys: JWK[] };
  /** `JSON.stringify(jwks)`, computed once. */
  readonly jwksBody: string;
}

/**
 * Imports a PEM key with the algorithm its type fixes: RSA → RS256, EC P-256 → ES256, Ed25519 →
 * EdDSA (anything else throws). Configuration validation (src/config/validate.ts) has already
 * named the type; here each algorithm is tried in turn, and Web Crypto refuses a key of another type.
 */
export async function importAccessTokenKey(
  pem: string,
  kind: "private" | "public",
  extractable: boolean,
): Promise<{ alg: AccessTokenAlg; key: CryptoKey }> {
  for (const alg of ACCESS_TOKEN_ALGS) {
    try {
      const key =
        kind === "private"
          ? await importPKCS8(toPkcs8Pem(pem), alg, { extractable })
          : await importSPKI(pem.trim(), alg, { extractable });
      return { alg, key };
    } catch {
      // not a key of this algorithm: try the next one
    }
  }
  throw new Error(`not an RSA, EC P-256 or Ed25519 ${kind} key`);
}

export async function loadKeyRing(options: {
  activePrivateKeyPem: string;
  activeKid: string;
  extra?: readonly ExtraJwksKey[];
}): Promise<KeyRing> {
  const active = await importAccessTokenKey(options.activePrivateKeyPem, "private", false);
  const activePublic = publicJwk(
    await exportJWK((await importAccessTokenKey(options.activePrivateKeyPem, "private", true)).key),
    options.activeKid,
    active.alg,
  );

  const jwks: JWK[] = [activePublic];
  for (const entry of options.extra ?? []) {
    const { alg, key } = entry.privateKey
      ? await importAccessTokenKey(entry.privateKey, "private", true)
      : await importAccessTokenKey(entry.publicKey ?? "", "public", true);
    jwks.push(publicJwk(await exportJWK(key), entry.kid, alg));
  }

  const verificationKeys = new Map<string, CryptoKey>();
  for (const jwk of jwks) {
    const alg = must(jwk.alg, "alg of a JWKS key");
    verificationKeys.set(must(jwk.kid, "kid of a JWKS key"), (await importJWK(jwk, alg)) as CryptoKey);
  }
  const doc = { keys: jwks };
  return {
    activeKid: options.activeKid,
    activeAlg: active.alg,
    signingKey: active.key,
    verificationKeys,
    jwks: doc,
    jwksBody: JSON.stringify(doc),
  };
}

/**
 * Only the public members, each key with its `alg` (docs/spec/tokens.md §6.2): RSA in the order of the
 * spec's example, EC and OKP with their `crv` (RFC 7518 §6.2, RFC 8037 §2).
 */
function publicJwk(jwk: JWK, kid: string, alg: AccessTokenAlg): JWK {
  if (alg === "RS256" && jwk.kty === "RSA" && jwk.n && jwk.e) {
    return { kty: "RSA", kid, use: "sig", alg, n: jwk.n, e: jwk.e };
  }
  if (alg === "ES256" && jwk.kty === "EC" && jwk.crv === "P-256" && jwk.x && jwk.y) {
    return { kty: "EC", kid, use: "sig", alg, crv: "P-256", x: jwk.x, y: jwk.y };
  }
  if (alg === "EdDSA" && jwk.kty === "OKP" && jwk.crv === "Ed25519" && jwk.x) {
    return { kty: "OKP", kid, use: "sig", alg, crv: "Ed25519", x: jwk.x };
  }
  throw new Error(`key ${kid} is not an RSA, EC P-256 or Ed25519 key`);
}
