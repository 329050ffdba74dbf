// metrics.port defaults (docs/spec/operations.md §2.2, §6; docs/adr/0030-metrics-listener.md): a
// separate listener outside dev mode, the main port in dev mode or when the operator sets 0.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/load.ts";
import { createConfigIO } from "../../src/runtime/config-io.ts";
import { baseDoc, loadDoc, makeKeys, refusal, type TestKeys } from "./config-support.ts";

let keys: TestKeys;
beforeAll(() => {
  keys = makeKeys();
});

describe("metrics.port", () => {
  test("outside dev mode it defaults to the separate port 9464", async () => {
    const { config } = await loadDoc(baseDoc(keys));
    expect(config.devMode).toBe(false);
    expect(config.metrics).toEqual({ enabled: true, port: 9464 });
  });

  test("0 is the operator's explicit choice of the main port", async () => {
    const { config } = await loadDoc({ ...baseDoc(keys), metrics: { port: 0 } });
    expect(config.metrics.port).toBe(0);
    const env = await loadDoc(baseDoc(keys), { env: { TIKTI_METRICS__PORT: "0" } });
    expect(env.config.metrics.port).toBe(0);
  });

  test("an explicit port is kept", async () => {
    const { config } = await loadDoc({ ...baseDoc(keys), metrics: { port: 9100 } });
    expect(config.metrics.port).toBe(9100);
  });

  test("devMode: true defaults to the main port (0)", async () => {
    const { config } = await loadDoc({
      ...baseDoc(keys),
      devMode: true,
      issuerBaseUrl: "http://127.0.0.1:8080",
    });
    expect(config.metrics.port).toBe(0);
  });

  test("the quick-start (no file, no Redis) serves /metrics on the main port", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "tikti-config-"));
    try {
      const loaded = await loadConfig(createConfigIO({ cwd, env: {} }), {});
      expect(loaded.devQuickStart).toBe(true);
      expect(loaded.config.metrics.port).toBe(0);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  test("a main port equal to the default metrics port is refused, naming metrics.port", async () => {
    expect(await refusal(() => loadDoc({ ...baseDoc(keys), port: 9464 }))).toContain(
      "config: metrics.port: must differ from port",
    );
  });
});
