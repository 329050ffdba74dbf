// Where /metrics is served (docs/spec/operations.md §6, docs/adr/0030-metrics-listener.md): its series
// carry tenant labels, so outside dev mode the default is a separate listener and the public port
// answers 404; the main port serves them only when the operator sets `metrics.port: 0`.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_METRICS_PORT } from "../../src/config/schema.ts";
import { freePort } from "../support/ports.ts";
import { type RuntimeName, startTikti, type TiktiProcess } from "../support/tikti-process.ts";

/** Outside dev mode: https issuer; an explicit loopback bindAddress keeps the test off the network. */
const production = { devMode: false, bindAddress: "127.0.0.1", issuerBaseUrl: "https://id.test.example" };

let server: TiktiProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** Fails with a clear reason instead of a confusing startup error when 9464 is taken on this machine. */
function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (e) =>
      reject(new Error(`port ${port} (the default metrics.port) is in use on this machine: ${e.message}`)),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

// Tests of one file run one after another, and no other test file binds 9464.
describe.each<RuntimeName>(["node", "bun", "deno"])(
  "/metrics listener on %s, outside dev mode",
  (runtime) => {
    it("by default: the main port answers 404 for /metrics, the separate port 9464 serves it", async () => {
      expect(DEFAULT_METRICS_PORT).toBe(9464);
      await assertPortFree(DEFAULT_METRICS_PORT);
      server = await startTikti({ runtime, config: production });
      const main = await get(`${server.baseUrl}/metrics`);
      expect(main.status).toBe(404);
      expect(main.body).not.toContain("tikti_http_requests_total");
      const metrics = await get(`http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain("# TYPE tikti_http_requests_total counter");
      expect(server.stdout()).toContain(`"metricsAddress":"127.0.0.1:${DEFAULT_METRICS_PORT}"`);
      // The metrics listener serves nothing else: the API stays on the main port.
      expect((await get(`http://127.0.0.1:${DEFAULT_METRICS_PORT}/healthz`)).status).toBe(404);
      expect((await get(`${server.baseUrl}/healthz`)).status).toBe(200);
    }, 60_000);
  },
);

describe("/metrics listener switches (node runtime, outside dev mode)", () => {
  it("the explicit opt-in metrics.port: 0 serves it on the main port", async () => {
    server = await startTikti({ runtime: "node", config: { ...production, metrics: { port: 0 } } });
    const main = await get(`${server.baseUrl}/metrics`);
    expect(main.status).toBe(200);
    expect(main.body).toContain("# TYPE tikti_http_requests_total counter");
  }, 60_000);

  it("metrics.enabled: false serves it nowhere", async () => {
    const metricsPort = await freePort();
    server = await startTikti({
      runtime: "node",
      config: { ...production, metrics: { enabled: false, port: metricsPort } },
    });
    expect((await get(`${server.baseUrl}/metrics`)).status).toBe(404);
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  }, 60_000);
});

describe("dev mode keeps the quick-start simple", () => {
  it("serves /metrics on the main port by default (metrics.port defaults to 0 in dev mode)", async () => {
    server = await startTikti({ runtime: "node" }); // the harness config is dev mode
    const main = await get(`${server.baseUrl}/metrics`);
    expect(main.status).toBe(200);
    expect(main.body).toContain("tikti_http_requests_total");
  }, 60_000);
});
