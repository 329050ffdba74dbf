/**
 * Store engines for the repository tests: every behaviour runs against the embedded store
 * (node:sqlite, temp dir) and a real redis-server. One engine of each kind per test file; the
 * keyspace has fixed key names (`users_v2`, `tenants`), so every test starts from an empty store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { Clock } from "../../src/clock.ts";
import { isTiktiError, type TiktiError } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import type { RepoDeps } from "../../src/store/repos/deps.ts";
import { type RedisHandle, startRedis, waitForStore } from "../support/redis-server.ts";

export interface Engine {
  readonly name: "embedded" | "redis";
  /** Available inside tests and hooks (after the file's beforeAll). */
  readonly kv: KV;
  /** Deletes every key. */
  wipe(): Promise<void>;
}

async function wipeAll(kv: KV): Promise<void> {
  const all: string[] = [];
  for await (const batch of kv.scan("")) all.push(...batch);
  for (const key of all) await kv.del(key);
}

/**
 * Registers file-level hooks that open both engines and close them at the end; call at the top
 * level of a test file.
 */
export function storeEngines(): Engine[] {
  let embedded: KV | undefined;
  let redis: KV | undefined;
  let server: RedisHandle | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tikti-repos-"));
    const silent = createLogger(() => {}, "error");
    [embedded, server] = await Promise.all([
      openEmbeddedStore({ dataDir, logger: silent, openSqlite }),
      startRedis(),
    ]);
    redis = createRedisStore({ addr: server.addr, logger: silent });
    await waitForStore(redis);
  });
  afterAll(async () => {
    await embedded?.close();
    await redis?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const engine = (name: Engine["name"], get: () => KV | undefined): Engine => ({
    name,
    get kv() {
      const kv = get();
      if (!kv) throw new Error(`${name} engine not open yet`);
      return kv;
    },
    async wipe() {
      const kv = get();
      if (kv) await wipeAll(kv);
    },
  });
  return [engine("embedded", () => embedded), engine("redis", () => redis)];
}

/** A clock the test moves by hand. */
export function manualClock(
  start = Date.parse("2025-01-01T10:00:00.123Z"),
): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** A logger that keeps every record for assertions. */
export function recordingLogger(): Logger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger((line) => records.push(JSON.parse(line) as Record<string, unknown>), "debug");
  return Object.assign(logger, { records });
}

export function repoDeps(kv: KV, clock: Clock = manualClock(), logger: Logger = recordingLogger()): RepoDeps {
  return { kv, clock, logger };
}

/**
 * `kv` with some methods replaced (fault injection, call counting); everything else passes
 * through. Replacements get the real store as their last argument.
 */
export function withOverrides(kv: KV, overrides: Partial<{ [K in keyof KV]: KV[K] }>): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof KV];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Awaits `p` and returns its TiktiError; fails when it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<TiktiError> {
  try {
    await p;
  } catch (e) {
    expect(isTiktiError(e), `expected a TiktiError, got ${String(e)}`).toBe(true);
    return e as TiktiError;
  }
  throw new Error("expected a rejection");
}

/** Every field of a hash, through HSCAN (as tools do for users_v2). */
export async function hashFields(kv: KV, key: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const batch of kv.hscan(key)) for (const [f, v] of batch) out.set(f, v);
  return out;
}

/** How many `AbortSignal.timeout`s `run` made (each is an uncancellable timer that fires later). */
export async function abortSignalTimeoutsDuring(run: () => Promise<void>): Promise<number> {
  const original = AbortSignal.timeout;
  let made = 0;
  AbortSignal.timeout = (ms: number) => {
    made++;
    return original.call(AbortSignal, ms);
  };
  try {
    await run();
  } finally {
    AbortSignal.timeout = original;
  }
  return made;
}
