/**
 * The store conformance suite (design.md "One keyspace, several engines", docs/spec/storage.md §1, §4, §7).
 *
 * Every engine (embedded, Redis, Redis Cluster, KVRocks) runs this same file through
 * `runKvConformance(name, factory)`. The suite is engine-agnostic: it only uses the `KV` interface,
 * real time (short TTLs, polled, never long sleeps) and a random key prefix per test, so it can run
 * against a shared server without interfering with other data or with a parallel run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTiktiError } from "../../../src/errors.ts";
import type { KV } from "../../../src/store/kv.ts";

export interface KvTestContext {
  kv: KV;
  /** Closes the engine and removes whatever the factory created (temp dirs, servers). */
  cleanup: () => Promise<void>;
  /**
   * Makes the engine lose its backend (kill the server, close the socket, ...). When absent the
   * failure tests call `kv.close()` instead. Called on a context of its own, never the shared one.
   */
  breakConnection?: () => Promise<void>;
}

export type KvFactory = () => Promise<KvTestContext>;

/** A fresh, random key prefix: keeps tests apart on a shared server. */
function prefix(): string {
  return `conf:${crypto.randomUUID().slice(0, 12)}:`;
}

/** Polls `probe` until `done` accepts its result or `timeoutMs` elapses; returns the last result. */
async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of it) {
    expect(Array.isArray(batch)).toBe(true);
    out.push(...batch);
  }
  return out;
}

/** Asserts that `p` rejects with a TiktiError of `code` (never a raw driver error). */
async function expectTiktiError(p: Promise<unknown>, code: "INTERNAL" | "STORE_UNAVAILABLE"): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected a rejection").toBeDefined();
  expect(isTiktiError(caught), `expected TiktiError, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

export function runKvConformance(name: string, factory: KvFactory): void {
  describe(`KV conformance: ${name}`, () => {
    let ctx: KvTestContext;
    const kv = (): KV => ctx.kv;

    beforeAll(async () => {
      ctx = await factory();
    });
    afterAll(async () => {
      await ctx?.cleanup();
    });

    it("names a known engine and answers ping", async () => {
      expect(["embedded", "redis", "redis-cluster"]).toContain(kv().engine);
      await expect(kv().ping()).resolves.toBeUndefined();
    });

    describe("strings", () => {
      it("get/set/del/exists", async () => {
        const k = `${prefix()}s`;
        expect(await kv().get(k)).toBeNull();
        expect(await kv().exists(k)).toBe(false);
        expect(await kv().set(k, "v1")).toBe(true);
        expect(await kv().get(k)).toBe("v1");
        expect(await kv().exists(k)).toBe(true);
        expect(await kv().set(k, "v2")).toBe(true);
        expect(await kv().get(k)).toBe("v2");
        expect(await kv().del(k)).toBe(true);
        expect(await kv().del(k)).toBe(false);
        expect(await kv().get(k)).toBeNull();
        expect(await kv().exists(k)).toBe(false);
      });

      it("round-trips empty, unicode, control-character and large values", async () => {
        const p = prefix();
        const values = [
          "",
          " ",
          "line1\nline2\r\n\ttab",
          "a\u0000b",
          "ünïcödé 😀 中文 עברית",
          '{"json":["x",1,null]}',
          "x".repeat(200_000),
        ];
        for (const [i, v] of values.entries()) {
          expect(await kv().set(`${p}${i}`, v)).toBe(true);
          expect(await kv().get(`${p}${i}`)).toBe(v);
          expect(await kv().exists(`${p}${i}`)).toBe(true);
        }
        // An empty-string value is a present key, not an absent one.
        expect(await kv().set(`${p}0`, "other", { nx: true })).toBe(false);
        expect(await kv().consume(`${p}0`)).toBe("");
        expect(await kv().get(`${p}0`)).toBeNull();
      });

      it("SET NX writes only when absent", async () => {
        const k = `${prefix()}nx`;
        expect(await kv().set(k, "first", { nx: true })).toBe(true);
        expect(await kv().set(k, "second", { nx: true })).toBe(false);
        expect(await kv().get(k)).toBe("first");
        await kv().del(k);
        expect(await kv().set(k, "third", { nx: true })).toBe(true);
        expect(await kv().get(k)).toBe("third");
      });

      it("SET NX race: exactly one of 50 concurrent callers wins", async () => {
        const k = `${prefix()}race`;
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => kv().set(k, `v${i}`, { nx: true, ttlMs: 60_000 })),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await kv().get(k)).toBe(`v${winners[0]}`);
      });

      it("SET with ttl sets PTTL; SET without ttl clears it; SET NX on a live key keeps it", async () => {
        const k = `${prefix()}ttl`;
        expect(await kv().set(k, "a", { ttlMs: 10_000 })).toBe(true);
        const t1 = await kv().pttl(k);
        expect(t1).toBeGreaterThan(8_000);
        expect(t1).toBeLessThanOrEqual(10_000);
        expect(await kv().set(k, "b", { nx: true, ttlMs: 50 })).toBe(false);
        expect(await kv().pttl(k)).toBeGreaterThan(8_000);
        expect(await kv().set(k, "c")).toBe(true);
        expect(await kv().pttl(k)).toBe(-1);
        expect(await kv().get(k)).toBe("c");
      });

      it("expired keys are never returned and free the name for SET NX", async () => {
        const k = `${prefix()}exp`;
        expect(await kv().set(k, "soon", { ttlMs: 80 })).toBe(true);
        expect(await kv().get(k)).toBe("soon");
        expect(
          await eventually(
            () => kv().get(k),
            (v) => v === null,
          ),
        ).toBeNull();
        expect(await kv().exists(k)).toBe(false);
        expect(await kv().pttl(k)).toBe(-2);
        expect(await kv().del(k)).toBe(false);
        expect(await kv().expire(k, 10)).toBe(false);
        expect(await kv().set(k, "again", { nx: true })).toBe(true);
        expect(await kv().get(k)).toBe("again");
        expect(await kv().pttl(k)).toBe(-1);
      });

      it("PTTL: -2 missing, -1 persistent, positive with expiry", async () => {
        const p = prefix();
        expect(await kv().pttl(`${p}missing`)).toBe(-2);
        await kv().set(`${p}persistent`, "x");
        expect(await kv().pttl(`${p}persistent`)).toBe(-1);
        await kv().set(`${p}volatile`, "x", { ttlMs: 5_000 });
        const t = await kv().pttl(`${p}volatile`);
        expect(t).toBeGreaterThan(3_000);
        expect(t).toBeLessThanOrEqual(5_000);
      });

      it("EXPIRE sets a TTL in seconds on any type; 0 deletes; missing key → false", async () => {
        const p = prefix();
        expect(await kv().expire(`${p}missing`, 10)).toBe(false);
        await kv().set(`${p}s`, "x");
        expect(await kv().expire(`${p}s`, 10)).toBe(true);
        const t = await kv().pttl(`${p}s`);
        expect(t).toBeGreaterThan(8_000);
        expect(t).toBeLessThanOrEqual(10_000);
        await kv().hset(`${p}h`, "f", "v");
        expect(await kv().expire(`${p}h`, 20)).toBe(true);
        expect(await kv().pttl(`${p}h`)).toBeGreaterThan(10_000);
        await kv().sadd(`${p}set`, "m");
        expect(await kv().expire(`${p}set`, 30)).toBe(true);
        expect(await kv().pttl(`${p}set`)).toBeGreaterThan(20_000);
        // A non-positive timeout deletes the key (Redis semantics).
        expect(await kv().expire(`${p}s`, 0)).toBe(true);
        expect(await kv().exists(`${p}s`)).toBe(false);
        expect(await kv().pttl(`${p}s`)).toBe(-2);
      });

      it("INCR counts from 0, keeps the TTL, and rejects non-integers with INTERNAL", async () => {
        const p = prefix();
        expect(await kv().incr(`${p}n`)).toBe(1);
        expect(await kv().incr(`${p}n`)).toBe(2);
        expect(await kv().get(`${p}n`)).toBe("2");
        await kv().set(`${p}m`, "41", { ttlMs: 10_000 });
        expect(await kv().incr(`${p}m`)).toBe(42);
        expect(await kv().pttl(`${p}m`)).toBeGreaterThan(8_000);
        await kv().set(`${p}neg`, "-5");
        expect(await kv().incr(`${p}neg`)).toBe(-4);
        for (const bad of ["abc", "1.5", "", " 1", "1 "]) {
          await kv().set(`${p}bad`, bad);
          await expectTiktiError(kv().incr(`${p}bad`), "INTERNAL");
          expect(await kv().get(`${p}bad`)).toBe(bad);
        }
      });

      it("INCR is atomic: 50 concurrent increments yield 1..50", async () => {
        const k = `${prefix()}ctr`;
        const results = await Promise.all(Array.from({ length: 50 }, () => kv().incr(k)));
        expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(await kv().get(k)).toBe("50");
      });
    });

    describe("hashes", () => {
      it("hset/hsetnx/hget/hdel/hlen/hgetall, and an emptied hash disappears", async () => {
        const k = `${prefix()}h`;
        expect(await kv().hget(k, "f")).toBeNull();
        expect(await kv().hlen(k)).toBe(0);
        expect((await kv().hgetall(k)).size).toBe(0);
        expect(await kv().hset(k, "f", "1")).toBe(true);
        expect(await kv().hset(k, "f", "2")).toBe(false);
        expect(await kv().hget(k, "f")).toBe("2");
        expect(await kv().hsetnx(k, "f", "3")).toBe(false);
        expect(await kv().hget(k, "f")).toBe("2");
        expect(await kv().hsetnx(k, "g", "")).toBe(true);
        expect(await kv().hget(k, "g")).toBe("");
        expect(await kv().hlen(k)).toBe(2);
        expect(await kv().exists(k)).toBe(true);
        expect(await kv().hdel(k, "missing")).toBe(false);
        expect(await kv().hdel(k, "f")).toBe(true);
        expect(await kv().hdel(k, "f")).toBe(false);
        expect(await kv().hlen(k)).toBe(1);
        expect(await kv().hdel(k, "g")).toBe(true);
        expect(await kv().exists(k)).toBe(false);
        expect(await kv().pttl(k)).toBe(-2);
        expect(await kv().hdel(`${k}:none`, "f")).toBe(false);
      });

      it("hgetall returns a Map that holds fields such as __proto__ and constructor", async () => {
        const k = `${prefix()}proto`;
        const fields: Array<[string, string]> = [
          ["__proto__", '{"polluted":true}'],
          ["constructor", "c"],
          ["toString", "t"],
          ["ünï 😀", "u"],
          ["", "empty field name"],
        ];
        for (const [f, v] of fields) expect(await kv().hset(k, f, v)).toBe(true);
        const all = await kv().hgetall(k);
        expect(all).toBeInstanceOf(Map);
        expect([...all.entries()].sort()).toEqual([...fields].sort());
        expect(await kv().hget(k, "__proto__")).toBe('{"polluted":true}');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(await kv().hlen(k)).toBe(fields.length);
      });

      it("hscan yields each of 1200 fields, missing hash yields nothing", async () => {
        const k = `${prefix()}big`;
        const n = 1200;
        await Promise.all(Array.from({ length: n }, (_, i) => kv().hset(k, `f${i}`, `v${i}`)));
        expect(await kv().hlen(k)).toBe(n);
        const seen = new Map(await collect(kv().hscan(k, 100)));
        expect(seen.size).toBe(n);
        for (let i = 0; i < n; i++) expect(seen.get(`f${i}`)).toBe(`v${i}`);
        expect(await collect(kv().hscan(`${k}:missing`))).toEqual([]);
      });

      it("hscan is stable under concurrent writes: fields present throughout are all yielded", async () => {
        const k = `${prefix()}churn`;
        const stable = 1000;
        await Promise.all(Array.from({ length: stable }, (_, i) => kv().hset(k, `s${i}`, "1")));
        await Promise.all(Array.from({ length: 300 }, (_, i) => kv().hset(k, `t${i}`, "1")));
        const seen = new Set<string>();
        let round = 0;
        for await (const batch of kv().hscan(k, 50)) {
          for (const [f] of batch) seen.add(f);
          // Churn between batches: remove volatile fields and add new ones on both sides of the cursor.
          for (let j = 0; j < 10; j++) {
            await kv().hdel(k, `t${round * 10 + j}`);
            await kv().hset(k, `a${round}-${j}`, "new");
            await kv().hset(k, `z${round}-${j}`, "new");
          }
          round++;
        }
        expect(round).toBeGreaterThan(0);
        for (let i = 0; i < stable; i++) expect(seen.has(`s${i}`), `s${i}`).toBe(true);
      });

      it("casHset: null expected means absent; exact-match compare otherwise", async () => {
        const k = `${prefix()}cas`;
        // [current value (null = absent), expected, next, result, value after]
        const table: Array<[string | null, string | null, string, boolean, string | null]> = [
          [null, null, "n", true, "n"],
          [null, "", "n", false, null],
          [null, "x", "n", false, null],
          ["x", null, "n", false, "x"],
          ["x", "x", "n", true, "n"],
          ["x", "X", "n", false, "x"],
          ["x", "x ", "n", false, "x"],
          ["", "", "n", true, "n"],
          ["", null, "n", false, ""],
          ["x", "x", "", true, ""],
        ];
        for (const [i, [current, expected, next, result, after]] of table.entries()) {
          const field = `f${i}`;
          await kv().hset(k, "keep", "1");
          if (current !== null) await kv().hset(k, field, current);
          expect(await kv().casHset(k, field, expected, next), `row ${i}`).toBe(result);
          expect(await kv().hget(k, field), `row ${i}`).toBe(after);
        }
      });

      it("casHset race: exactly one of 20 concurrent updates from the same version wins", async () => {
        const k = `${prefix()}casrace`;
        await kv().hset(k, "u", "v0");
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => kv().casHset(k, "u", "v0", `v1-${i}`)),
        );
        const winners = results.flatMap((won, i) => (won ? [i] : []));
        expect(winners).toHaveLength(1);
        expect(await kv().hget(k, "u")).toBe(`v1-${winners[0]}`);
      });

      it("hashes take a TTL and expire as a whole", async () => {
        const k = `${prefix()}hx`;
        await kv().idxAdd(k, "f", "v", 80);
        expect(await kv().hget(k, "f")).toBe("v");
        expect(
          await eventually(
            () => kv().hlen(k),
            (n) => n === 0,
          ),
        ).toBe(0);
        expect(await kv().hget(k, "f")).toBeNull();
        expect((await kv().hgetall(k)).size).toBe(0);
        expect(await collect(kv().hscan(k))).toEqual([]);
        expect(await kv().exists(k)).toBe(false);
        // A new field on the expired name starts a fresh hash without TTL.
        expect(await kv().hset(k, "g", "w")).toBe(true);
        expect(await kv().pttl(k)).toBe(-1);
        expect([...(await kv().hgetall(k)).keys()]).toEqual(["g"]);
      });
    });

    describe("sets", () => {
      it("sadd/srem/smembers, and an emptied set disappears", async () => {
        const k = `${prefix()}set`;
        expect(await kv().smembers(k)).toEqual([]);
        expect(await kv().sadd(k, "a")).toBe(true);
        expect(await kv().sadd(k, "a")).toBe(false);
        expect(await kv().sadd(k, "b 😀")).toBe(true);
        expect(await kv().sadd(k, "")).toBe(true);
        expect([...(await kv().smembers(k))].sort()).toEqual(["", "a", "b 😀"]);
        expect(await kv().srem(k, "missing")).toBe(false);
        expect(await kv().srem(k, "a")).toBe(true);
        expect(await kv().srem(k, "")).toBe(true);
        expect(await kv().smembers(k)).toEqual(["b 😀"]);
        expect(await kv().srem(k, "b 😀")).toBe(true);
        expect(await kv().exists(k)).toBe(false);
        expect(await kv().srem(k, "b 😀")).toBe(false);
      });

      it("sets expire as a whole", async () => {
        const k = `${prefix()}setx`;
        await kv().sadd(k, "m");
        expect(await kv().expire(k, 1)).toBe(true);
        expect(
          await eventually(
            () => kv().smembers(k),
            (m) => m.length === 0,
          ),
        ).toEqual([]);
        expect(await kv().exists(k)).toBe(false);
      });
    });

    describe("scan", () => {
      it("yields every key with a literal prefix, including glob and LIKE characters", async () => {
        const p = prefix();
        const tricky = `${p}a*b?[c]%_\\{x}:`;
        const want = Array.from({ length: 250 }, (_, i) => `${tricky}${i}`);
        // Decoys match the prefix read as a glob (or as SQL LIKE) but not literally.
        const decoys = [
          `${p}aZZbYc%_\\{x}:1`,
          `${p}a*bQ[c]%_\\{x}:2`,
          `${p}a*b?cX_\\{x}:3`,
          `${p}a*b?[c]Q_\\{x}:4`,
        ];
        await Promise.all([...want, ...decoys].map((k) => kv().set(k, "1")));
        await kv().hset(`${tricky}hash`, "f", "v");
        await kv().sadd(`${tricky}set`, "m");
        const got = await collect(kv().scan(tricky, 40));
        expect(new Set(got)).toEqual(new Set([...want, `${tricky}hash`, `${tricky}set`]));
        const all = new Set(await collect(kv().scan(p)));
        for (const d of decoys) expect(all.has(d)).toBe(true);
        expect(await collect(kv().scan(`${p}nothing-here:`))).toEqual([]);
      });

      it("handles unicode keys and prefixes (accents, emoji, CJK)", async () => {
        const p = prefix();
        const ks = [
          `${p}é`,
          `${p}éa`,
          `${p}e`,
          `${p}😀`,
          `${p}😀x`,
          `${p}😁`,
          `${p}中文`,
          `${p}中`,
          `${p}pre`,
          `${p}pre😀`,
          `${p}pre\uffff`,
          `${p}pre\u{10ffff}z`,
        ];
        await Promise.all(ks.map((k, i) => kv().set(k, `v${i}`)));
        for (const [i, k] of ks.entries()) expect(await kv().get(k)).toBe(`v${i}`);
        const scanOf = async (q: string) => new Set(await collect(kv().scan(q)));
        expect(await scanOf(`${p}é`)).toEqual(new Set([`${p}é`, `${p}éa`]));
        expect(await scanOf(`${p}😀`)).toEqual(new Set([`${p}😀`, `${p}😀x`]));
        expect(await scanOf(`${p}中`)).toEqual(new Set([`${p}中文`, `${p}中`]));
        expect(await scanOf(`${p}pre`)).toEqual(
          new Set([`${p}pre`, `${p}pre😀`, `${p}pre\uffff`, `${p}pre\u{10ffff}z`]),
        );
        expect(await scanOf(p)).toEqual(new Set(ks));
      });

      it("skips expired keys", async () => {
        const p = prefix();
        await kv().set(`${p}live`, "1");
        await kv().set(`${p}dead`, "1", { ttlMs: 50 });
        await eventually(
          () => kv().exists(`${p}dead`),
          (e) => !e,
        );
        expect(await collect(kv().scan(p))).toEqual([`${p}live`]);
      });

      it("is stable under concurrent writes: keys present throughout are all yielded", async () => {
        const p = prefix();
        const stable = Array.from({ length: 600 }, (_, i) => `${p}s${String(i).padStart(4, "0")}`);
        await Promise.all(stable.map((k) => kv().set(k, "1")));
        await Promise.all(Array.from({ length: 200 }, (_, i) => kv().set(`${p}t${i}`, "1")));
        const seen = new Set<string>();
        let round = 0;
        for await (const batch of kv().scan(p, 50)) {
          for (const k of batch) seen.add(k);
          for (let j = 0; j < 10; j++) {
            await kv().del(`${p}t${round * 10 + j}`);
            await kv().set(`${p}a${round}-${j}`, "new");
            await kv().set(`${p}z${round}-${j}`, "new");
          }
          round++;
        }
        expect(round).toBeGreaterThan(0);
        for (const k of stable) expect(seen.has(k), k).toBe(true);
      });
    });

    describe("scripts", () => {
      it("casSet: null expected means absent; ttl applies on success; no ttl clears it", async () => {
        const p = prefix();
        expect(await kv().casSet(`${p}a`, null, "v1")).toBe(true);
        expect(await kv().get(`${p}a`)).toBe("v1");
        expect(await kv().pttl(`${p}a`)).toBe(-1);
        expect(await kv().casSet(`${p}a`, null, "v2")).toBe(false);
        expect(await kv().casSet(`${p}a`, "other", "v2")).toBe(false);
        expect(await kv().get(`${p}a`)).toBe("v1");
        expect(await kv().casSet(`${p}a`, "v1", "v2", 10_000)).toBe(true);
        expect(await kv().get(`${p}a`)).toBe("v2");
        const t = await kv().pttl(`${p}a`);
        expect(t).toBeGreaterThan(8_000);
        expect(t).toBeLessThanOrEqual(10_000);
        expect(await kv().casSet(`${p}a`, "v2", "v3")).toBe(true);
        expect(await kv().pttl(`${p}a`)).toBe(-1);
        expect(await kv().casSet(`${p}missing`, "x", "v")).toBe(false);
        expect(await kv().exists(`${p}missing`)).toBe(false);
        expect(await kv().casSet(`${p}missing`, "", "v")).toBe(false);
        await kv().set(`${p}empty`, "");
        expect(await kv().casSet(`${p}empty`, null, "v")).toBe(false);
        expect(await kv().casSet(`${p}empty`, "", "v")).toBe(true);
        expect(await kv().get(`${p}empty`)).toBe("v");
        // An expired key counts as absent.
        await kv().set(`${p}exp`, "old", { ttlMs: 50 });
        await eventually(
          () => kv().exists(`${p}exp`),
          (e) => !e,
        );
        expect(await kv().casSet(`${p}exp`, "old", "new")).toBe(false);
        expect(await kv().casSet(`${p}exp`, null, "new")).toBe(true);
        expect(await kv().get(`${p}exp`)).toBe("new");
      });

      it("casDel deletes only on an exact match", async () => {
        const p = prefix();
        expect(await kv().casDel(`${p}missing`, "x")).toBe(false);
        await kv().set(`${p}k`, "tenant-1");
        expect(await kv().casDel(`${p}k`, "tenant-2")).toBe(false);
        expect(await kv().casDel(`${p}k`, "tenant-1 ")).toBe(false);
        expect(await kv().get(`${p}k`)).toBe("tenant-1");
        expect(await kv().casDel(`${p}k`, "tenant-1")).toBe(true);
        expect(await kv().exists(`${p}k`)).toBe(false);
        await kv().set(`${p}e`, "");
        expect(await kv().casDel(`${p}e`, "")).toBe(true);
        expect(await kv().exists(`${p}e`)).toBe(false);
      });

      it("consume returns the value once and deletes the key", async () => {
        const p = prefix();
        expect(await kv().consume(`${p}missing`)).toBeNull();
        await kv().set(`${p}k`, '{"id":"r1"}', { ttlMs: 60_000 });
        expect(await kv().consume(`${p}k`)).toBe('{"id":"r1"}');
        expect(await kv().consume(`${p}k`)).toBeNull();
        expect(await kv().exists(`${p}k`)).toBe(false);
      });

      it("consume race: exactly one of 20 concurrent consumers gets the value", async () => {
        const k = `${prefix()}once`;
        await kv().set(k, "payload", { ttlMs: 60_000 });
        const results = await Promise.all(Array.from({ length: 20 }, () => kv().consume(k)));
        expect(results.filter((r) => r === "payload")).toHaveLength(1);
        expect(results.filter((r) => r === null)).toHaveLength(19);
        expect(await kv().exists(k)).toBe(false);
      });

      it("hconsumeIf: ABSENT / MISMATCH keeps the hash / CONSUMED returns every field and deletes", async () => {
        const p = prefix();
        const k = `${p}h`;
        expect(await kv().hconsumeIf(k, "type", "A")).toEqual({ status: "ABSENT" });
        await kv().hset(k, "type", "A");
        await kv().hset(k, "ü", "wert ✓");
        await kv().hset(k, "empty", "");
        await kv().expire(k, 900);
        expect(await kv().hconsumeIf(k, "type", "B")).toEqual({ status: "MISMATCH" });
        expect(await kv().hconsumeIf(k, "missing", "")).toEqual({ status: "MISMATCH" });
        expect(await kv().hconsumeIf(k, "type", "")).toEqual({ status: "MISMATCH" });
        expect(await kv().hlen(k)).toBe(3);
        expect(await kv().pttl(k)).toBeGreaterThan(0);
        expect(await kv().hconsumeIf(k, "type", "A")).toEqual({
          status: "CONSUMED",
          fields: new Map([
            ["type", "A"],
            ["ü", "wert ✓"],
            ["empty", ""],
          ]),
        });
        expect(await kv().exists(k)).toBe(false);
        expect(await kv().hconsumeIf(k, "type", "A")).toEqual({ status: "ABSENT" });
        // An empty expected value matches a field that holds "" (not an absent one).
        await kv().hset(k, "empty", "");
        expect(await kv().hconsumeIf(k, "empty", "")).toEqual({
          status: "CONSUMED",
          fields: new Map([["empty", ""]]),
        });
      });

      it("hconsumeIf race: exactly one of 20 concurrent consumers gets CONSUMED", async () => {
        const k = `${prefix()}race`;
        await kv().hset(k, "type", "EMAIL_SIGNIN");
        await kv().hset(k, "email", "a@x.com");
        await kv().expire(k, 900);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => kv().hconsumeIf(k, "type", "EMAIL_SIGNIN")),
        );
        expect(results.filter((r) => r.status === "CONSUMED")).toEqual([
          {
            status: "CONSUMED",
            fields: new Map([
              ["type", "EMAIL_SIGNIN"],
              ["email", "a@x.com"],
            ]),
          },
        ]);
        expect(results.filter((r) => r.status === "ABSENT")).toHaveLength(19);
      });

      it("rlIncr counts within a window, sets the window TTL once, restarts after expiry", async () => {
        const p = prefix();
        const h1 = await kv().rlIncr(`${p}rl`, 10_000);
        expect(h1.count).toBe(1);
        expect(h1.pttlMs).toBeGreaterThan(8_000);
        expect(h1.pttlMs).toBeLessThanOrEqual(10_000);
        const h2 = await kv().rlIncr(`${p}rl`, 60_000);
        expect(h2.count).toBe(2);
        // The window is not restarted by later hits.
        expect(h2.pttlMs).toBeLessThanOrEqual(h1.pttlMs);
        // A counter without TTL (e.g. left by a crash) gets the window.
        await kv().set(`${p}stuck`, "7");
        const h3 = await kv().rlIncr(`${p}stuck`, 5_000);
        expect(h3).toEqual({ count: 8, pttlMs: expect.any(Number) });
        expect(h3.pttlMs).toBeGreaterThan(3_000);
        expect(h3.pttlMs).toBeLessThanOrEqual(5_000);
        // After the window the count restarts.
        const s1 = await kv().rlIncr(`${p}short`, 80);
        expect(s1.count).toBe(1);
        await kv().rlIncr(`${p}short`, 80);
        await eventually(
          () => kv().exists(`${p}short`),
          (e) => !e,
        );
        expect((await kv().rlIncr(`${p}short`, 10_000)).count).toBe(1);
        await kv().set(`${p}nan`, "x");
        await expectTiktiError(kv().rlIncr(`${p}nan`, 1000), "INTERNAL");
      });

      it("rlIncr race: 30 concurrent hits count 1..30", async () => {
        const k = `${prefix()}rlrace`;
        const hits = await Promise.all(Array.from({ length: 30 }, () => kv().rlIncr(k, 60_000)));
        expect(hits.map((h) => h.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
        for (const h of hits) expect(h.pttlMs).toBeGreaterThan(0);
      });

      it("idxAdd writes the field and extends the TTL, never shortens it", async () => {
        const k = `${prefix()}idx`;
        await kv().idxAdd(k, "t1:s1", '{"userId":"u1"}', 10_000);
        expect(await kv().hget(k, "t1:s1")).toBe('{"userId":"u1"}');
        const t1 = await kv().pttl(k);
        expect(t1).toBeGreaterThan(8_000);
        expect(t1).toBeLessThanOrEqual(10_000);
        await kv().idxAdd(k, "t1:s2", '{"userId":"u2"}', 2_000);
        expect(await kv().pttl(k)).toBeGreaterThan(8_000);
        await kv().idxAdd(k, "t1:s3", '{"userId":"u3"}', 60_000);
        expect(await kv().pttl(k)).toBeGreaterThan(50_000);
        await kv().idxAdd(k, "t1:s1", '{"userId":"u1b"}', 1_000);
        expect(await kv().pttl(k)).toBeGreaterThan(50_000);
        expect(await kv().hgetall(k)).toEqual(
          new Map([
            ["t1:s1", '{"userId":"u1b"}'],
            ["t1:s2", '{"userId":"u2"}'],
            ["t1:s3", '{"userId":"u3"}'],
          ]),
        );
      });
    });

    describe("type errors", () => {
      it("a command on a key of another type fails with INTERNAL (WRONGTYPE) and changes nothing", async () => {
        const p = prefix();
        const s = `${p}string`;
        const h = `${p}hash`;
        const st = `${p}set`;
        await kv().set(s, "v");
        await kv().hset(h, "f", "v");
        await kv().sadd(st, "m");
        const misuse: Array<[string, () => Promise<unknown>]> = [
          ["get hash", () => kv().get(h)],
          ["get set", () => kv().get(st)],
          ["incr hash", () => kv().incr(h)],
          ["hget string", () => kv().hget(s, "f")],
          ["hset string", () => kv().hset(s, "f", "v")],
          ["hsetnx set", () => kv().hsetnx(st, "f", "v")],
          ["hdel string", () => kv().hdel(s, "f")],
          ["hgetall set", () => kv().hgetall(st)],
          ["hlen string", () => kv().hlen(s)],
          ["hscan string", () => collect(kv().hscan(s))],
          ["sadd hash", () => kv().sadd(h, "m")],
          ["srem string", () => kv().srem(s, "m")],
          ["smembers hash", () => kv().smembers(h)],
          ["casHset string", () => kv().casHset(s, "f", null, "v")],
          ["casSet hash", () => kv().casSet(h, null, "v")],
          ["casDel set", () => kv().casDel(st, "m")],
          ["consume hash", () => kv().consume(h)],
          ["hconsumeIf string", () => kv().hconsumeIf(s, "f", "v")],
          ["rlIncr hash", () => kv().rlIncr(h, 1000)],
          ["idxAdd string", () => kv().idxAdd(s, "f", "v", 1000)],
        ];
        for (const [name, op] of misuse) {
          let caught: unknown;
          try {
            await op();
          } catch (e) {
            caught = e;
          }
          expect(isTiktiError(caught), name).toBe(true);
          expect((caught as { code?: string }).code, name).toBe("INTERNAL");
        }
        expect(await kv().get(s)).toBe("v");
        expect(await kv().pttl(s)).toBe(-1);
        expect(await kv().hgetall(h)).toEqual(new Map([["f", "v"]]));
        expect(await kv().smembers(st)).toEqual(["m"]);
      });

      it("SET replaces a key of any type; DEL/EXISTS/EXPIRE/PTTL work on every type", async () => {
        const p = prefix();
        await kv().hset(`${p}h`, "f", "v");
        await kv().sadd(`${p}s`, "m");
        expect(await kv().set(`${p}h`, "nx", { nx: true })).toBe(false);
        expect(await kv().set(`${p}h`, "now a string")).toBe(true);
        expect(await kv().get(`${p}h`)).toBe("now a string");
        expect(await kv().exists(`${p}s`)).toBe(true);
        expect(await kv().pttl(`${p}s`)).toBe(-1);
        expect(await kv().del(`${p}s`)).toBe(true);
        expect(await kv().smembers(`${p}s`)).toEqual([]);
        // After DEL the name is free for another type.
        expect(await kv().hset(`${p}s`, "f", "v")).toBe(true);
      });
    });

    describe("failure translation", () => {
      it("after the backend is gone every operation rejects with STORE_UNAVAILABLE", async () => {
        const broken = await factory();
        try {
          const k = `${prefix()}k`;
          await broken.kv.set(k, "v");
          if (broken.breakConnection) await broken.breakConnection();
          else await broken.kv.close();
          const ops: Array<[string, () => Promise<unknown>]> = [
            ["ping", () => broken.kv.ping()],
            ["get", () => broken.kv.get(k)],
            ["set", () => broken.kv.set(k, "v")],
            ["del", () => broken.kv.del(k)],
            ["exists", () => broken.kv.exists(k)],
            ["expire", () => broken.kv.expire(k, 1)],
            ["pttl", () => broken.kv.pttl(k)],
            ["incr", () => broken.kv.incr(k)],
            ["hget", () => broken.kv.hget(k, "f")],
            ["hset", () => broken.kv.hset(k, "f", "v")],
            ["hsetnx", () => broken.kv.hsetnx(k, "f", "v")],
            ["hdel", () => broken.kv.hdel(k, "f")],
            ["hgetall", () => broken.kv.hgetall(k)],
            ["hlen", () => broken.kv.hlen(k)],
            ["hscan", () => collect(broken.kv.hscan(k))],
            ["sadd", () => broken.kv.sadd(k, "m")],
            ["srem", () => broken.kv.srem(k, "m")],
            ["smembers", () => broken.kv.smembers(k)],
            ["scan", () => collect(broken.kv.scan(k))],
            ["casHset", () => broken.kv.casHset(k, "f", null, "v")],
            ["casSet", () => broken.kv.casSet(k, null, "v")],
            ["casDel", () => broken.kv.casDel(k, "v")],
            ["consume", () => broken.kv.consume(k)],
            ["hconsumeIf", () => broken.kv.hconsumeIf(k, "f", "v")],
            ["rlIncr", () => broken.kv.rlIncr(k, 1000)],
            ["idxAdd", () => broken.kv.idxAdd(k, "f", "v", 1000)],
          ];
          for (const [name, op] of ops) {
            let caught: unknown;
            try {
              await op();
            } catch (e) {
              caught = e;
            }
            expect(isTiktiError(caught), `${name}: ${String(caught)}`).toBe(true);
            expect((caught as { code?: string }).code, name).toBe("STORE_UNAVAILABLE");
            expect((caught as { status?: number }).status, name).toBe(503);
          }
          // close() stays idempotent, even on a broken engine.
          await expect(broken.kv.close()).resolves.toBeUndefined();
          await expect(broken.kv.close()).resolves.toBeUndefined();
        } finally {
          await broken.cleanup();
        }
      });
    });
  });
}
