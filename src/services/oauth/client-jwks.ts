/**
 * Client key sets for `private_key_jwt` (docs/spec/oauth.md §2): validation of a registered `jwks`
 * and the mapping between assertion algorithms and key types.
 *
 * Only public keys of the kinds the assertion algorithms need are accepted — RSA ≥ 2048 bits
 * (RS256, PS256), EC P-256 (ES256), Ed25519 (EdDSA) — each with a unique `kid`, at most 10. A key
 * carrying private members is refused rather than stripped: whoever sent it has leaked it.
 */
import { importJWK } from "jose";
import { bitLength } from "../../crypto/der.ts";
import { base64UrlDecode } from "../../crypto/jws.ts";
import type { ClientJwks } from "../../domain/types.ts";

export const CLIENT_JWKS_MAX_KEYS = 10;
export const ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16_384;

export function isAssertionAlgorithm(alg: unknown): alg is AssertionAlgorithm {
  return typeof alg === "string" && (ASSERTION_ALGORITHMS as readonly string[]).includes(alg);
}

type KeyKind = "RSA" | "P-256" | "Ed25519";

function kindOf(jwk: Record<string, unknown>): KeyKind | null {
  if (jwk.kty === "RSA") return "RSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "P-256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "Ed25519";
  return null;
}

const ALGORITHMS_OF: Record<KeyKind, readonly AssertionAlgorithm[]> = {
  RSA: ["RS256", "PS256"],
  "P-256": ["ES256"],
  Ed25519: ["EdDSA"],
};

/** True when `jwk` may verify an assertion signed with `alg` (its own `alg`, if set, must agree). */
export function keyFitsAlgorithm(jwk: Record<string, unknown>, alg: AssertionAlgorithm): boolean {
  const kind = kindOf(jwk);
  if (kind === null || !ALGORITHMS_OF[kind].includes(alg)) return false;
  return jwk.alg === undefined || jwk.alg === alg;
}

function rsaModulusBits(n: unknown): number {
  if (typeof n !== "string") return 0;
  const bytes = base64UrlDecode(n);
  if (!bytes) return 0;
  // Leading zero bytes do not count; an all-zero (or empty) modulus has no bits.
  return bitLength(bytes);
}

/** Why one key is refused, or null when it is acceptable. */
async function keyProblem(jwk: unknown): Promise<string | null> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return "must be a JWK object";
  const k = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(k, m))) return "private key members are not allowed";
  if (typeof k.kid !== "string" || k.kid === "" || k.kid.length > 256)
    return "kid is required (1-256 characters)";
  const kind = kindOf(k);
  if (kind === null) return "key type must be RSA, EC P-256 or Ed25519";
  if (kind === "RSA") {
    const bits = rsaModulusBits(k.n);
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS)
      return `RSA modulus must be ${MIN_RSA_BITS}-${MAX_RSA_BITS} bits`;
  }
  if (k.use !== undefined && k.use !== "sig") return 'use must be "sig"';
  if (k.alg !== undefined && !(ALGORITHMS_OF[kind] as readonly unknown[]).includes(k.alg)) {
    return `alg must be one of ${ALGORITHMS_OF[kind].join(", ")}`;
  }
  try {
    await importJWK(k, ALGORITHMS_OF[kind][0]);
  } catch {
    return "not a valid public key";
  }
  return null;
}

/**
 * Checks a `jwks` argument; returns the per-field problems keyed as `details` names them
 * (`jwks`, `jwks.keys`, `jwks.keys.<index>`), empty when the set is acceptable.
 */
export async function jwksProblems(value: unknown, field = "jwks"): Promise<Record<string, string>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { [field]: 'must be a JWK set {"keys": [...]}' };
  }
  const keys = (value as Record<string, unknown>).keys;
  if (!Array.isArray(keys)) return { [`${field}.keys`]: "must be a list of JWKs" };
  if (keys.length > CLIENT_JWKS_MAX_KEYS)
    return { [`${field}.keys`]: `at most ${CLIENT_JWKS_MAX_KEYS} keys` };
  const problems: Record<string, string> = {};
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    const problem = await keyProblem(key);
    if (problem !== null) {
      problems[`${field}.keys.${i}`] = problem;
      continue;
    }
    const kid = (key as { kid: string }).kid;
    if (kids.has(kid)) problems[`${field}.keys.${i}`] = "duplicate kid";
    kids.add(kid);
  }
  return problems;
}

/** The stored form: public members as sent (already validated), nothing else added. */
export function toClientJwks(value: unknown): ClientJwks {
  const keys = (value as { keys: Array<Record<string, unknown>> }).keys;
  return { keys: keys.map((k) => ({ ...k })) };
}
