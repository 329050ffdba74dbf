/**
 * CPU pinning of the benchmark (issue 14 item 1): the servers under test (Tikti, the baseline
 * servers, the crypto baselines) run on the "server" cores, the load generator (wrk) and Redis on
 * the "load" cores, so that a ratio describes the server and not the machine's scheduler. Without
 * pinning, wrk, Redis and the server share every core and a faster server leaves less CPU to the
 * load generator — ratios then drift with the load generator's cost, not the server's.
 *
 * `BENCH_PIN` [auto]: `auto` pins when the machine has ≥ 2 cores and `taskset` exists (the lower
 * half of the cores serve, the upper half load); `off` runs unpinned (the earlier bench's shape);
 * `S:L` gives the two core lists explicitly (`taskset -c` syntax, e.g. `0:1` or `0-1:2-3`).
 * Redis is pinned to the load cores: on a 2-core machine it must sit somewhere, and there it costs
 * the load generator, never the server being measured.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

export interface Pinning {
  /** `taskset -c` list of the server's cores. */
  server: string;
  /** `taskset -c` list of the load generator's (and Redis's) cores. */
  load: string;
  /** How many cores the server has: the number of workers where the runtime serves on several. */
  serverCores: number;
}

function countCores(list: string): number {
  let n = 0;
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (a === undefined || Number.isNaN(a)) throw new Error(`bench: bad core list "${list}"`);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

function hasTaskset(): boolean {
  return spawnSync("sh", ["-c", "command -v taskset"], { stdio: "ignore" }).status === 0;
}

/** The pinning of this run, or null (unpinned). */
export function choosePinning(setting = process.env.BENCH_PIN ?? "auto"): Pinning | null {
  if (setting === "off") return null;
  if (setting !== "auto") {
    const [server, load] = setting.split(":");
    if (!server || !load)
      throw new Error(`bench: BENCH_PIN takes auto, off or SERVER:LOAD (got "${setting}")`);
    if (!hasTaskset()) throw new Error("bench: BENCH_PIN needs taskset (util-linux)");
    return { server, load, serverCores: countCores(server) };
  }
  const cores = availableParallelism();
  if (cores < 2 || process.platform !== "linux" || !hasTaskset()) return null;
  const half = Math.floor(cores / 2);
  const list = (from: number, to: number) => (from === to ? String(from) : `${from}-${to}`);
  return { server: list(0, half - 1), load: list(half, cores - 1), serverCores: half };
}

/** `cmd args` run on `cores` (unchanged when unpinned). */
export function pinned(
  cores: string | undefined,
  cmd: string,
  args: string[],
): { cmd: string; args: string[] } {
  if (!cores) return { cmd, args };
  return { cmd: "taskset", args: ["-c", cores, cmd, ...args] };
}

/** Moves a running process (every thread) onto `cores`. */
export function pinPid(cores: string, pid: number): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench: taskset -p ${pid} failed: ${r.stderr}`);
}

/** This run's pinning, decided once. */
export const PIN: Pinning | null = choosePinning();
