/**
 * `--metrics-file` (docs/spec/cli.md §7): the counters of this run in Prometheus text format, for
 * node-exporter's textfile collector. Written to a temporary file in the same directory and
 * renamed, so the collector never reads half a file.
 */
import { renameSync, writeFileSync } from "node:fs";
import type { RunReport } from "./runner.ts";

export function renderMetrics(report: RunReport, info: { dryRun: boolean; nowMs: number }): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const r of report.results) {
    const name = `tikti_migration_${r.migration.id}_records_total`;
    if (!seen.has(name)) {
      seen.add(name);
      lines.push(
        `# HELP ${name} Records handled by migration ${r.migration.id}_${r.migration.name}, by result.`,
      );
      lines.push(`# TYPE ${name} counter`);
    }
    for (const c of r.counters) {
      if (c.result === undefined) continue;
      const direction = r.direction === "down" ? ',direction="down"' : "";
      lines.push(`${name}{result="${c.result}"${direction}} ${r.counts[c.key] ?? 0}`);
    }
  }
  lines.push("# HELP tikti_migration_run_exit_code Exit code of the last tikti-migrate run.");
  lines.push("# TYPE tikti_migration_run_exit_code gauge");
  lines.push(`tikti_migration_run_exit_code ${report.exitCode}`);
  lines.push("# HELP tikti_migration_run_dry_run 1 when the last run was a dry run (nothing written).");
  lines.push("# TYPE tikti_migration_run_dry_run gauge");
  lines.push(`tikti_migration_run_dry_run ${info.dryRun ? 1 : 0}`);
  lines.push("# HELP tikti_migration_run_timestamp_seconds When the last tikti-migrate run ended.");
  lines.push("# TYPE tikti_migration_run_timestamp_seconds gauge");
  lines.push(`tikti_migration_run_timestamp_seconds ${Math.floor(info.nowMs / 1000)}`);
  return `${lines.join("\n")}\n`;
}

export function writeMetricsFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}
