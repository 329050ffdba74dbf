import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";

/** Stores opened by this test file, closed and deleted after it (`npm test` leaves no temp dirs). */
const opened: Array<{ kv: KV; dir: string }> = [];

async function cleanUp(): Promise<void> {
  for (const { kv, dir } of opened.splice(0)) {
    await kv.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

// Registered when a test file imports this module (as testing-library registers its cleanup);
// vitest's forks end without "exit" handlers, so a process hook would never run. Imported
// lazily inside a running test, registering fails: close() still deletes the directory then.
try {
  afterAll(cleanUp);
} catch {
  // not collecting: see above
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
