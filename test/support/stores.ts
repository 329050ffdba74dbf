import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";

/** Stores opened by this test file, closed and deleted after it (`npm test` leaves no temp dirs). */
const opened: Array<{ kv: KV; dir: string }> = [];

/**
 * Closes and deletes what the current test file opened. Run after every file by the setup file
 * (test/support/setup-children.ts): a registration at import time would run for the first file of
 * a fork only when forks share their module cache (the fast project's `isolate: false`).
 */
export async function cleanUpTempStores(): Promise<void> {
  for (const { kv, dir } of opened.splice(0)) {
    await kv.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** An embedded store in a fresh temp dir (node:sqlite), deleted after the test file or on close(). */
export async function openTempEmbedded(): Promise<KV> {
  const dir = await mkdtemp(join(tmpdir(), "tikti-test-"));
  const kv = await openEmbeddedStore({ dataDir: dir, logger: silentLogger, openSqlite });
  opened.push({ kv, dir });
  return new Proxy(kv, {
    get: (target, prop) => {
      if (prop === "close") {
        return async () => {
          await target.close();
          await rm(dir, { recursive: true, force: true });
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
