/**
 * Store-backed rate limits (docs/spec/api.md §2.8, docs/spec/storage.md §3 `rl:*`): one counter per bucket
 * and subject, shared by every replica, incremented with the single-key script `RL_INCR`.
 *
 * Subjects (IPs, emails, user ids) are hashed before they reach a key: `rl:{bucket}:{hash}` with
 * the first 32 hex chars of SHA-256, so neither keys nor store dumps hold raw addresses or emails.
 * Window ends come from the counter's PTTL, i.e. from the store's clock, so replicas agree.
 */

import { toHex } from "../bytes.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config/schema.ts";
import type { Sha256Sync } from "../crypto/compare.ts";
import { normaliseEmail } from "../domain/email.ts";
import { TiktiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import { keys } from "../store/keys.ts";
import type { KV } from "../store/kv.ts";

/** Counting buckets of docs/spec/api.md §2.8 (`lockout` and `lockoutEmail` have their own functions). */
export type RateLimitBucket =
  | "signInIp"
  | "signInEmail"
  | "oobSignInIp"
  | "oobSignInEmail"
  | "oobSendEmail"
  | "signUpIp"
  | "exchangeUser"
  | "samlIp"
  | "refreshIp"
  | "oauthClient"
  | "oauthAuthFailIp";

export const LOCKOUT_BUCKET = "lockout";
/** The per-email ceiling against distributed guessing (docs/spec/api.md §2.8 `lockoutEmail`). */
export const LOCKOUT_EMAIL_BUCKET = "lockoutEmail";

/**
 * The `lockout` subject: address and normalised email. An IP never contains a newline, so the first
 * newline splits the pair unambiguously whatever a legacy email holds.
 */
export function lockoutSubject(email: string, clientIp: string): string {
  return `${clientIp}\n${normaliseEmail(email)}`;
}

export interface RateLimiter {
  /**
   * Counts one hit of `subject` (client IP, normalised email or user id) in `bucket`; over the
   * bucket's limit → `429 RATE_LIMITED` with `Retry-After`. Call before any password hash or
   * signature work.
   */
  check(bucket: RateLimitBucket, subject: string): Promise<void>;
  /**
   * A failure budget (docs/spec/oauth.md §2 `oauthAuthFailIp`): `429 RATE_LIMITED` once `subject` has `limit`
   * failures counted in the current window, without counting this request.
   */
  checkFailureBudget(bucket: RateLimitBucket, subject: string): Promise<void>;
  /** Counts one failure against `bucket`'s budget for `subject`. */
  countFailure(bucket: RateLimitBucket, subject: string): Promise<void>;
  /**
   * Counts one failed password check for the email (normalised here) from `clientIp`: once in the
   * `lockout` bucket of that email and address, once in the `lockoutEmail` ceiling of the email.
   */
  recordFailure(email: string, clientIp: string): Promise<void>;
  /**
   * True while the email is locked for `clientIp`: `lockout.maxFailures` failures from that address
   * or `lockoutEmail.maxFailures` from all addresses in the current window.
   */
  isLockedOut(email: string, clientIp: string): Promise<boolean>;
  /** `isLockedOut`, as `429 RATE_LIMITED` with `Retry-After` (sign-in step 1). */
  checkLockout(email: string, clientIp: string): Promise<void>;
  /**
   * A successful sign-in clears the failures of that email from that address only: the
   * per-email ceiling keeps counting down with its window, so an attacker cannot reset it by
   * waiting for the owner to sign in. `alsoEmailCeiling` (a password reset: the password the
   * failures guessed at is gone) clears the ceiling too.
   */
  clearFailures(email: string, clientIp: string, options?: { alsoEmailCeiling?: boolean }): Promise<void>;
}

/** First 32 hex chars of SHA-256 of the UTF-8 subject (docs/spec/storage.md §3). */
export async function hashSubject(subject: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(subject)));
  let hex = "";
  for (const b of digest.subarray(0, 16)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * `hashSubject` computed in place with the runtime's synchronous SHA-256: Web Crypto's digest is an
 * asynchronous job (on Node a thread-pool hop, 3.5–7 % of an exchange's CPU profile in
 * test/bench/profiles/) for a 16-byte key part. Same result as `hashSubject`.
 */
export function hashSubjectSync(sha256Sync: Sha256Sync): (subject: string) => string {
  const encoder = new TextEncoder();
  return (subject) => toHex(sha256Sync(encoder.encode(subject)).subarray(0, 16));
}

/** Seconds until the window ends, rounded up, at least 1 (docs/spec/api.md §2.8). */
export function retryAfterSeconds(pttlMs: number): number {
  return Math.max(1, Math.ceil(pttlMs / 1000));
}

export function createRateLimiter(
  kv: KV,
  config: { rateLimits: Config["rateLimits"] },
  metrics: Pick<Metrics, "rateLimited">,
  // Time comes from the counters' PTTL (the store's clock, shared by all replicas); the clock is
  // part of the signature so callers wire every service the same way.
  _clock: Clock,
  /** The runtime's synchronous SHA-256 (Bun, Node); without it Web Crypto's. */
  sha256Sync?: Sha256Sync,
): RateLimiter {
  const limits = config.rateLimits;
  const syncHash = sha256Sync ? hashSubjectSync(sha256Sync) : undefined;
  const subjectHash = (subject: string): string | Promise<string> =>
    syncHash ? syncHash(subject) : hashSubject(subject);
  const enabled = limits.enabled;

  const limited = (bucket: string, pttlMs: number): TiktiError => {
    metrics.rateLimited.inc({ bucket });
    return new TiktiError("RATE_LIMITED", { retryAfterSeconds: retryAfterSeconds(pttlMs) });
  };

  const lockoutKey = async (email: string, clientIp: string) =>
    keys.rateLimit(LOCKOUT_BUCKET, await subjectHash(lockoutSubject(email, clientIp)));
  const lockoutEmailKey = async (email: string) =>
    keys.rateLimit(LOCKOUT_EMAIL_BUCKET, await subjectHash(normaliseEmail(email)));

  async function count(bucket: RateLimitBucket, hash: string): Promise<void> {
    const { limit, windowSeconds } = limits[bucket];
    const hit = await kv.rlIncr(keys.rateLimit(bucket, hash), windowSeconds * 1000);
    if (hit.count > limit) throw limited(bucket, hit.pttlMs);
  }

  function check(bucket: RateLimitBucket, subject: string): Promise<void> {
    if (!enabled) return Promise.resolve();
    // With a synchronous hash the increment is issued within this call, so a caller's reads issued
    // right after it travel in the same Redis pipeline (the exchange's second round trip).
    const hash = subjectHash(subject);
    return typeof hash === "string" ? count(bucket, hash) : hash.then((h) => count(bucket, h));
  }

  async function checkFailureBudget(bucket: RateLimitBucket, subject: string): Promise<void> {
    if (!enabled) return;
    const { limit, windowSeconds } = limits[bucket];
    const key = keys.rateLimit(bucket, await subjectHash(subject));
    const count = Number(await kv.get(key));
    if (!Number.isFinite(count) || count < limit) return;
    const pttl = await kv.pttl(key);
    if (pttl === -2) return; // the window ended between the two reads
    throw limited(bucket, pttl === -1 ? windowSeconds * 1000 : pttl);
  }

  async function countFailure(bucket: RateLimitBucket, subject: string): Promise<void> {
    if (!enabled) return;
    await kv.rlIncr(keys.rateLimit(bucket, await subjectHash(subject)), limits[bucket].windowSeconds * 1000);
  }

  async function recordFailure(email: string, clientIp: string): Promise<void> {
    if (!enabled) return;
    await kv.rlIncr(await lockoutKey(email, clientIp), limits.lockout.windowSeconds * 1000);
    await kv.rlIncr(await lockoutEmailKey(email), limits.lockoutEmail.windowSeconds * 1000);
  }

  /** The remaining lock of one counter in ms, or null when it is below `maxFailures`. */
  async function remainingMs(key: string, rule: { maxFailures: number; windowSeconds: number }) {
    const count = Number(await kv.get(key));
    if (!Number.isFinite(count) || count < rule.maxFailures) return null;
    const pttl = await kv.pttl(key);
    if (pttl === -2) return null; // expired between the two reads
    // -1 (no TTL) cannot come from RL_INCR; treat it as a full window rather than forever.
    return pttl === -1 ? rule.windowSeconds * 1000 : pttl;
  }

  /** The bucket that locks the email for this address and the remaining ms, or null. */
  async function lockedBy(email: string, clientIp: string): Promise<{ bucket: string; ms: number } | null> {
    if (!enabled) return null;
    const perAddress = await remainingMs(await lockoutKey(email, clientIp), limits.lockout);
    const perEmail = await remainingMs(await lockoutEmailKey(email), limits.lockoutEmail);
    // Both locked: the later end is when a retry can succeed.
    if (perEmail !== null && (perAddress === null || perEmail > perAddress)) {
      return { bucket: LOCKOUT_EMAIL_BUCKET, ms: perEmail };
    }
    return perAddress === null ? null : { bucket: LOCKOUT_BUCKET, ms: perAddress };
  }

  async function isLockedOut(email: string, clientIp: string): Promise<boolean> {
    return (await lockedBy(email, clientIp)) !== null;
  }

  async function checkLockout(email: string, clientIp: string): Promise<void> {
    const locked = await lockedBy(email, clientIp);
    if (locked) throw limited(locked.bucket, locked.ms);
  }

  async function clearFailures(
    email: string,
    clientIp: string,
    options: { alsoEmailCeiling?: boolean } = {},
  ): Promise<void> {
    if (!enabled) return;
    await kv.del(await lockoutKey(email, clientIp));
    if (options.alsoEmailCeiling) await kv.del(await lockoutEmailKey(email));
  }

  return { check, checkFailureBudget, countFailure, recordFailure, isLockedOut, checkLockout, clearFailures };
}
