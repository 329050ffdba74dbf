/**
 * Multi-core serving (`workers`, docs/adr/0006-multi-core-serving.md): the first process becomes a
 * small supervisor that starts `workers` copies of itself; each copy is a complete, independent
 * server (own store connection, keys, password hasher) bound to the same port with SO_REUSEPORT,
 * and the kernel spreads connections across them. Safe because the server keeps no state between
 * requests: everything shared lives in the store, exactly as between replicas.
 *
 * - Redis only: the embedded store is one SQLite file under an exclusive lock held by one process.
 * - Linux, on Bun and on Node ≥ 22.12 (`reusePort` of `net.Server.listen`). Deno needs
 *   `--unstable-net` and the `run` permission to do the same; it is not offered there.
 * - Signals: SIGTERM/SIGINT/SIGHUP are forwarded to every worker; each drains as a single server
 *   does; the supervisor exits 0 when all of them exited 0.
 * - A worker that exits on its own (crash, startup refusal) stops the others and the supervisor
 *   exits with its code (≥ 1): the process manager restarts the whole unit, as for one process.
 * - A supervisor that dies without forwarding (SIGKILL, OOM kill) closes the workers' stdin pipe;
 *   each worker then shuts down as on SIGTERM, so no orphan keeps serving the port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { ConfigError } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../logger.ts";

/** Set in a worker's environment to its index. Not `TIKTI_*`: those are configuration keys. */
export const WORKER_INDEX_ENV = "_TIKTI_WORKER_INDEX";

/** This process's worker index, or `undefined` when it is not a worker of a supervisor. */
export function workerIndex(env: Record<string, string | undefined> = process.env): number | undefined {
  const raw = env[WORKER_INDEX_ENV];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

export interface WorkerHost {
  runtime: "bun" | "node" | "deno";
  platform: string;
  /** `process.versions.node` (Bun and Deno report a Node version too; only Node's is read). */
  nodeVersion: string;
  cores: number;
}

export function currentHost(runtime: WorkerHost["runtime"]): WorkerHost {
  return {
    runtime,
    platform: process.platform,
    nodeVersion: process.versions.node,
    cores: availableParallelism(),
  };
}

/** Why SO_REUSEPORT serving is unavailable here, or `undefined` when it is available. */
function unsupported(host: WorkerHost): string | undefined {
  if (host.platform !== "linux")
    return `SO_REUSEPORT load balancing is Linux only (this is ${host.platform})`;
  if (host.runtime === "deno") return "not offered on Deno (run one process per core behind a load balancer)";
  if (host.runtime === "node") {
    const [major = 0, minor = 0] = host.nodeVersion.split(".").map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return `needs Node ≥ 22.12 (this is ${host.nodeVersion})`;
  }
  return undefined;
}

/**
 * The number of server processes: `workers` when set (refusing values that cannot work), else one
 * per core where multi-core serving is possible, else 1. Throws `ConfigError` (exit 2).
 */
export function planWorkers(config: Config, host: WorkerHost): number {
  const usesRedis = config.redisAddr !== "" || config.redisUrl !== "" || config.redisCluster.length > 0;
  const why = unsupported(host);
  const wanted = config.workers;
  if (wanted === undefined) return usesRedis && !why && config.port !== 0 ? Math.max(1, host.cores) : 1;
  if (wanted === 1) return 1;
  if (!usesRedis) {
    throw new ConfigError(
      "workers",
      "must be 1 with the embedded store (one process holds its lock); set redisAddr, redisUrl or redisCluster for more",
    );
  }
  if (why) throw new ConfigError("workers", `must be 1 here: ${why}`);
  if (config.port === 0)
    throw new ConfigError("workers", "needs a fixed port (with port 0 each worker would get its own)");
  return wanted;
}

/** How to start this same program again (script runtimes and the compiled Bun binary). */
function selfCommand(): { cmd: string; args: string[] } {
  const script = process.argv[1] ?? "";
  // A `bun build --compile` binary reports its embedded entry as argv[1] (/$bunfs/... or B:/~BUN/...).
  const compiled = script.startsWith("/$bunfs/") || script.includes("~BUN");
  const args = compiled ? process.argv.slice(2) : [...process.execArgv, ...process.argv.slice(1)];
  return { cmd: process.execPath, args };
}

/**
 * Bun's node:http binds with SO_REUSEPORT only in a node:cluster worker, which it recognises by
 * NODE_UNIQUE_ID and an IPC channel (what `cluster.fork()` sets up; docs/adr/0025): a Bun process
 * that must share its port is started with this in its environment and an `"ipc"` stdio entry. The
 * channel carries only Bun's own "online"/"listening" notices, which nobody needs to answer.
 */
export function bunClusterWorkerEnv(index: number): Record<string, string> {
  return { NODE_UNIQUE_ID: String(index + 1) };
}

/**
 * Runs the supervisor: starts `count` workers and returns; the process exits when they have all
 * exited (see the file comment for codes).
 */
export function superviseWorkers(count: number, logger: Logger): void {
  const { cmd, args } = selfCommand();
  const children: ChildProcess[] = [];
  let stopping = false;
  let exitCode = 0;
  let running = 0;

  const signalAll = (signal: NodeJS.Signals) => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  };

  // Bun shares the port only as a cluster worker (bunClusterWorkerEnv, ADR 0025).
  const bun = typeof process.versions.bun === "string";
  for (let i = 0; i < count; i++) {
    const child = spawn(cmd, args, {
      // stdin: a pipe that only closes when this process is gone (see `followSupervisor`).
      stdio: bun ? ["pipe", "inherit", "inherit", "ipc"] : ["pipe", "inherit", "inherit"],
      env: {
        ...process.env,
        [WORKER_INDEX_ENV]: String(i),
        ...(bun ? bunClusterWorkerEnv(i) : {}),
      },
    });
    running++;
    children.push(child);
    child.on("exit", (code, signal) => {
      running--;
      const status = code ?? 1;
      if (!stopping) {
        logger.error("worker exited; stopping the others", { worker: i, code, signal });
        stopping = true;
        exitCode = Math.max(1, status);
        signalAll("SIGTERM");
      } else if (status !== 0) {
        exitCode = Math.max(exitCode, status);
      }
      if (running === 0) process.exit(exitCode);
    });
  }
  const forward = (signal: NodeJS.Signals) => {
    if (signal !== "SIGHUP") stopping = true;
    signalAll(signal);
  };
  process.on("SIGTERM", () => forward("SIGTERM"));
  process.on("SIGINT", () => forward("SIGINT"));
  process.on("SIGHUP", () => forward("SIGHUP"));
  logger.info("tikti supervisor started", { workers: count, pids: children.map((c) => c.pid) });
}

/** In a worker: shut down (as on SIGTERM) when the supervisor is gone and its pipe closes. */
export function followSupervisor(): void {
  process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
  process.stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
  process.stdin.resume();
}
