/**
 * What tikti-migrate needs from its process, injected so that tests run the commands in-process
 * with their own output buffers, environment and clock.
 */
import { hostname } from "node:os";
import type { Clock } from "../src/clock.ts";

export interface MigrateIO {
  stdout(line: string): void;
  stderr(line: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  hostname: string;
  pid: number;
  /** True after SIGINT/SIGTERM. */
  interrupted(): boolean;
  /** Lock refresh interval (default 60 s, docs/spec/cli.md §8); tests shorten it. */
  lockRefreshMs?: number;
  /** How long to wait for Redis to answer before giving up (default 10 s). */
  connectTimeoutMs?: number;
  /** stdout is a terminal: only then, and without NO_COLOR, may `--help` carry colour escapes. */
  stdoutIsTTY?: boolean;
}

/** The real process: stdout/stderr, environment, signals. */
export function processIO(): MigrateIO {
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      // First signal: stop at the next batch and release the lock. Second: leave at once.
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write(`${signal}: stopping after the current batch (again to abort)\n`);
    });
  }
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    env: { ...process.env },
    cwd: process.cwd(),
    clock: { now: () => Date.now() },
    hostname: hostname(),
    pid: process.pid,
    interrupted: () => interrupted,
    stdoutIsTTY: process.stdout.isTTY === true,
  };
}
