/**
 * Multi-core serving (`workers`, src/runtime/workers.ts, docs/adr/0006-multi-core-serving.md): the
 * real server with `workers: 2` on a real Redis, on Node and on Bun — both processes serve the one
 * port, enforce the connection limits, SIGTERM stops all of them with exit 0 — and the refusals and defaults of `planWorkers`.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../src/config/schema.ts";
import { planWorkers, type WorkerHost } from "../../src/runtime/workers.ts";
import { closedWithin, rawConnect, trickle } from "../support/raw-http.ts";
import { type RedisHandle, startRedis, waitFor } from "../support/redis-server.ts";
import { listeningCount, startTikti } from "../support/tikti-process.ts";

// A supervisor loads the whole program, then two workers do the same in parallel and each warms
// its own password threads (about 2.5x a single process's start); on a loaded 2-core machine that
// start ate the former 30 s per-test budget. Starts wait for events (every "tikti listening"
// line); the budget of these multi-process tests is raised, bounded
// (docs/adr/0067-test-timeouts-under-load.md).
const START_MS = 60_000;
const TEST_MS = 90_000;

/** One request on its own connection (no keep-alive), so the kernel picks a worker each time. */
function getOnce(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: "close" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(process.platform === "linux").each(["node", "bun"] as const)(
  "workers: 2 on Redis (%s)",
  (runtime) => {
    let redis: RedisHandle;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it(
      "runs two server processes on one port, both serve, and SIGTERM stops all with exit 0",
      async () => {
        const server = await startTikti({
          runtime,
          config: {
            redisAddr: redis.addr,
            workers: 2,
            http: { headersTimeoutSeconds: 1, shutdownDelaySeconds: 0, shutdownGraceSeconds: 5 },
          },
          listening: 2,
          timeoutMs: START_MS,
        });
        try {
          expect(listeningCount(server.stdout())).toBe(2);
          expect(server.stdout()).toMatch(/"msg":"tikti supervisor started".*"workers":2/);
          const workers = childPids(server.child.pid!);
          expect(workers).toHaveLength(2);

          // Fresh connections until the access logs show both workers answering (the kernel hashes
          // each connection to one of the two sockets).
          const served = () => {
            const seen = new Set<number>();
            for (const line of server.stdout().split("\n")) {
              if (!line.includes('"msg":"request"')) continue;
              const { worker } = JSON.parse(line) as { worker?: number };
              if (worker !== undefined) seen.add(worker);
            }
            return seen;
          };
          for (let i = 0; i < 200 && served().size < 2; i++) {
            expect(await getOnce(`${server.baseUrl}/healthz`)).toBe(200);
          }
          expect([...served()].sort()).toEqual([0, 1]);

          // The workers serve through the same node:http server as a single process, limits included
          // (on Bun it binds SO_REUSEPORT only as a cluster worker: ADR 0025). A slow header on each
          // of a few fresh connections is cut at headersTimeoutSeconds.
          const cuts = await Promise.all(
            [0, 1, 2, 3].map(async () => {
              const raw = await rawConnect(server.port);
              trickle(
                raw.socket,
                `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`,
                100,
              );
              const t = await closedWithin(raw, 10);
              return { t, answer: raw.received().slice(0, 12) };
            }),
          );
          for (const cut of cuts) {
            expect(cut.answer).toBe("HTTP/1.1 408");
            expect(cut.t).toBeGreaterThanOrEqual(0.9);
            expect(cut.t).toBeLessThanOrEqual(2.5);
          }

          expect(await server.stop("SIGTERM")).toBe(0);
          expect(workers.filter(alive)).toEqual([]);
        } finally {
          await server.stop("SIGKILL");
        }
      },
      TEST_MS,
    );

    it(
      "workers stop by themselves when the supervisor is killed (no orphan keeps the port)",
      async () => {
        const server = await startTikti({
          runtime,
          config: { redisAddr: redis.addr, workers: 2 },
          listening: 2,
          timeoutMs: START_MS,
        });
        const workers = childPids(server.child.pid!);
        expect(workers).toHaveLength(2);
        await server.stop("SIGKILL");
        expect(await waitFor(async () => workers.every((pid) => !alive(pid)), 15_000)).toBe(true);
      },
      TEST_MS,
    );
  },
);

describe("workers refusals", () => {
  it("refuses workers > 1 with the embedded store at startup (exit 2, names the key)", async () => {
    const started = startTikti({ runtime: "node", config: { workers: 2 } });
    await expect(started).rejects.toThrow(
      /exited with 2 before listening[\s\S]*config: workers: must be 1 with the embedded store/,
    );
  });
});

describe("planWorkers", () => {
  const linuxNode: WorkerHost = { runtime: "node", platform: "linux", nodeVersion: "24.1.0", cores: 8 };
  const config = (extra: Record<string, unknown>): Config =>
    configSchema.parse({ issuerBaseUrl: "https://id.example.com", ...extra });
  const redis = { redisAddr: "127.0.0.1:6379" };

  it("defaults to one per core with Redis, and to 1 with the embedded store", () => {
    expect(planWorkers(config(redis), linuxNode)).toBe(8);
    expect(planWorkers(config({ redisCluster: ["a:1"] }), { ...linuxNode, runtime: "bun" })).toBe(8);
    expect(planWorkers(config({}), linuxNode)).toBe(1);
  });

  it("defaults to 1 where SO_REUSEPORT serving is not offered (Deno, Node < 22.12, not Linux, port 0)", () => {
    expect(planWorkers(config(redis), { ...linuxNode, runtime: "deno" })).toBe(1);
    expect(planWorkers(config(redis), { ...linuxNode, nodeVersion: "22.11.0" })).toBe(1);
    expect(planWorkers(config(redis), { ...linuxNode, platform: "darwin" })).toBe(1);
    expect(planWorkers(config({ ...redis, port: 0 }), linuxNode)).toBe(1);
  });

  it("keeps an explicit value, and 1 always works", () => {
    expect(planWorkers(config({ ...redis, workers: 3 }), linuxNode)).toBe(3);
    expect(planWorkers(config({ workers: 1 }), { ...linuxNode, runtime: "deno" })).toBe(1);
    expect(planWorkers(config({ ...redis, workers: 2 }), { ...linuxNode, nodeVersion: "22.12.0" })).toBe(2);
  });

  it("refuses an explicit value > 1 that cannot work, naming the key", () => {
    expect(() => planWorkers(config({ workers: 2 }), linuxNode)).toThrow(
      /^config: workers: must be 1 with the embedded store/,
    );
    expect(() => planWorkers(config({ ...redis, workers: 2 }), { ...linuxNode, runtime: "deno" })).toThrow(
      /config: workers: must be 1 here: not offered on Deno/,
    );
    expect(() => planWorkers(config({ ...redis, workers: 2, port: 0 }), linuxNode)).toThrow(
      /config: workers: needs a fixed port/,
    );
  });

  it("is refused by the schema outside 1–1024", () => {
    expect(configSchema.safeParse({ workers: 0 }).success).toBe(false);
    expect(configSchema.safeParse({ workers: 1.5 }).success).toBe(false);
  });
});
