/**
 * Opens the store chosen by the flags. `migrate/` is an edge like `src/runtime/`: it picks the
 * SQLite driver of the runtime it runs on (the compiled binary runs on Bun, tests on Node).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../src/logger.ts";
import { EMBEDDED_DB_FILE, openEmbeddedStore } from "../src/runtime/embedded-open.ts";
import type { KV } from "../src/store/kv.ts";
import { createRedisStore } from "../src/store/redis.ts";
import type { SqliteDb } from "../src/store/sqlite.ts";
import { NO_STORE_CHOSEN, type StoreTarget, UsageError } from "./options.ts";
import { describeError } from "./runner.ts";

/** The store could not be opened or reached: exit 1 (docs/spec/cli.md §9.5 "store error"). */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
}

async function sqliteDriver(): Promise<(path: string) => SqliteDb> {
  const mod =
    typeof Bun !== "undefined"
      ? await import("../src/runtime/sqlite-bun.ts")
      : await import("../src/runtime/sqlite-node.ts");
  return mod.openSqlite;
}

export async function openTargetStore(
  target: StoreTarget,
  logger: Logger,
  options: { connectTimeoutMs?: number } = {},
): Promise<KV> {
  if (target.kind === "embedded") {
    // A typo in --data-dir must not create an empty store and "migrate" it successfully.
    if (!existsSync(join(target.dataDir, EMBEDDED_DB_FILE))) {
      throw new UsageError(`--data-dir: ${target.dataDir} holds no embedded store (${EMBEDDED_DB_FILE})`);
    }
    try {
      return await openEmbeddedStore({ dataDir: target.dataDir, logger, openSqlite: await sqliteDriver() });
    } catch (err) {
      throw new StoreOpenError((err as Error).message, { cause: err });
    }
  }
  // The engine logs a refused AUTH at error level and keeps retrying: while connecting, that ends
  // the wait at once with the engine's message (which never contains the password).
  let refused: string | undefined;
  let connecting = true;
  // With no store chosen, the first failed connection to the guessed default ends the wait too.
  let unreachable = false;
  const watch = (l: Logger): Logger => ({
    debug: (m, f) => l.debug(m, f),
    info: (m, f) => l.info(m, f),
    warn: (m, f) => {
      if (connecting && target.implicit) unreachable = true;
      else l.warn(m, f);
    },
    error: (m, f) => {
      if (connecting) refused ??= m;
      else l.error(m, f);
    },
    child: (f) => watch(l.child(f)),
  });
  let kv: KV;
  try {
    kv = createRedisStore({
      ...(target.addr !== undefined ? { addr: target.addr } : {}),
      ...(target.url !== undefined ? { url: target.url } : {}),
      ...(target.cluster !== undefined ? { cluster: target.cluster } : {}),
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.cluster === undefined ? { db: target.db } : {}),
      tls: target.tls,
      timeoutMs: target.timeoutMs,
      logger: watch(logger),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // The engine connects in the background; a migration wants the store up before it starts.
  const timeoutMs = Math.min(options.connectTimeoutMs ?? 10_000, target.implicit ? 2_000 : Infinity);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kv.ping();
      connecting = false;
      return kv;
    } catch (err) {
      if (refused !== undefined) {
        await kv.close().catch(() => {});
        throw new StoreOpenError(`${target.display}: ${refused}`);
      }
      if (target.implicit && (unreachable || Date.now() >= deadline)) {
        await kv.close().catch(() => {});
        throw new UsageError(NO_STORE_CHOSEN);
      }
      if (Date.now() >= deadline) {
        await kv.close().catch(() => {});
        const why = describeError(err);
        const safe = target.password ? why.split(target.password).join("****") : why;
        throw new StoreOpenError(`${target.display} did not answer within ${timeoutMs / 1000} s: ${safe}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
