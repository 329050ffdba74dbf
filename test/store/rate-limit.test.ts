/**
 * The store-backed rate limiter (docs/spec/api.md §2.8, docs/spec/storage.md §3 `rl:*`) against both engines.
 */
import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { configObjectSchema } from "../../src/config/schema.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import {
  createRateLimiter,
  hashSubject,
  hashSubjectSync,
  lockoutSubject,
  type RateLimiter,
  retryAfterSeconds,
} from "../../src/services/rate-limit.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { waitFor } from "../support/redis-server.ts";
import { manualClock, rejection, storeEngines } from "./support.ts";

const IP_A = "203.0.113.66";
const IP_B = "198.51.100.9";

function rateLimits(input: Record<string, unknown> = {}) {
  return { rateLimits: configObjectSchema.shape.rateLimits.parse(input) };
}

/** The schema's smallest window is 1 s; the window tests use 200 ms to stay fast. */
function shortWindows() {
  const config = rateLimits({
    exchangeUser: { limit: 2, windowSeconds: 1 },
    lockout: { maxFailures: 1, windowSeconds: 1 },
    lockoutEmail: { maxFailures: 1, windowSeconds: 1 },
  });
  config.rateLimits.exchangeUser.windowSeconds = 0.2;
  config.rateLimits.lockout.windowSeconds = 0.2;
  config.rateLimits.lockoutEmail.windowSeconds = 0.2;
  return config;
}

async function rlKeys(kv: KV): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of kv.scan("rl:")) out.push(...batch);
  return out.sort();
}

describe("rate-limit helpers", () => {
  it("hashSubject is the first 32 hex chars of SHA-256 (known answer and a negative twin)", async () => {
    expect(await hashSubject("abc")).toBe("ba7816bf8f01cfea414140de5dae2223");
    expect(await hashSubject("abd")).not.toBe("ba7816bf8f01cfea414140de5dae2223");
    expect(await hashSubject("")).toBe("e3b0c44298fc1c149afbf4c8996fb924");
  });

  it("hashSubjectSync gives hashSubject's answer with a synchronous SHA-256 (known answers)", () => {
    const hash = hashSubjectSync((data) => new Uint8Array(createHash("sha256").update(data).digest()));
    expect(hash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223");
    expect(hash("")).toBe("e3b0c44298fc1c149afbf4c8996fb924");
    expect(hash("abd")).not.toBe("ba7816bf8f01cfea414140de5dae2223");
  });

  it("Retry-After is the window rest rounded up, at least 1", () => {
    expect([0, 1, 999, 1000, 1001, 59_500, 60_000].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 60, 60]);
  });

  it("config defaults match docs/spec/api.md §2.8", () => {
    const { rateLimits: d } = rateLimits();
    expect(d.enabled).toBe(true);
    expect(d.signInIp).toEqual({ limit: 5, windowSeconds: 60 });
    expect(d.oobSendEmail).toEqual({ limit: 3, windowSeconds: 3600 });
    expect(d.exchangeUser).toEqual({ limit: 60, windowSeconds: 60 });
    expect(d.lockout).toEqual({ maxFailures: 10, windowSeconds: 900 });
    expect(d.lockoutEmail).toEqual({ maxFailures: 100, windowSeconds: 900 });
  });
});

const engines = storeEngines();

for (const engine of engines) {
  describe(`rate limiter [${engine.name}]`, () => {
    let kv: KV;
    let metrics: Metrics;
    const make = (input: Record<string, unknown> = {}): RateLimiter =>
      createRateLimiter(kv, rateLimits(input), metrics, manualClock());

    beforeEach(async () => {
      await engine.wipe();
      kv = engine.kv;
      metrics = createMetrics();
    });

    it("allows `limit` hits per window, then 429 RATE_LIMITED with Retry-After and a metric", async () => {
      const limiter = make();
      for (let i = 0; i < 5; i++) await limiter.check("signInIp", "203.0.113.7");
      for (let i = 0; i < 2; i++) {
        const err = await rejection(limiter.check("signInIp", "203.0.113.7"));
        expect([err.code, err.status]).toEqual(["RATE_LIMITED", 429]);
        const retry = err.retryAfterSeconds ?? Number.NaN;
        expect(retry).toBeGreaterThanOrEqual(58);
        expect(retry).toBeLessThanOrEqual(60);
      }
      expect(metrics.rateLimited.get({ bucket: "signInIp" })).toBe(2);
      // Other subjects and other buckets have their own counters.
      await limiter.check("signInIp", "203.0.113.8");
      await limiter.check("signInEmail", "203.0.113.7");
      expect(metrics.rateLimited.get({ bucket: "signInEmail" })).toBe(0);
    });

    it("keys are rl:{bucket}:{32 hex}, never the raw subject", async () => {
      const limiter = make();
      await limiter.check("oobSendEmail", "alice@example.com");
      await limiter.check("samlIp", "2001:db8::1");
      expect(await rlKeys(kv)).toEqual(
        [
          keys.rateLimit("oobSendEmail", await hashSubject("alice@example.com")),
          keys.rateLimit("samlIp", await hashSubject("2001:db8::1")),
        ].sort(),
      );
      for (const key of await rlKeys(kv)) {
        expect(key).toMatch(/^rl:[A-Za-z]+:[0-9a-f]{32}$/);
        expect(key).not.toContain("alice");
      }
      expect(
        await kv.pttl(keys.rateLimit("oobSendEmail", await hashSubject("alice@example.com"))),
      ).toBeGreaterThan(3_590_000);
    });

    it("with the runtime's synchronous SHA-256 every hashed subject uses it, and the keys stay the same", async () => {
      const hashed: string[] = [];
      const sha256Sync = (data: Uint8Array) => {
        hashed.push(new TextDecoder().decode(data));
        return new Uint8Array(createHash("sha256").update(data).digest());
      };
      const limiter = createRateLimiter(kv, rateLimits(), metrics, manualClock(), sha256Sync);
      await limiter.check("exchangeUser", "user-1");
      await limiter.countFailure("oauthAuthFailIp", IP_A);
      await limiter.checkFailureBudget("oauthAuthFailIp", IP_A);
      await limiter.recordFailure("Bob@Example.com", IP_B);
      expect(await limiter.isLockedOut("bob@example.com", IP_B)).toBe(false);
      expect(hashed).toEqual([
        "user-1",
        IP_A,
        IP_A,
        lockoutSubject("bob@example.com", IP_B),
        "bob@example.com",
        lockoutSubject("bob@example.com", IP_B),
        "bob@example.com",
      ]);
      expect(await rlKeys(kv)).toEqual(
        [
          keys.rateLimit("exchangeUser", await hashSubject("user-1")),
          keys.rateLimit("oauthAuthFailIp", await hashSubject(IP_A)),
          keys.rateLimit("lockout", await hashSubject(lockoutSubject("bob@example.com", IP_B))),
          keys.rateLimit("lockoutEmail", await hashSubject("bob@example.com")),
        ].sort(),
      );
    });

    it("the window ends: a short window lets the subject in again", async () => {
      const limiter = createRateLimiter(kv, shortWindows(), metrics, manualClock());
      await limiter.check("exchangeUser", "user-1");
      await limiter.check("exchangeUser", "user-1");
      const err = await rejection(limiter.check("exchangeUser", "user-1"));
      expect(err.retryAfterSeconds).toBe(1);
      const key = keys.rateLimit("exchangeUser", await hashSubject("user-1"));
      expect(await waitFor(async () => !(await kv.exists(key)), 3_000)).toBe(true);
      await limiter.check("exchangeUser", "user-1");
      await limiter.check("exchangeUser", "user-1");
      expect((await rejection(limiter.check("exchangeUser", "user-1"))).code).toBe("RATE_LIMITED");
    });

    it("rateLimits.enabled: false switches every bucket and the lockout off", async () => {
      const limiter = make({
        enabled: false,
        signInIp: { limit: 1, windowSeconds: 60 },
        lockout: { maxFailures: 1 },
        lockoutEmail: { maxFailures: 1 },
      });
      for (let i = 0; i < 20; i++) {
        await limiter.check("signInIp", "198.51.100.1");
        await limiter.recordFailure("a@example.com", IP_A);
      }
      expect(await limiter.isLockedOut("a@example.com", IP_A)).toBe(false);
      await limiter.checkLockout("a@example.com", IP_A);
      await limiter.clearFailures("a@example.com", IP_A, { alsoEmailCeiling: true });
      expect(await rlKeys(kv)).toEqual([]);
      expect(metrics.rateLimited.get({ bucket: "signInIp" })).toBe(0);
    });

    it("lockout: maxFailures failures lock the (normalised) email for that address only; success clears", async () => {
      const limiter = make({ lockout: { maxFailures: 3, windowSeconds: 900 } });
      await limiter.recordFailure("Bob@Example.com", IP_A);
      await limiter.recordFailure(" bob@example.com", IP_A);
      expect(await limiter.isLockedOut("bob@example.com", IP_A)).toBe(false);
      await limiter.checkLockout("bob@example.com", IP_A);
      await limiter.recordFailure("BOB@EXAMPLE.COM", IP_A);
      expect(await limiter.isLockedOut("bob@example.com", IP_A)).toBe(true);
      // The owner elsewhere and other emails from the attacker's address are not locked.
      expect(await limiter.isLockedOut("bob@example.com", IP_B)).toBe(false);
      await limiter.checkLockout("bob@example.com", IP_B);
      expect(await limiter.isLockedOut("other@example.com", IP_A)).toBe(false);
      const err = await rejection(limiter.checkLockout("  Bob@example.com", IP_A));
      expect(err.code).toBe("RATE_LIMITED");
      expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(898);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(900);
      expect(metrics.rateLimited.get({ bucket: "lockout" })).toBe(1);
      const perAddress = keys.rateLimit(
        "lockout",
        await hashSubject(lockoutSubject("bob@example.com", IP_A)),
      );
      const perEmail = keys.rateLimit("lockoutEmail", await hashSubject("bob@example.com"));
      expect(await rlKeys(kv)).toEqual([perAddress, perEmail].sort());
      expect(await kv.get(perEmail)).toBe("3");

      // A success clears that address's counter, not the per-email ceiling.
      await limiter.clearFailures("Bob@Example.com", IP_A);
      expect(await limiter.isLockedOut("bob@example.com", IP_A)).toBe(false);
      expect(await rlKeys(kv)).toEqual([perEmail]);
      await limiter.clearFailures("Bob@Example.com", IP_A, { alsoEmailCeiling: true });
      expect(await rlKeys(kv)).toEqual([]);
    });

    it("lockoutEmail: failures from many addresses trip the per-email ceiling everywhere", async () => {
      const limiter = make({
        lockout: { maxFailures: 3, windowSeconds: 900 },
        lockoutEmail: { maxFailures: 6, windowSeconds: 600 },
      });
      // Two failures from each of three addresses: no address reaches 3, the email reaches 6
      // (1, 3, 5 after each address's first failure: not yet locked).
      for (const ip of [IP_A, IP_B, "2001:db8::7"]) {
        await limiter.recordFailure("carol@example.com", ip);
        expect(await limiter.isLockedOut("carol@example.com", "198.51.100.200")).toBe(false);
        await limiter.recordFailure("carol@example.com", ip);
      }
      // Locked for an address that never failed; other emails are untouched.
      expect(await limiter.isLockedOut("carol@example.com", "198.51.100.200")).toBe(true);
      expect(await limiter.isLockedOut("dave@example.com", IP_A)).toBe(false);
      const err = await rejection(limiter.checkLockout("Carol@example.com", "198.51.100.200"));
      expect(err.code).toBe("RATE_LIMITED");
      expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(598);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(600);
      expect(metrics.rateLimited.get({ bucket: "lockoutEmail" })).toBe(1);
      // A success from one address does not lift the ceiling.
      await limiter.clearFailures("carol@example.com", IP_A);
      expect(await limiter.isLockedOut("carol@example.com", IP_A)).toBe(true);
    });

    it("lockout ends with its window", async () => {
      const limiter = createRateLimiter(kv, shortWindows(), metrics, manualClock());
      await limiter.recordFailure("c@example.com", IP_A);
      expect(await limiter.isLockedOut("c@example.com", IP_A)).toBe(true);
      expect(await waitFor(async () => !(await limiter.isLockedOut("c@example.com", IP_A)), 3_000)).toBe(
        true,
      );
    });
  });
}
