/**
 * The Redis engine against a real redis-server: the shared conformance suite, then what only a
 * networked engine has — script cache loss, outages, hung servers, credentials and db selection.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTiktiError, type TiktiError } from "../../../src/errors.ts";
import { createLogger, silentLogger } from "../../../src/logger.ts";
import type { KV } from "../../../src/store/kv.ts";
import { createRedisStore, redisScripts } from "../../../src/store/redis.ts";
import {
  freePort,
  type RedisHandle,
  rawClient,
  startRedis,
  waitFor,
  waitForStore,
} from "../../support/redis-server.ts";
import { abortSignalTimeoutsDuring } from "../support.ts";
import { runKvConformance } from "./suite.ts";

runKvConformance("redis", async () => {
  const server = await startRedis();
  const kv = createRedisStore({ addr: server.addr, logger: silentLogger });
  await waitForStore(kv);
  return {
    kv,
    cleanup: async () => {
      await kv.close();
      await server.stop();
    },
    breakConnection: () => server.kill(),
  };
});

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

/** Awaits `p` and returns its rejection (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<TiktiError> {
  try {
    await p;
  } catch (e) {
    expect(isTiktiError(e), `expected a TiktiError, got ${String(e)}`).toBe(true);
    return e as TiktiError;
  }
  throw new Error("expected a rejection");
}

/** Every script method once, with results that show the script ran (not just "no error"). */
async function exerciseScripts(kv: KV, p: string): Promise<void> {
  await kv.set(`${p}s`, "a");
  expect(await kv.casSet(`${p}s`, "a", "b")).toBe(true);
  expect(await kv.get(`${p}s`)).toBe("b");
  expect(await kv.casHset(`${p}h`, "f", null, "1")).toBe(true);
  expect(await kv.casHset(`${p}h`, "f", "1", "2")).toBe(true);
  expect(await kv.hget(`${p}h`, "f")).toBe("2");
  expect(await kv.casDel(`${p}s`, "b")).toBe(true);
  await kv.set(`${p}c`, "once");
  expect(await kv.consume(`${p}c`)).toBe("once");
  await kv.hset(`${p}oob`, "email", "a@x.com");
  await kv.hset(`${p}oob`, "reqType", "EMAIL_SIGNIN");
  await kv.hset(`${p}oob`, "expiresAt", "2000000000");
  expect(await kv.hconsumeIf(`${p}oob`, "reqType", "EMAIL_SIGNIN")).toEqual({
    status: "CONSUMED",
    fields: new Map([
      ["email", "a@x.com"],
      ["reqType", "EMAIL_SIGNIN"],
      ["expiresAt", "2000000000"],
    ]),
  });
  expect((await kv.rlIncr(`${p}rl`, 60_000)).count).toBe(1);
  await kv.idxAdd(`${p}idx`, "t:s", "{}", 60_000);
  expect(await kv.pttl(`${p}idx`)).toBeGreaterThan(50_000);
}

async function scriptsCached(server: RedisHandle): Promise<number[]> {
  const raw = await rawClient(server);
  try {
    return (await raw.sendCommand([
      "SCRIPT",
      "EXISTS",
      ...redisScripts.map((s) => sha1(s.source)),
    ])) as number[];
  } finally {
    raw.destroy();
  }
}

describe("redis engine: scripts, outages, timeouts", () => {
  let server: RedisHandle;
  let kv: KV;
  const lines: Array<Record<string, unknown>> = [];
  const TIMEOUT_MS = 300;

  beforeAll(async () => {
    server = await startRedis();
    const logger = createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>), "debug");
    kv = createRedisStore({ addr: server.addr, timeoutMs: TIMEOUT_MS, logger });
    await waitForStore(kv);
  });
  afterAll(async () => {
    await kv?.close();
    await server?.stop();
  });

  it("an answered command leaves no timer behind (no uncancellable AbortSignal.timeout per command)", async () => {
    // Each command's deadline is a cleared setTimeout; node-redis' per-command timeout would be an
    // AbortSignal.timeout that fires (and builds a DOMException) 2 s after every command.
    const made = await abortSignalTimeoutsDuring(async () => {
      const p = `timers:${crypto.randomUUID()}:`;
      await kv.set(`${p}k`, "v");
      expect(await kv.get(`${p}k`)).toBe("v");
      expect(await kv.casSet(`${p}k`, "v", "w")).toBe(true);
    });
    expect(made).toBe(0);
  });

  it("loads every script on connect (SCRIPT LOAD) so EVALSHA hits the cache", async () => {
    expect(await waitFor(async () => (await scriptsCached(server)).every((n) => n === 1), 5_000)).toBe(true);
  });

  it("scripts keep working after SCRIPT FLUSH (NOSCRIPT → EVAL fallback)", async () => {
    const raw = await rawClient(server);
    try {
      expect(await raw.sendCommand(["SCRIPT", "FLUSH"])).toBe("OK");
    } finally {
      raw.destroy();
    }
    expect(await scriptsCached(server)).toEqual(redisScripts.map(() => 0));
    await exerciseScripts(kv, `flush:${crypto.randomUUID()}:`);
    // EVAL caches what it runs: every script ran through the fallback.
    expect(await scriptsCached(server)).toEqual(redisScripts.map(() => 1));
  });

  it("outage: calls fail fast with STORE_UNAVAILABLE; the same store recovers after a restart", async () => {
    const p = `outage:${crypto.randomUUID()}:`;
    await kv.set(`${p}k`, "before");
    const linesBefore = lines.length;
    await server.kill();
    const started = Date.now();
    for (const op of [
      () => kv.get(`${p}k`),
      () => kv.set(`${p}k`, "v"),
      () => kv.casSet(`${p}k`, null, "v"),
      () => kv.ping(),
    ]) {
      const err = await rejection(op());
      expect(err.code).toBe("STORE_UNAVAILABLE");
      expect(err.status).toBe(503);
      expect(err.retryAfterSeconds).toBe(5);
      expect(err.cause).toBeDefined();
    }
    // Offline means fail at once, not after the command deadline.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 4);

    // Let several reconnect attempts fail: they are logged, but rate-limited.
    await new Promise((r) => setTimeout(r, 1_500));
    const outageLines = lines.slice(linesBefore).filter((l) => l.level === "warn");
    expect(outageLines.length).toBeGreaterThanOrEqual(1);
    expect(outageLines.length).toBeLessThanOrEqual(2);
    expect(outageLines[0]?.msg).toMatch(/^redis connection (lost|error)$/);

    await server.restart();
    expect(
      await waitFor(async () => {
        try {
          await kv.ping();
          return true;
        } catch {
          return false;
        }
      }, 5_000),
    ).toBe(true);
    // The server restarted empty (--save ''), with an empty script cache.
    expect(await kv.get(`${p}k`)).toBeNull();
    await exerciseScripts(kv, p);
    expect(lines.slice(linesBefore).some((l) => l.msg === "redis connection ready")).toBe(true);
  });

  it("a server that stops answering: STORE_UNAVAILABLE after the deadline, then recovery", async () => {
    const p = `hang:${crypto.randomUUID()}:`;
    await kv.set(`${p}k`, "v");
    server.pause();
    try {
      const started = Date.now();
      const errs = await Promise.all([
        rejection(kv.get(`${p}k`)),
        rejection(kv.casSet(`${p}k`, "v", "w")),
        rejection(kv.ping()),
      ]);
      const elapsed = Date.now() - started;
      for (const err of errs) expect(err.code).toBe("STORE_UNAVAILABLE");
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsed).toBeLessThan(TIMEOUT_MS * 4);
    } finally {
      server.resume();
    }
    // The commands abandoned above still reach the server; the connection stays usable.
    expect(await waitFor(async () => (await kv.get(`${p}k`).catch(() => "error")) !== "error", 5_000)).toBe(
      true,
    );
    expect(await kv.get(`${p}k`)).toBe("w");
  });
});

describe("redis engine: connection lifecycle and options", () => {
  it("returns at once while Redis is down, fails fast, and connects when Redis comes up", async () => {
    const port = await freePort();
    // createRedisStore is synchronous, so it cannot wait for the connection; what can regress is a
    // command waiting for its deadline instead of failing at once while offline. The deadline is
    // long (5 s) so that "fast" stays distinguishable from "waited" on a loaded CI machine.
    const kv = createRedisStore({ addr: `127.0.0.1:${port}`, timeoutMs: 5_000, logger: silentLogger });
    let server: RedisHandle | undefined;
    try {
      const t = Date.now();
      expect((await rejection(kv.ping())).code).toBe("STORE_UNAVAILABLE");
      expect((await rejection(kv.get("k"))).code).toBe("STORE_UNAVAILABLE");
      expect(Date.now() - t).toBeLessThan(2_500);
      server = await startRedis({ port });
      await waitForStore(kv, 5_000);
      expect(await kv.set("k", "v")).toBe(true);
      expect(await kv.get("k")).toBe("v");
    } finally {
      await kv.close();
      await server?.stop();
    }
  });

  it("close() is idempotent, prompt while Redis is down, and later calls fail with STORE_UNAVAILABLE", async () => {
    const server = await startRedis();
    const kv = createRedisStore({ addr: server.addr, timeoutMs: 300, logger: silentLogger });
    try {
      await waitForStore(kv);
      await server.kill();
      const started = Date.now();
      await expect(kv.close()).resolves.toBeUndefined();
      await expect(kv.close()).resolves.toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await rejection(kv.get("k"))).code).toBe("STORE_UNAVAILABLE");
    } finally {
      await server.stop();
    }
  });

  it("close() does not hang on a server that stopped answering", async () => {
    const server = await startRedis();
    const kv = createRedisStore({ addr: server.addr, timeoutMs: 300, logger: silentLogger });
    try {
      await waitForStore(kv);
      server.pause();
      const inFlight = kv.get("k").catch((e: unknown) => e);
      const started = Date.now();
      await kv.close();
      expect(Date.now() - started).toBeLessThan(1_500);
      const err = await inFlight;
      expect(isTiktiError(err) && err.code).toBe("STORE_UNAVAILABLE");
    } finally {
      server.resume();
      await server.stop();
    }
  });

  describe("credentials and db", () => {
    const password = "s3cr3t-pw";
    let server: RedisHandle;
    beforeAll(async () => {
      server = await startRedis({ password });
    });
    afterAll(async () => {
      await server?.stop();
    });

    async function readRaw(db: number, key: string): Promise<unknown> {
      const raw = await rawClient(server, password);
      try {
        await raw.sendCommand(["SELECT", String(db)]);
        return await raw.sendCommand(["GET", key]);
      } finally {
        raw.destroy();
      }
    }

    it("url with password and /db", async () => {
      const kv = createRedisStore({
        url: `redis://:${encodeURIComponent(password)}@${server.addr}/3`,
        logger: silentLogger,
      });
      try {
        await waitForStore(kv);
        expect(await kv.set("url-key", "in-db-3")).toBe(true);
        expect(await readRaw(3, "url-key")).toBe("in-db-3");
        expect(await readRaw(0, "url-key")).toBeNull();
      } finally {
        await kv.close();
      }
    });

    it("addr with password and db options", async () => {
      const kv = createRedisStore({ addr: server.addr, password, db: 5, logger: silentLogger });
      try {
        await waitForStore(kv);
        expect(await kv.set("addr-key", "in-db-5")).toBe(true);
        expect(await readRaw(5, "addr-key")).toBe("in-db-5");
      } finally {
        await kv.close();
      }
    });

    it("a wrong or missing password is STORE_UNAVAILABLE, logged as a credential problem without the secret", async () => {
      for (const pw of ["wrong-password-value", undefined]) {
        const lines: string[] = [];
        const kv = createRedisStore({
          addr: server.addr,
          timeoutMs: 300,
          logger: createLogger((l) => lines.push(l), "debug"),
          ...(pw ? { password: pw } : {}),
        });
        try {
          // A wrong password fails AUTH in the handshake; no password gets NOAUTH on the first command.
          expect(
            await waitFor(async () => lines.some((l) => l.includes("refused the credentials")), 3_000),
          ).toBe(true);
          const err = await rejection(kv.get("k"));
          expect(err.code).toBe("STORE_UNAVAILABLE");
          expect(lines.join("\n")).not.toContain(pw ?? password);
          expect(lines.join("\n")).not.toContain(password);
        } finally {
          await kv.close();
        }
      }
    });
  });

  it("refuses unusable options at creation", () => {
    const bad: Array<Record<string, unknown>> = [
      {},
      { addr: "127.0.0.1:6379", url: "redis://127.0.0.1:6379" },
      { addr: "127.0.0.1:6379", cluster: ["127.0.0.1:7000"] },
      { addr: "127.0.0.1:99999" },
      { addr: "127.0.0.1:6379", db: -1 },
      { cluster: ["127.0.0.1:7000"], db: 2 },
      { cluster: [] },
      { url: "http://127.0.0.1:6379" },
      { url: "redis://:pw@bad host:6379" },
      { addr: "127.0.0.1:6379", timeoutMs: 0 },
    ];
    for (const options of bad) {
      expect(() => createRedisStore({ ...options, logger: silentLogger }), JSON.stringify(options)).toThrow(
        /redis/,
      );
    }
  });
});
