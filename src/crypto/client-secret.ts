/**
 * Client secrets (docs/spec/oauth.md §2, docs/spec/storage.md §2.1): 32 random bytes, base64url without padding
 * (43 characters), shown once. New secrets are stored as `sha256:<64 lowercase hex>` of their UTF-8
 * bytes: a 256-bit random secret cannot be guessed, so a password hash adds nothing but cost, and a
 * token request must never pay for one (docs/adr/0040-oauth-client-authentication.md).
 *
 * Go Tikti stored bcrypt (cost 10). Those hashes still verify — in-process with the portable engine
 * (hash-wasm, identical on Bun, Deno and Node), once per client — and the caller then rewrites the
 * record as `sha256:` (docs/spec/oauth.md §2, compare-and-set).
 */

import { toBase64Url as base64Url, toHex as hex, fromHex as hexToBytes, sha256 } from "../bytes.ts";
import { type Sha256Sync, timingSafeEqualBytes } from "./compare.ts";
import { parsePasswordHash } from "./password.ts";
import { portablePasswordEngine } from "./password-portable.ts";

export const CLIENT_SECRET_BYTES = 32;
export const SHA256_SECRET_PREFIX = "sha256:";
const SHA256_HASH = /^sha256:[0-9a-f]{64}$/;

/** The outcome of checking a presented secret against a stored hash. */
export type SecretCheck = "mismatch" | "match" | "match-legacy";

/** What the tenancy service and client authentication need; injectable for tests and tools. */
export interface ClientSecrets {
  /** A new secret: 43 characters of base64url. */
  generate(): string;
  /** `sha256:<hex>` of the secret's UTF-8 bytes. */
  hash(secret: string): Promise<string>;
  /**
   * `match` for a `sha256:` hash, `match-legacy` for a bcrypt hash (the caller upgrades it),
   * `mismatch` otherwise — also for an empty secret or an unknown hash format (fail closed).
   */
  check(secret: string, secretHash: string): Promise<SecretCheck>;
}

export function generateClientSecret(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(CLIENT_SECRET_BYTES)));
}

export async function hashClientSecret(secret: string): Promise<string> {
  return SHA256_SECRET_PREFIX + hex(await sha256(secret));
}

/** True for a `sha256:` hash in the canonical form this release writes. */
export function isSha256SecretHash(secretHash: string): boolean {
  return SHA256_HASH.test(secretHash);
}

/**
 * `sha256Sync`: the runtime's synchronous SHA-256 (Bun, Node), used instead of Web Crypto's
 * asynchronous digest, which costs a thread-pool job per token request on Node.
 */
export async function checkClientSecret(
  secret: string,
  secretHash: string,
  sha256Sync?: Sha256Sync,
): Promise<SecretCheck> {
  if (secret === "" || secretHash === "") return "mismatch";
  if (isSha256SecretHash(secretHash)) {
    const expected = hexToBytes(secretHash.slice(SHA256_SECRET_PREFIX.length));
    const presented = sha256Sync ? sha256Sync(new TextEncoder().encode(secret)) : await sha256(secret);
    return timingSafeEqualBytes(presented, expected) ? "match" : "mismatch";
  }
  const parsed = parsePasswordHash(secretHash);
  if (parsed?.scheme !== "bcrypt") return "mismatch";
  return (await portablePasswordEngine.verify(new TextEncoder().encode(secret), parsed))
    ? "match-legacy"
    : "mismatch";
}

/** True when `secret` matches the stored hash, whatever its scheme. */
export async function verifyClientSecret(secret: string, secretHash: string): Promise<boolean> {
  return (await checkClientSecret(secret, secretHash)) !== "mismatch";
}

export const portableClientSecrets: ClientSecrets = {
  generate: generateClientSecret,
  hash: hashClientSecret,
  check: checkClientSecret,
};
