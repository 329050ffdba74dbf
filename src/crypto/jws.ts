/**
 * Compact JWS (RFC 7515 §7.1) building blocks shared by the idToken (HS256) and access-token
 * (RS256) code: strict base64url, the three-segment split, JSON-object header and payload, and the
 * two signature primitives on Web Crypto keys imported once at start-up.
 */
import { timingSafeEqualBytes } from "./compare.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const B64URL = /^[A-Za-z0-9_-]*$/;

/** A check of a token failed; `reason` is for logs (idTokens) or `details.reason` (access tokens). */
export class TokenCheckFailed extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`token rejected: ${reason}`);
    this.name = "TokenCheckFailed";
    this.reason = reason;
  }
}

/** RFC 7515 §2 base64url; the implementation lives in src/bytes.ts. */
import { fromBase64Url as base64UrlDecode, toBase64Url as base64UrlEncode } from "../bytes.ts";

export { base64UrlDecode, base64UrlEncode };

export interface CompactJws {
  header: Record<string, unknown>;
  /** The payload segment, decoded later (after the signature where the procedure says so). */
  payloadSegment: string;
  /** ASCII(BASE64URL(header) || "." || BASE64URL(payload)). */
  signingInput: Uint8Array;
  signature: Uint8Array;
}

/** Three base64url segments and a JSON-object header; undefined when the token is malformed. */
export function parseCompactJws(token: string): CompactJws | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  if (h === "" || !B64URL.test(p)) return undefined;
  const header = decodeJsonObject(h);
  const signature = base64UrlDecode(s);
  if (!header || !signature || signature.length === 0) return undefined;
  return { header, payloadSegment: p, signingInput: encoder.encode(`${h}.${p}`), signature };
}

/** A base64url segment holding a UTF-8 JSON object; undefined otherwise. */
export function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  const bytes = base64UrlDecode(segment);
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `BASE64URL(JSON(header)) . BASE64URL(JSON(payload))`: key order is the objects' insertion order. */
export function encodeSigningInput(header: object, payload: object): string {
  return `${base64UrlEncode(JSON.stringify(header))}.${base64UrlEncode(JSON.stringify(payload))}`;
}

/** An HMAC-SHA256 key for signing (verification recomputes and compares in constant time). */
export function importHs256Key(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

export async function hs256Sign(key: CryptoKey, signingInput: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, signingInput as Uint8Array<ArrayBuffer>));
}

/**
 * HMAC-SHA256 over a signing input with the idToken secret. The default is Web Crypto; a runtime
 * may inject a synchronous one (src/runtime/hmac-node.ts) so that token checks never queue behind
 * password hashes on a shared thread pool (docs/benchmarks.md).
 */
export type Hs256Mac = (signingInput: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export function webCryptoHs256Mac(key: CryptoKey): Hs256Mac {
  return (signingInput) => hs256Sign(key, signingInput);
}

/** docs/spec/tokens.md §4.1 V2: the MAC is recomputed and compared in constant time. */
export async function hs256SignatureValid(mac: Hs256Mac, jws: CompactJws): Promise<boolean> {
  return timingSafeEqualBytes(await mac(jws.signingInput), jws.signature);
}

export function isInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

/**
 * The access-token algorithms (docs/spec/tokens.md §1): the signing key's type fixes which one —
 * RSA → RS256, EC P-256 → ES256, Ed25519 → EdDSA.
 */
export const ACCESS_TOKEN_ALGS = ["RS256", "ES256", "EdDSA"] as const;
export type AccessTokenAlg = (typeof ACCESS_TOKEN_ALGS)[number];

/** Web Crypto parameters of each algorithm's sign/verify (ECDSA signatures are raw r‖s, as JWS wants). */
const JWS_PARAMS: Record<AccessTokenAlg, AlgorithmIdentifier | EcdsaParams> = {
  RS256: "RSASSA-PKCS1-v1_5",
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: "Ed25519",
};

/** The JWS `alg` a Web Crypto key signs or verifies with, or undefined for any other key. */
export function jwsAlgOfKey(key: CryptoKey): AccessTokenAlg | undefined {
  const algorithm = key.algorithm as KeyAlgorithm & { namedCurve?: string; hash?: { name?: string } };
  if (algorithm.name === "RSASSA-PKCS1-v1_5") return algorithm.hash?.name === "SHA-256" ? "RS256" : undefined;
  if (algorithm.name === "ECDSA") return algorithm.namedCurve === "P-256" ? "ES256" : undefined;
  if (algorithm.name === "Ed25519") return "EdDSA";
  return undefined;
}

export async function jwsSign(
  alg: AccessTokenAlg,
  key: CryptoKey,
  signingInput: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(JWS_PARAMS[alg], key, signingInput as Uint8Array<ArrayBuffer>),
  );
}

/** Verifies under `key` with the key's own algorithm; false for a key of no access-token algorithm. */
export async function jwsSignatureValid(key: CryptoKey, jws: CompactJws): Promise<boolean> {
  const alg = jwsAlgOfKey(key);
  if (alg === undefined) return false;
  try {
    return await crypto.subtle.verify(
      JWS_PARAMS[alg],
      key,
      jws.signature as Uint8Array<ArrayBuffer>,
      jws.signingInput as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}
