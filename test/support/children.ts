/**
 * Child servers of the tests (Tikti on Bun/Node/Deno and its cluster workers, redis-server, pysaml2
 * IdPs, Chromium) never outlive the run (docs/adr/0066-no-orphaned-test-servers.md):
 *
 * - `spawnServer` starts a child in its own process group (`detached: true`), so the whole tree —
 *   Bun/Node cluster workers, a shell's grandchildren — can be killed with one `kill(-pgid)`;
 * - every group is recorded in memory and, when the run gives a registry directory
 *   (`TIKTI_TEST_CHILDREN`, set by test/support/global-setup.ts), in a file named after the test
 *   fork's PID;
 * - a file-level `afterAll` (test/support/setup-children.ts) and the fork's exit/SIGTERM SIGKILL
 *   the groups that are still there;
 * - a fork that vitest SIGKILLs (a hung test) runs none of that: the global teardown reads the
 *   registry files and kills what is left (`sweepRegistry`).
 *
 * A detached child no longer gets the terminal's Ctrl-C, which is why the registry exists.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export const REGISTRY_ENV = "TIKTI_TEST_CHILDREN";

interface Group {
  pgid: number;
  /** Start time of the leader (clock ticks since boot), to tell a reused PID from ours. */
  start: string;
}

const groups = new Map<number, Group>();
const cleanups = new Set<() => void>();
let hooksInstalled = false;

/** Field 22 of /proc/<pid>/stat (start time), or null when the process is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * SIGKILLs the process group `pgid` unless its leader PID now belongs to another process (same
 * PID, other start time). A group whose leader is gone can still hold orphaned members (cluster
 * workers); its PID cannot be reused while the group exists, so killing it is safe. Returns
 * whether something was killed.
 */
export function killGroup(group: Group, signal: NodeJS.Signals = "SIGKILL"): boolean {
  const start = processStartTime(group.pgid);
  if (start !== null && start !== group.start) return false;
  try {
    process.kill(-group.pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}

function registryFile(): string | null {
  const dir = process.env[REGISTRY_ENV];
  return dir ? join(dir, `${process.pid}.pgids`) : null;
}

/** Kills every group this process started and forgets them, then runs the `onCleanup` callbacks. */
export function killAllChildren(): void {
  for (const group of groups.values()) killGroup(group);
  groups.clear();
  for (const cleanup of cleanups) cleanup();
  const file = registryFile();
  if (file) rmSync(file, { force: true });
}

/**
 * One exit/signal hook per process. (Each helper used to install its own "clean up, then re-raise
 * if I am the only listener" handler: with two helpers in one file — Redis and a pysaml2 IdP —
 * neither was alone, so neither re-raised and the fork ignored vitest's SIGTERM.)
 */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllChildren);
  // vitest stops a fork with SIGTERM (then SIGKILL) when a test overruns; 'exit' does not fire
  // then. Clean up and, if nobody else handles the signal, die of it as before.
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
    const onSignal = () => {
      killAllChildren();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Runs `fn` (e.g. removing temp dirs of killed servers) whenever the children are killed. */
export function onCleanup(fn: () => void): void {
  installHooks();
  cleanups.add(fn);
}

/** Records an already running process group (e.g. Chromium, which Playwright starts detached). */
export function registerGroup(pgid: number): void {
  const start = processStartTime(pgid);
  if (start === null) return;
  installHooks();
  groups.set(pgid, { pgid, start });
  const file = registryFile();
  if (file) appendFileSync(file, `${pgid} ${start}\n`);
}

/**
 * `spawn` in a new process group, recorded for cleanup. Signal the leader with `child.kill()` as
 * usual (a graceful stop stays the server's own business); `killTree` ends the whole group.
 */
export function spawnServer(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { ...options, detached: true });
  if (child.pid !== undefined) registerGroup(child.pid);
  return child;
}

/** SIGKILLs the child's whole process group (leader and any workers it forked). */
export function killTree(child: ChildProcess): void {
  const group = child.pid === undefined ? undefined : groups.get(child.pid);
  if (group) killGroup(group);
}

/** PIDs of the direct children of `pid` (Linux), e.g. to find the browser Playwright started. */
export function childPidsOf(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text !== "") pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // not Linux, or the process is gone
  }
  return pids;
}

/**
 * Global teardown: kills every group recorded in `dir` whose fork did not clean up (it was
 * SIGKILLed), removes the files, and returns what it killed as `pgid` numbers.
 */
export function sweepRegistry(dir: string): number[] {
  const killed: number[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return killed;
  }
  for (const name of files) {
    const file = join(dir, name);
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [pgid, start] = line.split(" ");
      if (!pgid || !start) continue;
      if (killGroup({ pgid: Number(pgid), start })) killed.push(Number(pgid));
    }
    rmSync(file, { force: true });
  }
  return killed;
}

/** Live (not zombie) PIDs in process group `pgid`, from /proc (Linux). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") members.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return members;
}
