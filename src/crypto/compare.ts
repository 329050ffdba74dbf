/**
 * Constant-time comparison of secrets: both sides are hashed with SHA-256 first, so the comparison
 * time depends neither on where the values differ nor on their lengths.
 */
import { sha256 } from "../bytes.ts";

const encoder = new TextEncoder();

/** SHA-256 helpers live in src/bytes.ts; re-exported for the callers of this module. */
export { sha256, sha256Hex } from "../bytes.ts";

export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  // Bytes are 0–255: a missing one (impossible, the lengths are equal) sets a bit above them, so it
  // can only count as a difference, without a branch on secret data.
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0x100) ^ (b[i] ?? 0x200);
  return diff === 0;
}

/** A synchronous SHA-256 a runtime may supply (node:crypto on Bun and Node). */
export type Sha256Sync = (data: Uint8Array) => Uint8Array;

/**
 * A checker bound to one secret whose digest is computed once. With `sha256Sync` the candidate's
 * digest is computed in place: Web Crypto's digest hops to a thread pool (~40 µs of latency per
 * API-key check on Node, docs/benchmarks.md) for a 32-byte hash.
 */
export function secretMatcher(
  secret: string,
  sha256Sync?: Sha256Sync,
): (candidate: string) => Promise<boolean> {
  if (sha256Sync) {
    const expected = sha256Sync(encoder.encode(secret));
    return async (candidate) => timingSafeEqualBytes(sha256Sync(encoder.encode(candidate)), expected);
  }
  const expected = sha256(secret);
  return async (candidate) => timingSafeEqualBytes(await sha256(candidate), await expected);
}
