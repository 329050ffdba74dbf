/**
 * The store-backed rate limiter (api.md §2.8, storage.md §3 `rl:*`) against both engines.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { configObjectSchema } from "../../src/config/schema.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import {
  createRateLimiter,
  hashSubject,
  type RateLimiter,
  retryAfterSeconds,
} from "../../src/services/rate-limit.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { waitFor } from "../support/redis-server.ts";
import { manualClock, rejection, storeEngines } from "./support.ts";

function rateLimits(input: Record<string, unknown> = {}) {
  return { rateLimits: configObjectSchema.shape.rateLimits.parse(input) };
}

/** The schema's smallest window is 1 s; the window tests use 200 ms to stay fast. */
function shortWindows() {
  const config = rateLimits({
    exchangeUser: { limit: 2, windowSeconds: 1 },
    lockout: { maxFailures: 1, windowSeconds: 1 },
  });
  config.rateLimits.exchangeUser.windowSeconds = 0.2;
  config.rateLimits.lockout.windowSeconds = 0.2;
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

  it("Retry-After is the window rest rounded up, at least 1", () => {
    expect([0, 1, 999, 1000, 1001, 59_500, 60_000].map(retryAfterSeconds)).toEqual([1, 1, 1, 1, 2, 60, 60]);
  });

  it("config defaults match api.md §2.8", () => {
    const { rateLimits: d } = rateLimits();
    expect(d.enabled).toBe(true);
    expect(d.signInIp).toEqual({ limit: 5, windowSeconds: 60 });
    expect(d.oobSendEmail).toEqual({ limit: 3, windowSeconds: 3600 });
    expect(d.exchangeUser).toEqual({ limit: 60, windowSeconds: 60 });
    expect(d.lockout).toEqual({ maxFailures: 10, windowSeconds: 900 });
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
        const retry = Number(err.headers?.["Retry-After"]);
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

    it("the window ends: a short window lets the subject in again", async () => {
      const limiter = createRateLimiter(kv, shortWindows(), metrics, manualClock());
      await limiter.check("exchangeUser", "user-1");
      await limiter.check("exchangeUser", "user-1");
      const err = await rejection(limiter.check("exchangeUser", "user-1"));
      expect(err.headers).toEqual({ "Retry-After": "1" });
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
      });
      for (let i = 0; i < 20; i++) {
        await limiter.check("signInIp", "198.51.100.1");
        await limiter.recordFailure("a@example.com");
      }
      expect(await limiter.isLockedOut("a@example.com")).toBe(false);
      await limiter.checkLockout("a@example.com");
      await limiter.clearFailures("a@example.com");
      expect(await rlKeys(kv)).toEqual([]);
      expect(metrics.rateLimited.get({ bucket: "signInIp" })).toBe(0);
    });

    it("lockout: maxFailures failures lock the (normalised) email for the window; success clears", async () => {
      const limiter = make({ lockout: { maxFailures: 3, windowSeconds: 900 } });
      await limiter.recordFailure("Bob@Example.com");
      await limiter.recordFailure(" bob@example.com");
      expect(await limiter.isLockedOut("bob@example.com")).toBe(false);
      await limiter.checkLockout("bob@example.com");
      await limiter.recordFailure("BOB@EXAMPLE.COM");
      expect(await limiter.isLockedOut("bob@example.com")).toBe(true);
      expect(await limiter.isLockedOut("other@example.com")).toBe(false);
      const err = await rejection(limiter.checkLockout("  Bob@example.com"));
      expect(err.code).toBe("RATE_LIMITED");
      expect(Number(err.headers?.["Retry-After"])).toBeGreaterThanOrEqual(898);
      expect(Number(err.headers?.["Retry-After"])).toBeLessThanOrEqual(900);
      expect(metrics.rateLimited.get({ bucket: "lockout" })).toBe(1);
      expect(await rlKeys(kv)).toEqual([keys.rateLimit("lockout", await hashSubject("bob@example.com"))]);

      await limiter.clearFailures("Bob@Example.com");
      expect(await limiter.isLockedOut("bob@example.com")).toBe(false);
      expect(await rlKeys(kv)).toEqual([]);
    });

    it("lockout ends with its window", async () => {
      const limiter = createRateLimiter(kv, shortWindows(), metrics, manualClock());
      await limiter.recordFailure("c@example.com");
      expect(await limiter.isLockedOut("c@example.com")).toBe(true);
      expect(await waitFor(async () => !(await limiter.isLockedOut("c@example.com")), 3_000)).toBe(true);
    });
  });
}
