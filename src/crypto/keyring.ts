/**
 * Signing and verification keys, imported once at start-up (never per request) — docs/spec/tokens.md §6.
 *
 * The JWKS document is serialised here once, so every replica with the same configuration serves
 * byte-identical output and the JWKS route does no work per request.
 */
import { exportJWK, importJWK, importPKCS8, importSPKI, type JWK } from "jose";
import { must } from "../must.ts";
import { toPkcs8Pem } from "./pem.ts";

export interface ExtraJwksKey {
  kid: string;
  publicKey?: string | undefined;
  privateKey?: string | undefined;
}

export interface KeyRing {
  readonly activeKid: string;
  /** RS256 signing key (non-extractable). */
  readonly signingKey: CryptoKey;
  /** kid → public verification key, active key first. */
  readonly verificationKeys: ReadonlyMap<string, CryptoKey>;
  readonly jwks: { keys: JWK[] };
  /** `JSON.stringify(jwks)`, computed once. */
  readonly jwksBody: string;
}

export async function loadKeyRing(options: {
  activePrivateKeyPem: string;
  activeKid: string;
  extra?: ExtraJwksKey[];
}): Promise<KeyRing> {
  const activePem = toPkcs8Pem(options.activePrivateKeyPem);
  const signingKey = await importPKCS8(activePem, "RS256", { extractable: false });
  const activePublic = publicJwk(
    await exportJWK(await importPKCS8(activePem, "RS256", { extractable: true })),
    options.activeKid,
  );

  const jwks: JWK[] = [activePublic];
  for (const entry of options.extra ?? []) {
    const key = entry.privateKey
      ? await importPKCS8(toPkcs8Pem(entry.privateKey), "RS256", { extractable: true })
      : await importSPKI(entry.publicKey ?? "", "RS256", { extractable: true });
    jwks.push(publicJwk(await exportJWK(key), entry.kid));
  }

  const verificationKeys = new Map<string, CryptoKey>();
  for (const jwk of jwks) {
    verificationKeys.set(must(jwk.kid, "kid of a JWKS key"), (await importJWK(jwk, "RS256")) as CryptoKey);
  }
  const doc = { keys: jwks };
  return {
    activeKid: options.activeKid,
    signingKey,
    verificationKeys,
    jwks: doc,
    jwksBody: JSON.stringify(doc),
  };
}

/** Only the public members, in the order of the spec's example (docs/spec/tokens.md §6.2). */
function publicJwk(jwk: JWK, kid: string): JWK {
  if (jwk.kty !== "RSA" || !jwk.n || !jwk.e) throw new Error(`key ${kid} is not an RSA key`);
  return { kty: "RSA", kid, use: "sig", alg: "RS256", n: jwk.n, e: jwk.e };
}
