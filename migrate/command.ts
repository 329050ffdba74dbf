import type { KV } from "../src/store/kv.ts";
import type { MigrateIO } from "./io.ts";
import type { MigrateOptions } from "./options.ts";
import type { RunnerEnv } from "./runner.ts";

/** What every command of migrate/commands/ gets: the opened store, the options, the process. */
export interface CommandContext {
  kv: KV;
  options: MigrateOptions;
  io: MigrateIO;
  env: RunnerEnv;
}

/** A command module (one per file, imported lazily by migrate/main.ts). */
export interface MigrateCommand {
  /** Returns the exit code. */
  execute(ctx: CommandContext): Promise<number>;
}
