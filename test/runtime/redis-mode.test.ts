import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisHandle, startRedis } from "../support/redis-server.ts";
import { startTikti, type TiktiProcess } from "../support/tikti-process.ts";

async function readyz(server: TiktiProcess) {
  const res = await fetch(`${server.baseUrl}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: Record<string, string> },
  };
}

/** Polls /readyz until it answers `status` (bounded), returning the last answer. */
async function readyzUntil(server: TiktiProcess, status: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await readyz(server);
  while (last.status !== status && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await readyz(server);
  }
  return last;
}

// The server started as `npm start -- -f <file>` does (Bun), with redisAddr pointing at a real Redis.
describe("server with redisAddr on a real redis-server", () => {
  let redis: RedisHandle;
  let server: TiktiProcess;

  beforeAll(async () => {
    redis = await startRedis();
    server = await startTikti({ runtime: "bun", config: { redisAddr: redis.addr } });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    await redis?.stop();
  });

  it("uses the Redis engine and is ready", async () => {
    expect(server.stdout()).toMatch(/"msg":"tikti listening".*"store":"redis"/);
    const r = await readyzUntil(server, 200);
    expect(r.body).toMatchObject({ status: "ready", checks: { store: "ok" } });
  });

  it("reports not ready while Redis is down and heals by itself when it returns", async () => {
    const signUp = () =>
      fetch(`${server.baseUrl}/accounts/signUp`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: `u${Math.random().toString(36).slice(2)}@example.com`,
          password: "long enough pw",
        }),
      });
    const tenants = () => fetch(`${server.baseUrl}/tenants`, { headers: { "X-API-Key": server.apiKey } });
    expect((await signUp()).status).toBe(200);

    await redis.kill();
    // Routes that need the store answer 503 STORE_UNAVAILABLE with Retry-After, fast (no queueing).
    const started = Date.now();
    for (const res of [await signUp(), await tenants()]) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect(await res.json()).toEqual({ error: "service unavailable", code: "STORE_UNAVAILABLE" });
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    const down = await readyzUntil(server, 503);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("not_ready");
    expect(down.body.checks.store).not.toBe("ok");
    // Liveness is unaffected by the store.
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);

    await redis.restart();
    const up = await readyzUntil(server, 200);
    expect(up.body).toMatchObject({ status: "ready", checks: { store: "ok" } });
    // The same process serves store-backed routes again, without a restart.
    expect((await signUp()).status).toBe(200);
    expect((await tenants()).status).toBe(200);
  });
});

// Processes start in hooks (hookTimeout 120 s), not inside the 30 s test: under load the Node
// start-up alone could eat the test's budget (docs/adr/0067-test-timeouts-under-load.md).
describe("server started while Redis is unreachable", () => {
  let redis: RedisHandle;
  let server: TiktiProcess;

  beforeAll(async () => {
    redis = await startRedis();
    await redis.kill();
    server = await startTikti({ runtime: "node", config: { redisAddr: redis.addr } });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
    await redis?.stop();
  });

  it("starts anyway, reports not ready, and becomes ready once Redis appears", async () => {
    const down = await readyz(server);
    expect(down.status).toBe(503);
    await redis.restart();
    const up = await readyzUntil(server, 200);
    expect(up.status).toBe(200);
  });
});
