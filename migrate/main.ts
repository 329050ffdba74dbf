#!/usr/bin/env bun
/**
 * tikti-migrate: numbered, recorded, locked, idempotent data migrations for Redis, KVRocks, Redis
 * Cluster and the embedded store (docs/spec/cli.md Part B). Commands live one per file under
 * migrate/commands/ and are imported lazily, as are the migrations, so `--help`, `--version` and
 * flag errors stay instant.
 *
 * Exit codes (docs/spec/cli.md §9.5): 0 done · 1 failure (store error, lock held, errors counted, unknown
 * migration id, `--down` unsupported) · 2 completed with conflicts · 3 configuration error.
 */
import { defineCommand, renderUsage, runCommand } from "citty";
import { stripAnsi } from "../cli/errors.ts";
import { colourAllowed } from "../cli/output.ts";
import { createLogger } from "../src/logger.ts";
import type { KV } from "../src/store/kv.ts";
import { VERSION } from "../src/version.ts";
import type { MigrateCommand } from "./command.ts";
import { type MigrateIO, processIO } from "./io.ts";
import { findMigration, MIGRATIONS } from "./migrations/index.ts";
import { ARGS, type MigrateOptions, parseArgv, resolveOptions, UsageError } from "./options.ts";
import type { RunnerEnv } from "./runner.ts";
import { openTargetStore, StoreOpenError } from "./store.ts";

const TOOL_VERSION = `${VERSION.version} (${VERSION.commit})`;

const COMMANDS: Record<MigrateOptions["action"]["kind"], () => Promise<MigrateCommand>> = {
  run: () => import("./commands/run.ts"),
  list: () => import("./commands/list.ts"),
  down: () => import("./commands/down.ts"),
};

export const main = defineCommand({
  meta: {
    name: "tikti-migrate",
    version: TOOL_VERSION,
    description: "Apply Tikti's numbered data migrations to Redis or the embedded store",
  },
  args: ARGS,
  run: ({ rawArgs, data }) => dispatch(rawArgs, data as MigrateIO),
});

/** Runs tikti-migrate with `argv` (without the program name); resolves with the exit code. */
export async function cli(argv: readonly string[], io: MigrateIO): Promise<number> {
  const { result } = await runCommand(main, { rawArgs: [...argv], data: io });
  return result as number;
}

function usageError(io: MigrateIO, message: string): number {
  io.stderr(`error: ${message}`);
  io.stderr("run tikti-migrate --help for the flags");
  return 3;
}

async function dispatch(argv: readonly string[], io: MigrateIO): Promise<number> {
  let options: MigrateOptions;
  try {
    const parsed = parseArgv(argv);
    if (parsed.help) {
      // citty colours its usage unconditionally; a pipe, a log file or NO_COLOR gets plain text.
      const usage = await renderUsage(main);
      io.stdout(
        colourAllowed(io.stdoutIsTTY === true, io.env) ? usage : stripAnsi(usage).replace(/[ \t]+$/gm, ""),
      );
      return 0;
    }
    if (parsed.version) {
      io.stdout(`tikti-migrate ${TOOL_VERSION}`);
      return 0;
    }
    options = await resolveOptions(parsed, io.env, io.cwd);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message);
    throw err;
  }
  const known = MIGRATIONS.map((m) => m.id).join(", ");
  const unknown = [
    ...options.unknownIds,
    ...(options.action.kind === "down" ? [options.action.id] : []),
  ].filter((id) => !findMigration(id));
  if (unknown.length > 0) {
    io.stderr(`error: unknown migration id ${unknown.join(", ")} (known: ${known})`);
    return 1;
  }

  const logger = createLogger((line) => io.stderr(line), "error", { component: "tikti-migrate" });
  io.stderr(`tikti-migrate ${TOOL_VERSION}: ${options.target.display}${options.dryRun ? " (dry run)" : ""}`);
  let kv: KV;
  try {
    kv = await openTargetStore(options.target, logger, { connectTimeoutMs: io.connectTimeoutMs });
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message);
    if (err instanceof StoreOpenError) {
      io.stderr(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const env: RunnerEnv = {
    out: io.stdout,
    err: io.stderr,
    clock: io.clock,
    logger,
    holder: `${io.hostname}:${io.pid}:${crypto.randomUUID()}`,
    toolVersion: TOOL_VERSION,
    ...(io.lockRefreshMs !== undefined ? { lockRefreshMs: io.lockRefreshMs } : {}),
    interrupted: io.interrupted,
  };
  try {
    const command = await COMMANDS[options.action.kind]();
    return await command.execute({ kv, options, io, env });
  } finally {
    await kv.close().catch(() => {});
  }
}

if (import.meta.main) {
  const code = await cli(process.argv.slice(2), processIO());
  process.exit(code);
}
