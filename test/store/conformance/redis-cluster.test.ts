/**
 * The Redis engine against a real 3-master Redis Cluster: the shared conformance suite, then what
 * only a cluster has — keys and scripts spread over every master, SCAN merged from every master
 * (docs/spec/storage.md §8), a master going away and coming back, and seeds that are down at startup.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTiktiError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import type { KV } from "../../../src/store/kv.ts";
import { createRedisStore } from "../../../src/store/redis.ts";
import {
  type RedisClusterHandle,
  type RedisHandle,
  rawClient,
  startRedisCluster,
  waitFor,
  waitForStore,
} from "../../support/redis-server.ts";
import { abortSignalTimeoutsDuring } from "../support.ts";
import { runKvConformance } from "./suite.ts";

runKvConformance("redis-cluster", async () => {
  const cluster = await startRedisCluster({ masters: 3 });
  const kv = createRedisStore({ cluster: cluster.nodes, logger: silentLogger });
  await waitForStore(kv);
  return {
    kv,
    cleanup: async () => {
      await kv.close();
      await cluster.stop();
    },
    breakConnection: async () => {
      await Promise.all(cluster.servers.map((s) => s.kill()));
    },
  };
});

async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

/** Keys stored on one node, read with that node's own SCAN (bypassing the store). */
async function keysOnNode(server: RedisHandle, match: string): Promise<string[]> {
  const raw = await rawClient(server);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = (await raw.sendCommand(["SCAN", cursor, "MATCH", match, "COUNT", "500"])) as [
        string,
        string[],
      ];
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return keys;
  } finally {
    raw.destroy();
  }
}

async function healthy(kv: KV, key: string): Promise<boolean> {
  try {
    await kv.ping();
    await kv.get(key);
    return true;
  } catch {
    return false;
  }
}

describe("redis-cluster engine: slots, scans, node loss", () => {
  let cluster: RedisClusterHandle;
  let kv: KV;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    kv = createRedisStore({ cluster: cluster.nodes, timeoutMs: 500, logger: silentLogger });
    await waitForStore(kv);
  });
  afterAll(async () => {
    await kv?.close();
    await cluster?.stop();
  });

  it("an answered command leaves no timer behind (node-redis' per-command timeout is off)", async () => {
    const made = await abortSignalTimeoutsDuring(async () => {
      for (let i = 0; i < 8; i++) await kv.set(`timers:${i}`, "v");
      expect(await kv.get("timers:7")).toBe("v");
    });
    expect(made).toBe(0);
  });

  it("names its engine", () => {
    expect(kv.engine).toBe("redis-cluster");
  });

  it("keys and scripts over many slots land on every master; scan(prefix) merges all masters", async () => {
    const p = `spread:${crypto.randomUUID().slice(0, 8)}:`;
    const keys = Array.from({ length: 120 }, (_, i) => `${p}k${i}`);
    await Promise.all(keys.map((k, i) => kv.set(k, `v${i}`)));
    // Every master holds some of them (read from each node directly).
    const perNode = await Promise.all(cluster.servers.map((s) => keysOnNode(s, `${p}*`)));
    for (const onNode of perNode) expect(onNode.length).toBeGreaterThan(0);
    expect(perNode.flat().sort()).toEqual([...keys].sort());
    // The store reads them all back, runs single-key scripts on each slot, and finds them by scan.
    expect(await Promise.all(keys.map((k) => kv.get(k)))).toEqual(keys.map((_, i) => `v${i}`));
    expect(await Promise.all(keys.map((k, i) => kv.casSet(k, `v${i}`, `w${i}`)))).toEqual(
      keys.map(() => true),
    );
    expect(await Promise.all(keys.map((k) => kv.consume(k)))).toEqual(keys.map((_, i) => `w${i}`));
    await Promise.all(keys.map((k) => kv.rlIncr(k, 60_000)));
    const scanned = await collect(kv.scan(p, 10));
    expect(new Set(scanned)).toEqual(new Set(keys));
    expect(await collect(kv.scan(`${p}none`))).toEqual([]);
  });

  it("hashes and sets on several slots (users_v2-style hash, memberships sets)", async () => {
    const p = `hs:${crypto.randomUUID().slice(0, 8)}:`;
    const hashes = Array.from({ length: 12 }, (_, i) => `${p}memberships:t${i}`);
    for (const h of hashes) {
      expect(await kv.hset(h, "u1", "{}")).toBe(true);
      expect(await kv.casHset(h, "u1", "{}", '{"roles":[]}')).toBe(true);
      expect(await kv.sadd(`${h}:set`, "m")).toBe(true);
    }
    for (const h of hashes) {
      expect(await kv.hgetall(h)).toEqual(new Map([["u1", '{"roles":[]}']]));
      expect(await kv.smembers(`${h}:set`)).toEqual(["m"]);
    }
    const owners = await Promise.all(cluster.servers.map((s) => keysOnNode(s, `${p}*`)));
    expect(owners.filter((o) => o.length > 0).length).toBeGreaterThan(1);
  });

  it("a master that dies: STORE_UNAVAILABLE without hanging; the same store recovers after restart", async () => {
    const victim = cluster.servers[0]!;
    const p = `loss:${crypto.randomUUID().slice(0, 8)}:`;
    // A key owned by the victim.
    let key = "";
    for (let i = 0; !key; i++) {
      await kv.set(`${p}${i}`, "v");
      if ((await keysOnNode(victim, `${p}${i}`)).length === 1) key = `${p}${i}`;
    }
    await victim.kill();
    const started = Date.now();
    for (const op of [
      () => kv.get(key),
      () => kv.casSet(key, "v", "w"),
      () => kv.ping(),
      () => collect(kv.scan(p)),
    ]) {
      let caught: unknown;
      try {
        await op();
      } catch (e) {
        caught = e;
      }
      expect(isTiktiError(caught), String(caught)).toBe(true);
      expect((caught as { code?: string }).code).toBe("STORE_UNAVAILABLE");
    }
    expect(Date.now() - started).toBeLessThan(4 * 500 + 1_000);

    await victim.restart();
    expect(await waitFor(() => healthy(kv, key), 15_000)).toBe(true);
    // The data died with the node (no persistence); the slot works again.
    expect(await kv.set(key, "again")).toBe(true);
    expect(await kv.get(key)).toBe("again");
  }, 30_000);
});

describe("redis-cluster engine: startup", () => {
  it("starts while every seed is down and connects when the cluster comes back", async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    try {
      await Promise.all(cluster.servers.map((s) => s.kill()));
      // The store is there at once — a value, not a promise to wait for — whatever the network
      // says (a wall-clock bound here only measured the machine's load).
      const kv = createRedisStore({ cluster: cluster.nodes, timeoutMs: 500, logger: silentLogger });
      expect(typeof (kv as unknown as { then?: unknown }).then).toBe("undefined");
      try {
        let caught: unknown;
        try {
          await kv.get("k");
        } catch (e) {
          caught = e;
        }
        expect(isTiktiError(caught) && caught.code).toBe("STORE_UNAVAILABLE");
        // The nodes come back with their cluster config (nodes.conf in their dirs).
        await Promise.all(cluster.servers.map((s) => s.restart()));
        // PING answers as soon as a node is up; data commands get CLUSTERDOWN (STORE_UNAVAILABLE)
        // until the restarted nodes agree again, so poll with a data command.
        expect(await waitFor(() => healthy(kv, "k"), 15_000)).toBe(true);
        expect(await kv.set("k", "v")).toBe(true);
        expect(await kv.get("k")).toBe("v");
      } finally {
        await kv.close();
      }
    } finally {
      await cluster.stop();
    }
  }, 30_000);
});
