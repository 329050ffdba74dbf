/**
 * `--down <id>`: revert one migration (docs/spec/cli.md §7). Only 0007 supports it.
 */
import type { CommandContext } from "../command.ts";
import { findMigration, fullName, MIGRATIONS } from "../migrations/index.ts";
import { runDown } from "../runner.ts";
import { writeMetrics } from "./run.ts";

export async function execute(ctx: CommandContext): Promise<number> {
  const { action } = ctx.options;
  if (action.kind !== "down") throw new Error("down: wrong action");
  const m = findMigration(action.id);
  if (!m) {
    ctx.io.stderr(
      `error: unknown migration id ${action.id} (known: ${MIGRATIONS.map((x) => x.id).join(", ")})`,
    );
    return 1;
  }
  if (!m.downCounters) {
    const able = MIGRATIONS.filter((x) => x.downCounters).map((x) => x.id);
    ctx.io.stderr(`error: --down is not supported by ${fullName(m)} (only ${able.join(", ")})`);
    return 1;
  }
  return writeMetrics(ctx, await runDown(ctx.kv, m, ctx.options.dryRun, ctx.env));
}
