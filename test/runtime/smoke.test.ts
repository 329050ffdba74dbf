import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RuntimeName, startTikti, type TiktiProcess } from "../support/tikti-process.ts";
import { smokeCases } from "./cases.ts";

// The same server source on each runtime, embedded store, real sockets.
describe.each<RuntimeName>(["bun", "node", "deno"])("server on %s", (runtime) => {
  let server: TiktiProcess;
  beforeAll(async () => {
    server = await startTikti({ runtime });
  });
  afterAll(async () => {
    await server?.stop("SIGKILL");
  });

  for (const c of smokeCases) it(c.name, () => c.run(server));

  it("logs JSON lines that never contain the API key", () => {
    const lines = server.stdout().trim().split("\n");
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(server.stdout()).not.toContain(server.apiKey);
    expect(lines.some((l) => JSON.parse(l).msg === "request")).toBe(true);
  });
});

describe.each<RuntimeName>(["bun", "node", "deno"])("graceful shutdown on %s", (runtime) => {
  it("turns /readyz 503 at once on SIGTERM, keeps serving during the delay, then exits 0", async () => {
    const server = await startTikti({
      runtime,
      // A 3 s drain leaves room to observe it even on a loaded 2-core CI machine.
      config: { http: { shutdownDelaySeconds: 3, shutdownGraceSeconds: 5 } },
    });
    try {
      server.child.kill("SIGTERM");
      // Poll until the signal has been handled (observable only through HTTP), within the drain.
      let res: Response | undefined;
      const deadline = Date.now() + 2_500;
      while (Date.now() < deadline) {
        res = await fetch(`${server.baseUrl}/readyz`);
        if (res.status === 503) break;
        await res.body?.cancel();
      }
      expect(res?.status).toBe(503);
      expect((await res!.json()).checks.shutdown).not.toBe("ok");
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
      expect(await server.exited).toBe(0);
      expect(server.stdout()).toContain('"msg":"tikti stopped"');
    } finally {
      await server.stop("SIGKILL");
    }
  }, 60_000);
});
