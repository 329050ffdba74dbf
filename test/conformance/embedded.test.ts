import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import { runKvConformance } from "./suite.ts";

runKvConformance("embedded (node:sqlite)", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "tikti-conf-"));
  const kv = await openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite });
  return {
    kv,
    cleanup: async () => {
      await kv.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
