/**
 * Runs the numbered migrations of docs/spec/cli.md §8–§9 against an opened store: selection
 * (`--only`, `--rerun`), the lock, the records in `tikti:migrations`, the output blocks and the
 * exit code of §9.5. Opening the store and parsing flags are the caller's (migrate/main.ts).
 *
 * Exit codes: 0 done without conflicts · 1 failure (store error, lock held, errors counted, lock
 * lost, interrupted) · 2 completed with conflicts (recorded) · 3 is for configuration errors, found
 * before anything here runs.
 */
import type { Clock } from "../src/clock.ts";
import { isTiktiError } from "../src/errors.ts";
import type { Logger } from "../src/logger.ts";
import { keys } from "../src/store/keys.ts";
import type { KV } from "../src/store/kv.ts";
import { createRepos } from "../src/store/repos/index.ts";
import { escapeControls } from "../src/terminal-text.ts";
import { acquireLock, LockHeldError, type MigrationLock } from "./lock.ts";
import {
  type CounterSpec,
  type DryRunPlan,
  emptyPlan,
  type MigrationContext,
  type MigrationInfo,
  readOnlyKv,
} from "./migration.ts";
import { fullName, MIGRATIONS } from "./migrations/index.ts";

export interface RunnerEnv {
  /** One line of the report (stdout). */
  out(line: string): void;
  /** One line of diagnostics (stderr). */
  err(line: string): void;
  clock: Clock;
  logger: Logger;
  /** `<host>:<pid>:<uuid>` (docs/spec/cli.md §8). */
  holder: string;
  toolVersion: string;
  /** Lock refresh interval; 60 s unless a test shortens it. */
  lockRefreshMs?: number;
  /** True once SIGINT/SIGTERM arrived: the run stops at the next batch and releases the lock. */
  interrupted(): boolean;
}

export interface RunOptions {
  dryRun: boolean;
  /** Ids (`0001`) to run; empty = every pending migration. */
  only: readonly string[];
  /** Recorded ids to run again. */
  rerun: readonly string[];
  defaultTenant?: string | undefined;
}

/** What one migration did, for the report and `--metrics-file`. */
export interface MigrationResult {
  migration: MigrationInfo;
  direction: "up" | "down";
  counts: Record<string, number>;
  counters: readonly CounterSpec[];
  outcome: "completed" | "conflicts" | "errors" | "failed";
}

export interface RunReport {
  exitCode: number;
  results: MigrationResult[];
}

export interface AppliedRecord {
  id: string;
  appliedAt: string;
}

/** Reads `tikti:migrations` (a small hash: one field per migration). */
export async function readRecords(kv: KV): Promise<Map<string, AppliedRecord>> {
  const out = new Map<string, AppliedRecord>();
  for (const [id, text] of await kv.hgetall(keys.migrations())) {
    let appliedAt = "(unreadable record)";
    try {
      const v = JSON.parse(text) as { appliedAt?: unknown };
      if (typeof v.appliedAt === "string") appliedAt = v.appliedAt;
    } catch {
      // Still counts as applied: the field exists.
    }
    out.set(id, { id, appliedAt });
  }
  return out;
}

/** A store error in words, driver cause included, never a value from the store. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const parts = [err.message];
  let cause = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    if (cause.message && !parts.includes(cause.message)) parts.push(cause.message);
    cause = cause.cause;
  }
  return isTiktiError(err) && err.code === "STORE_UNAVAILABLE"
    ? `store unavailable (${parts.slice(1).join(": ") || parts[0]})`
    : parts.join(": ");
}

interface Session {
  kv: KV;
  env: RunnerEnv;
  dryRun: boolean;
  plan: DryRunPlan;
  lock: MigrationLock | undefined;
  defaultTenant?: string | undefined;
}

/** Runs one migration's `run` or `down` inside its output block. */
async function runOne(s: Session, m: MigrationInfo, direction: "up" | "down"): Promise<MigrationResult> {
  const counters = direction === "up" ? m.counters : (m.downCounters ?? []);
  const counts: Record<string, number> = Object.fromEntries(counters.map((c) => [c.key, 0]));
  const { env } = s;
  env.out(direction === "up" ? `== ${fullName(m)} ==` : `== ${fullName(m)} (down) ==`);
  const kv = s.dryRun ? readOnlyKv(s.kv) : s.kv;
  const ctx: MigrationContext = {
    kv,
    repos: createRepos({ kv, logger: env.logger, clock: env.clock, oobCodeTtlSeconds: 900 }),
    dryRun: s.dryRun,
    plan: s.plan,
    clock: env.clock,
    defaultTenant: s.defaultTenant,
    count(key, n = 1) {
      if (!(key in counts)) throw new Error(`migration ${m.id}: undeclared counter ${key}`);
      counts[key] = (counts[key] ?? 0) + n;
    },
    // Item lines go to stderr: stdout keeps the block of the spec exactly (its first lines are
    // the Go-compatible ones scripts parse).
    // Lines quote stored values (legacy emails): escaped, so a record cannot drive the terminal.
    line: (text) => env.err(escapeControls(text)),
    async checkpoint() {
      s.lock?.assertHeld();
      if (env.interrupted()) throw new Error("interrupted by a signal; stopping");
    },
  };
  let failure: unknown;
  try {
    const mod = await m.load();
    const step = direction === "up" ? mod.run : mod.down;
    if (!step) throw new Error(`${fullName(m)} has no down migration`);
    await step(ctx);
  } catch (err) {
    failure = err;
  }
  for (const c of counters) env.out(`${c.label}: ${counts[c.key] ?? 0}`);
  let outcome: MigrationResult["outcome"] = "completed";
  if (failure !== undefined) {
    outcome = "failed";
    env.err(`error: ${fullName(m)} failed: ${describeError(failure)}`);
  } else if ((counts[m.errorCounter] ?? 0) > 0) outcome = "errors";
  else if (m.conflictCounter && (counts[m.conflictCounter] ?? 0) > 0) outcome = "conflicts";
  return { migration: m, direction, counts, counters, outcome };
}

async function withLock<T>(
  kv: KV,
  env: RunnerEnv,
  dryRun: boolean,
  body: (lock?: MigrationLock) => Promise<T>,
) {
  if (dryRun) {
    // A dry run writes nothing, the lock included (docs/spec/cli.md §7); it only warns about a running one.
    const holder = await kv.get(keys.migrationsLock());
    if (holder !== null) {
      env.err(`note: another migration is running (${holder}); a dry run does not wait for it`);
    }
    return body(undefined);
  }
  const lock = await acquireLock(kv, env.holder, {
    refreshMs: env.lockRefreshMs,
    onRefreshError: (err) => env.err(`warning: lock refresh failed: ${describeError(err)}`),
  });
  try {
    return await body(lock);
  } finally {
    try {
      await lock.release();
    } catch (err) {
      env.err(`warning: could not release the lock (it expires within 10 minutes): ${describeError(err)}`);
    }
  }
}

/** Wraps lock and store failures that happen outside a migration into exit code 1. */
async function guarded(env: RunnerEnv, dryRun: boolean, body: () => Promise<RunReport>): Promise<RunReport> {
  let report: RunReport;
  try {
    report = await body();
  } catch (err) {
    env.err(err instanceof LockHeldError ? `error: ${err.message}` : `error: ${describeError(err)}`);
    report = { exitCode: 1, results: [] };
  }
  if (dryRun) env.out("dry-run: no writes performed");
  return report;
}

/** The default action: every pending (or selected) migration in id order. */
export function runMigrations(kv: KV, options: RunOptions, env: RunnerEnv): Promise<RunReport> {
  const selected = MIGRATIONS.filter((m) => options.only.length === 0 || options.only.includes(m.id));
  return guarded(env, options.dryRun, () =>
    withLock(kv, env, options.dryRun, async (lock) => {
      const session: Session = {
        kv,
        env,
        dryRun: options.dryRun,
        plan: emptyPlan(),
        lock,
        defaultTenant: options.defaultTenant,
      };
      const records = await readRecords(kv);
      const results: MigrationResult[] = [];
      let alreadyApplied = 0;
      for (const m of selected) {
        const record = records.get(m.id);
        if (record && !options.rerun.includes(m.id)) {
          alreadyApplied++;
          env.out(`${fullName(m)}: already applied ${record.appliedAt}, skipped`);
          continue;
        }
        const result = await runOne(session, m, "up");
        results.push(result);
        if (result.outcome === "failed" || result.outcome === "errors") {
          const why =
            result.outcome === "errors"
              ? `counted ${result.counts[m.errorCounter]} error(s)`
              : "stopped on a store error";
          env.out(`stopped: ${fullName(m)} ${why}; it is not recorded and later migrations were not started`);
          return { exitCode: 1, results };
        }
        if (!options.dryRun) {
          const record = {
            id: m.id,
            appliedAt: new Date(env.clock.now()).toISOString(),
            counts: result.counts,
            toolVersion: env.toolVersion,
          };
          await kv.hset(keys.migrations(), m.id, JSON.stringify(record));
        }
      }
      const conflicted = results.filter((r) => r.outcome === "conflicts");
      if (conflicted.length > 0) {
        const ids = conflicted.map((r) => r.migration.id);
        env.out(
          `completed with conflicts in ${conflicted.map((r) => fullName(r.migration)).join(", ")}` +
            `${options.dryRun ? "" : " (recorded)"}; fix the data, then run again with ${ids.map((id) => `--rerun ${id}`).join(" ")}`,
        );
        return { exitCode: 2, results };
      }
      if (results.length === 0) {
        env.out("nothing to do: all selected migrations are already applied");
      } else {
        const verb = options.dryRun ? "would be applied" : "applied";
        env.out(`completed: ${results.length} ${verb}, ${alreadyApplied} already applied`);
      }
      return { exitCode: 0, results };
    }),
  );
}

/** `--down <id>`: only migrations with a `down` (0007); the record is removed afterwards. */
export function runDown(kv: KV, m: MigrationInfo, dryRun: boolean, env: RunnerEnv): Promise<RunReport> {
  return guarded(env, dryRun, () =>
    withLock(kv, env, dryRun, async (lock) => {
      const session: Session = { kv, env, dryRun, plan: emptyPlan(), lock };
      const result = await runOne(session, m, "down");
      if (result.outcome === "failed" || result.outcome === "errors") {
        env.out(`stopped: ${fullName(m)} (down) did not complete; its record is kept`);
        return { exitCode: 1, results: [result] };
      }
      if (dryRun) env.out(`would revert: ${fullName(m)}; it would be pending again`);
      else {
        await kv.hdel(keys.migrations(), m.id);
        env.out(`reverted: ${fullName(m)}; it is pending again`);
      }
      return { exitCode: 0, results: [result] };
    }),
  );
}

/** `--list`: each migration with `applied <time>` or `pending` (read-only, no lock). */
export async function listMigrations(kv: KV, env: Pick<RunnerEnv, "out">): Promise<number> {
  const records = await readRecords(kv);
  const width = Math.max(...MIGRATIONS.map((m) => fullName(m).length)) + 2;
  for (const m of MIGRATIONS) {
    const r = records.get(m.id);
    env.out(`${fullName(m).padEnd(width)}${r ? `applied ${r.appliedAt}` : "pending"}`);
  }
  for (const [id, r] of records) {
    if (!MIGRATIONS.some((m) => m.id === id)) {
      env.out(`${id.padEnd(width)}applied ${r.appliedAt} (not known to this version)`);
    }
  }
  return 0;
}
