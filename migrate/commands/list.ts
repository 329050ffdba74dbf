/**
 * `--list`: each migration with `applied <time>` or `pending` (docs/spec/cli.md §7). Read-only.
 */
import type { CommandContext } from "../command.ts";
import { listMigrations } from "../runner.ts";

export function execute(ctx: CommandContext): Promise<number> {
  return listMigrations(ctx.kv, { out: ctx.io.stdout });
}
