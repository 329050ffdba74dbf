/**
 * Harness of the tikti-migrate tests: both engines (a real redis-server and the embedded store in
 * a temp dir), the command run in-process with captured output, and a full keyspace dump (every
 * key found by SCAN with its type, value and TTL) to prove that a run changed nothing.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import type { MigrateIO } from "../../migrate/io.ts";
import { cli } from "../../migrate/main.ts";
import type { Clock } from "../../src/clock.ts";
import { isTiktiError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRedisStore } from "../../src/store/redis.ts";
import { selectedEngines } from "../support/engines.ts";
import { type RedisHandle, rawClient, startRedis, waitForStore } from "../support/redis-server.ts";

/** The clock of in-process runs: fixed, so two runs on equal data write equal bytes. */
export const FIXED_NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
export const fixedClock: Clock = { now: () => FIXED_NOW };

export interface CliRun {
  code: number;
  stdout: string[];
  stderr: string[];
  /** stdout and stderr joined, for "never printed" checks. */
  all: string;
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  lockRefreshMs?: number;
  interrupted?: () => boolean;
  cwd?: string;
}

/** Runs `tikti-migrate <args>` in this process (migrate/main.ts `cli`), capturing its output. */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: MigrateIO = {
    stdout: (line) => stdout.push(...line.split("\n")),
    stderr: (line) => stderr.push(...line.split("\n")),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    clock: options.clock ?? fixedClock,
    hostname: "test-host",
    pid: process.pid,
    interrupted: options.interrupted ?? (() => false),
    connectTimeoutMs: 3000,
    ...(options.lockRefreshMs !== undefined ? { lockRefreshMs: options.lockRefreshMs } : {}),
  };
  const code = await cli(args, io);
  return { code, stdout, stderr, all: [...stdout, ...stderr].join("\n") };
}

/** The `label: n` lines of one migration's block, as numbers. */
export function blockCounts(stdout: readonly string[], header: string): Record<string, number> {
  const start = stdout.indexOf(`== ${header} ==`);
  if (start < 0) throw new Error(`no block ${header} in:\n${stdout.join("\n")}`);
  const out: Record<string, number> = {};
  for (const line of stdout.slice(start + 1)) {
    if (line.startsWith("== ")) break;
    const m = /^([a-z][a-z A-Z]*): (\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export interface MigrateEngine {
  readonly name: "redis" | "embedded";
  /** The storage flags of this engine's current store. */
  args(): string[];
  /** A fresh, empty store (a new data dir for the embedded engine, FLUSHALL for Redis). */
  reset(): Promise<void>;
  /** Opens the store for setup or inspection; the embedded one is closed again afterwards. */
  use<T>(fn: (kv: KV) => Promise<T>): Promise<T>;
  /** Opens the store for longer use (e.g. an app); the caller closes it. */
  open(): Promise<KV>;
  /** The Redis server (redis engine only). */
  readonly redis?: RedisHandle;
}

/**
 * Registers file-level hooks for the engines this vitest project runs (test/support/engines.ts:
 * `fast` the embedded one, `slow` Redis, `npm test` both); call at the top level of a test file.
 */
export function migrateEngines(): MigrateEngine[] {
  const selected = selectedEngines();
  let server: RedisHandle | undefined;
  let redisKv: KV | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    if (!selected.includes("redis")) return;
    server = await startRedis();
    redisKv = createRedisStore({ addr: server.addr, logger: silentLogger });
    await waitForStore(redisKv);
  });
  afterAll(async () => {
    await redisKv?.close();
    await server?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const redis: MigrateEngine = {
    name: "redis",
    args: () => ["--redis-addr", server!.addr],
    async reset() {
      const c = await rawClient(server!);
      await c.flushAll();
      c.destroy();
    },
    use: (fn) => fn(redisKv!),
    async open() {
      // The shared connection stays open until afterAll: close() of this view does nothing.
      return new Proxy(redisKv!, {
        get: (target, prop) => {
          if (prop === "close") return async () => {};
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    },
    get redis() {
      return server;
    },
  };

  let dataDir = "";
  const embedded: MigrateEngine = {
    name: "embedded",
    args: () => ["--data-dir", dataDir],
    async reset() {
      dataDir = await mkdtemp(join(tmpdir(), "tikti-migrate-"));
      dirs.push(dataDir);
      await (await openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite })).close();
    },
    open: () => openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite }),
    async use(fn) {
      const kv = await openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite });
      try {
        return await fn(kv);
      } finally {
        await kv.close();
      }
    },
  };
  return [embedded, redis].filter((e) => selected.includes(e.name));
}

export interface DumpEntry {
  type: "string" | "hash" | "set";
  value: string | Record<string, string> | string[];
  /** -1 = no expiry. */
  pttl: number;
}
export type Dump = Map<string, DumpEntry>;

async function probe<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    // The engines answer a command on a key of another type with INTERNAL (WRONGTYPE).
    if (isTiktiError(err) && err.code === "INTERNAL") return undefined;
    throw err;
  }
}

/** Every key (SCAN), its type, value and TTL. Test data only: hashes are read whole. */
export async function dumpKeyspace(kv: KV): Promise<Dump> {
  const names: string[] = [];
  for await (const batch of kv.scan("", 1000)) names.push(...batch);
  names.sort();
  const out: Dump = new Map();
  for (const key of names) {
    const pttl = await kv.pttl(key);
    const str = await probe(kv.get(key));
    if (str !== undefined && str !== null) {
      out.set(key, { type: "string", value: str, pttl });
      continue;
    }
    const hash = await probe(kv.hgetall(key));
    if (hash !== undefined && hash.size > 0) {
      out.set(key, {
        type: "hash",
        value: Object.fromEntries([...hash].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        pttl,
      });
      continue;
    }
    out.set(key, { type: "set", value: (await kv.smembers(key)).sort(), pttl });
  }
  return out;
}

/**
 * Same keys, types and values; TTLs unchanged except for the time that passed (never extended,
 * never added or removed), or with `"presence"` only present on the same keys.
 */
export function expectSameKeyspace(before: Dump, after: Dump, elapsedMs: number | "presence"): void {
  const strip = (d: Dump) =>
    Object.fromEntries([...d].map(([k, e]) => [k, { type: e.type, value: e.value }]));
  expect(strip(after)).toEqual(strip(before));
  for (const [key, b] of before) {
    const a = after.get(key)!;
    if (b.pttl === -1) expect(a.pttl, key).toBe(-1);
    else if (elapsedMs === "presence") expect(a.pttl, key).toBeGreaterThan(0);
    else {
      expect(a.pttl, key).toBeGreaterThan(0);
      expect(a.pttl, key).toBeLessThanOrEqual(b.pttl + 50);
      expect(a.pttl, key).toBeGreaterThanOrEqual(b.pttl - elapsedMs - 1000);
    }
  }
}

/** Parses a stored JSON value of a hash in a dump. */
export function field(dump: Dump, key: string, name: string): Record<string, unknown> | undefined {
  const e = dump.get(key);
  if (e?.type !== "hash") return undefined;
  const text = (e.value as Record<string, string>)[name];
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}
