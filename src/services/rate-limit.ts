/**
 * Store-backed rate limits (spec/api.md §2.8, spec/storage.md §3 `rl:*`): one counter per bucket
 * and subject, shared by every replica, incremented with the single-key script `RL_INCR`.
 *
 * Subjects (IPs, emails, user ids) are hashed before they reach a key: `rl:{bucket}:{hash}` with
 * the first 32 hex chars of SHA-256, so neither keys nor store dumps hold raw addresses or emails.
 * Window ends come from the counter's PTTL, i.e. from the store's clock, so replicas agree.
 */
import type { Config } from "../config/schema.ts";
import type { Clock } from "../deps.ts";
import { normaliseEmail } from "../domain/email.ts";
import { TiktiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import { keys } from "../store/keys.ts";
import type { KV } from "../store/kv.ts";

/** Counting buckets of api.md §2.8 (`lockout` has its own functions). */
export type RateLimitBucket =
  | "signInIp"
  | "signInEmail"
  | "oobSignInIp"
  | "oobSignInEmail"
  | "oobSendEmail"
  | "signUpIp"
  | "exchangeUser"
  | "samlIp";

export const LOCKOUT_BUCKET = "lockout";

export interface RateLimiter {
  /**
   * Counts one hit of `subject` (client IP, normalised email or user id) in `bucket`; over the
   * bucket's limit → `429 RATE_LIMITED` with `Retry-After`. Call before any password hash or
   * signature work.
   */
  check(bucket: RateLimitBucket, subject: string): Promise<void>;
  /** Counts one failed password check for the email (normalised here). */
  recordFailure(email: string): Promise<void>;
  /** True while the email has `lockout.maxFailures` failures in the current window. */
  isLockedOut(email: string): Promise<boolean>;
  /** `isLockedOut`, as `429 RATE_LIMITED` with `Retry-After` (sign-in step 1). */
  checkLockout(email: string): Promise<void>;
  /** A successful sign-in or password reset clears the failures. */
  clearFailures(email: string): Promise<void>;
}

/** First 32 hex chars of SHA-256 of the UTF-8 subject (storage.md §3). */
export async function hashSubject(subject: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(subject)));
  let hex = "";
  for (const b of digest.subarray(0, 16)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Seconds until the window ends, rounded up, at least 1 (api.md §2.8). */
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
): RateLimiter {
  const limits = config.rateLimits;
  const enabled = limits.enabled;

  const limited = (bucket: string, pttlMs: number): TiktiError => {
    metrics.rateLimited.inc({ bucket });
    return new TiktiError("RATE_LIMITED", { headers: { "Retry-After": String(retryAfterSeconds(pttlMs)) } });
  };

  const lockoutKey = async (email: string) =>
    keys.rateLimit(LOCKOUT_BUCKET, await hashSubject(normaliseEmail(email)));

  async function check(bucket: RateLimitBucket, subject: string): Promise<void> {
    if (!enabled) return;
    const { limit, windowSeconds } = limits[bucket];
    const hit = await kv.rlIncr(keys.rateLimit(bucket, await hashSubject(subject)), windowSeconds * 1000);
    if (hit.count > limit) throw limited(bucket, hit.pttlMs);
  }

  async function recordFailure(email: string): Promise<void> {
    if (!enabled) return;
    await kv.rlIncr(await lockoutKey(email), limits.lockout.windowSeconds * 1000);
  }

  /** The remaining lockout in ms, or null when not locked out. */
  async function lockoutRemainingMs(email: string): Promise<number | null> {
    if (!enabled) return null;
    const key = await lockoutKey(email);
    const count = Number(await kv.get(key));
    if (!Number.isFinite(count) || count < limits.lockout.maxFailures) return null;
    const pttl = await kv.pttl(key);
    if (pttl === -2) return null; // expired between the two reads
    // -1 (no TTL) cannot come from RL_INCR; treat it as a full window rather than forever.
    return pttl === -1 ? limits.lockout.windowSeconds * 1000 : pttl;
  }

  async function isLockedOut(email: string): Promise<boolean> {
    return (await lockoutRemainingMs(email)) !== null;
  }

  async function checkLockout(email: string): Promise<void> {
    const remaining = await lockoutRemainingMs(email);
    if (remaining !== null) throw limited(LOCKOUT_BUCKET, remaining);
  }

  async function clearFailures(email: string): Promise<void> {
    if (!enabled) return;
    await kv.del(await lockoutKey(email));
  }

  return { check, recordFailure, isLockedOut, checkLockout, clearFailures };
}
