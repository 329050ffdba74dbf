import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../src/logger.ts";
import { openEmbeddedStore } from "../../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../../src/runtime/sqlite-node.ts";
import type { SqliteDb } from "../../../src/store/sqlite.ts";
import { runKvConformance } from "./suite.ts";

// The embedded engine on node:sqlite, in a fresh data dir per context. The Bun (bun:sqlite) and
// Deno paths are exercised by test/store/embedded-store.test.ts through child processes.
runKvConformance("embedded (node:sqlite)", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "tikti-conf-"));
  let raw: SqliteDb | undefined;
  const kv = await openEmbeddedStore({
    dataDir,
    logger: silentLogger,
    openSqlite: (path) => {
      raw = openSqlite(path);
      return raw;
    },
  });
  return {
    kv,
    // Closing the connection under the engine: every failure must come through the driver's
    // error translation, not the engine's own "closed" flag.
    breakConnection: async () => raw?.close(),
    cleanup: async () => {
      await kv.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
