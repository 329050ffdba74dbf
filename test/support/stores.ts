import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";

/** An embedded store in a fresh temp dir (node:sqlite). */
export async function openTempEmbedded(): Promise<KV> {
  return openEmbeddedStore({
    dataDir: await mkdtemp(join(tmpdir(), "tikti-test-")),
    logger: silentLogger,
    openSqlite,
  });
}
