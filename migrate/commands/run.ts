/**
 * The default action: run every pending (or `--only`) migration, `--rerun` recorded ones
 * (docs/spec/cli.md §7–§9).
 */
import type { CommandContext } from "../command.ts";
import { renderMetrics, writeMetricsFile } from "../metrics.ts";
import { describeError, type RunReport, runMigrations } from "../runner.ts";

export async function execute(ctx: CommandContext): Promise<number> {
  const { options } = ctx;
  const report = await runMigrations(
    ctx.kv,
    {
      dryRun: options.dryRun,
      only: options.only,
      rerun: options.rerun,
      defaultTenant: options.defaultTenant,
    },
    ctx.env,
  );
  return writeMetrics(ctx, report);
}

/** Writes `--metrics-file` when asked; a failure to write it fails the run. */
export function writeMetrics(ctx: CommandContext, report: RunReport): number {
  const file = ctx.options.metricsFile;
  if (file === undefined) return report.exitCode;
  try {
    writeMetricsFile(file, renderMetrics(report, { dryRun: ctx.options.dryRun, nowMs: ctx.io.clock.now() }));
  } catch (err) {
    ctx.io.stderr(`error: cannot write --metrics-file ${file}: ${describeError(err)}`);
    return report.exitCode === 0 ? 1 : report.exitCode;
  }
  return report.exitCode;
}
