/**
 * The server started as a real process with SAML enabled on a real redis-server (issue 11 item 16).
 * A Redis store connects in the background; the start must not read the SP rotation state before the
 * connection is up, which logged a spurious "SP rotation state unreadable" warning and left the state
 * unread until the next key reload. Here the server starts while its store is still connecting: no
 * warning on any runtime, and the first read happened before "tikti listening" (a prepared rotation
 * shows in the state gauge at once). When Redis stays down, the warning is still logged and the
 * server still starts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../../src/store/keys.ts";
import { type RedisHandle, rawClient, startRedis } from "../../support/redis-server.ts";
import { startTikti, type TiktiProcess } from "../../support/tikti-process.ts";
import { makeCert, rsaKey, type SpFiles, samlConfig, spFiles } from "../metadata/helpers.ts";

const UNREADABLE = "SP rotation state unreadable";
const RESTART_AFTER_MS = 6_000;

describe("SAML + Redis start (real processes)", () => {
  let redis: RedisHandle;
  let files: SpFiles;
  const servers: TiktiProcess[] = [];

  beforeAll(async () => {
    // Durable, so the rotation state written here survives the restarts below.
    redis = await startRedis({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
    files = await spFiles();
    await files.install("current", await makeCert({ key: await rsaKey("startup-sp"), cn: "tikti-sp" }));
    // A prepared rotation (its next pair is not loaded here: readiness says so, starting does not care).
    const client = await rawClient(redis);
    const now = new Date().toISOString();
    await client.set(
      keys.samlRotation(),
      JSON.stringify({
        state: "prepared",
        currentSha256: "a".repeat(64),
        nextSha256: "b".repeat(64),
        preparedAt: now,
        commitNotBefore: now,
        committedAt: null,
      }),
    );
    client.destroy();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop("SIGKILL");
    await redis?.stop();
    await files?.cleanup();
  });

  /**
   * Starts the server while Redis is down and brings Redis back a while after the server reports
   * the refused connection: long enough for the start to reach its first rotation-state read (key
   * files, password workers) while the store is still connecting — where that read used to fail at
   * once — and well inside the bounded wait the fix gives it (`redisTimeoutMs`).
   */
  const startWhileConnecting = async (runtime: "node" | "bun" | "deno") => {
    await redis.kill();
    let restarted: Promise<void> | undefined;
    const server = await startTikti({
      runtime,
      config: { redisAddr: redis.addr, redisTimeoutMs: 30_000, saml: samlConfig(files) },
      onStdout: (chunk) => {
        if (!restarted && chunk.includes('"msg":"redis connection error"')) {
          restarted = new Promise((r) => setTimeout(r, RESTART_AFTER_MS)).then(() => redis.restart());
        }
      },
      timeoutMs: 60_000,
    });
    servers.push(server);
    await restarted;
    return server;
  };

  it.each(["node", "bun", "deno"] as const)(
    "%s: reads the rotation state once connected, no warning",
    async (runtime) => {
      const server = await startWhileConnecting(runtime);
      expect(server.stdout()).toContain('"msg":"redis connection error"');
      const warnings = server
        .stdout()
        .split("\n")
        .filter((l) => l.includes('"level":"warn"') && l.includes(UNREADABLE));
      expect(warnings).toEqual([]);
      // The state was read before "tikti listening": the gauge shows the prepared rotation at once.
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^tikti_saml_sp_rotation_state 1$/m);
      await server.stop("SIGKILL");
    },
    // A runtime's start on a busy machine (up to ~25 s measured) plus the 6 s outage.
    90_000,
  );

  it("still warns when Redis stays down at start, and starts anyway", async () => {
    await redis.kill();
    try {
      const server = await startTikti({
        runtime: "node",
        config: { redisAddr: redis.addr, saml: samlConfig(files) },
      });
      servers.push(server);
      expect(server.stdout()).toContain(`"msg":"${UNREADABLE}"`);
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^tikti_saml_sp_rotation_state 0$/m);
      await server.stop("SIGKILL");
    } finally {
      await redis.restart();
    }
  }, 60_000);
});
