/**
 * Real redis-server processes for integration tests (design.md "Tests": real services on free
 * loopback ports in temp dirs, stopped by PID).
 *
 *   const redis = await startRedis();            // one node, ready to answer
 *   const cluster = await startRedisCluster();   // 3 masters, cluster_state:ok on every node
 *
 * Every process started here is also SIGKILLed (and its temp dir removed) when the test file ends
 * or its process exits, so a failing or interrupted test never leaves a server behind
 * (test/support/children.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import type { KV } from "../../src/store/kv.ts";
import { onCleanup, spawnServer } from "./children.ts";

export interface RedisHandle {
  host: string;
  port: number;
  /** `host:port` */
  addr: string;
  /** `redis://host:port` (no credentials, db 0). */
  url: string;
  /** PID of the running server (changes after `restart()`). */
  readonly pid: number;
  dir: string;
  /** SIGTERM, wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; the dir and port are kept for `restart()`. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process keeps its sockets but stops answering. */
  pause(): void;
  resume(): void;
  /** Starts the server again on the same port and dir (after `kill()`, or kills it first). */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** A port chosen by the caller (e.g. one a store already tries); default: a free one. */
  port?: number;
  /** `--requirepass`. */
  password?: string;
  /** Extra redis-server arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 10_000;

const dirs = new Set<string>();
let exitHookInstalled = false;

/** Temp dirs of servers that were killed with the test process (children.ts kills the servers). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onCleanup(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs.clear();
  });
}

let depsChecked = false;

/** Installs redis-server/redis-tools with apt-get on a fresh machine (scripts/system-deps.mjs). */
async function ensureRedisInstalled(): Promise<void> {
  if (depsChecked) return;
  // The helper is plain JS without type declarations; load it by a computed specifier.
  const specifier: string = new URL("../../scripts/system-deps.mjs", import.meta.url).href;
  const mod = (await import(specifier)) as { ensureSystemDeps: () => void };
  mod.ensureSystemDeps();
  depsChecked = true;
}

/** A free loopback TCP port: bind port 0, read the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  if (!port) throw new Error("could not get a free port");
  return port;
}

/**
 * Spawns redis-server and resolves when its log says it accepts connections (an event, not a
 * sleep); rejects with the log when it exits first or does not get ready in time.
 */
async function spawnRedis(port: number, dir: string, extra: string[]): Promise<ChildProcess> {
  const args = [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--logfile",
    "",
    ...extra,
  ];
  const child = spawnServer("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server on port ${port} not ready within ${READY_TIMEOUT_MS} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.off("exit", onExit);
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited (${code ?? signal}) before ready:\n${log}`));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  // Keep draining the pipes so a chatty server never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  if (signal === "SIGTERM") child.kill("SIGCONT"); // a paused server cannot handle SIGTERM
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Starts one redis-server on a free loopback port in a fresh temp dir. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisHandle> {
  await ensureRedisInstalled();
  installExitHook();
  const extra = [...(opts.password ? ["--requirepass", opts.password] : []), ...(opts.args ?? [])];
  const dir = mkdtempSync(join(tmpdir(), "tikti-redis-"));
  dirs.add(dir);
  let child: ChildProcess | undefined;
  let port = 0;
  // Another process may grab the free port between probing and binding: retry a few times.
  for (let attempt = 0; !child; attempt++) {
    port = opts.port ?? (await freePort());
    try {
      child = await spawnRedis(port, dir, extra);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 2 || !String(err).includes("Address already in use")) {
        rmSync(dir, { recursive: true, force: true });
        dirs.delete(dir);
        throw err;
      }
    }
  }
  let current: ChildProcess = child;
  let stopped = false;
  return {
    host: HOST,
    port,
    addr: `${HOST}:${port}`,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return current.pid ?? -1;
    },
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(current, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
    async kill() {
      await terminate(current, "SIGKILL");
    },
    pause() {
      current.kill("SIGSTOP");
    },
    resume() {
      current.kill("SIGCONT");
    },
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      await terminate(current, "SIGKILL");
      current = await spawnRedis(port, dir, extra);
    },
  };
}

export interface RedisClusterHandle {
  /** `host:port` of every master. */
  nodes: string[];
  servers: RedisHandle[];
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create` (no
 * replicas) and waits until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const servers = await Promise.all(
    Array.from({ length: masters }, () =>
      startRedis({
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-node-timeout",
          "2000",
        ],
      }),
    ),
  );
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const nodes = servers.map((s) => s.addr);
    const cli = spawn(
      "redis-cli",
      ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    cli.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    cli.stderr?.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const [code] = (await once(cli, "exit")) as [number | null];
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${out}`);
    await Promise.all(servers.map((s) => waitForClusterOk(s)));
    return { nodes, servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForClusterOk(server: RedisHandle, timeoutMs = 10_000): Promise<void> {
  const client = await rawClient(server);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = String(await client.sendCommand(["CLUSTER", "INFO"]));
      if (info.includes("cluster_state:ok")) return;
      if (Date.now() > deadline) throw new Error(`cluster not ok on ${server.addr}:\n${info}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    client.destroy();
  }
}

/**
 * A plain node-redis connection for test setup and inspection (SCRIPT FLUSH, CLUSTER INFO, ...),
 * bypassing the store. The caller destroys it.
 */
export async function rawClient(server: { host: string; port: number }, password?: string) {
  const client = createClient({
    socket: { host: server.host, port: server.port, reconnectStrategy: false },
    RESP: 2,
    ...(password ? { password } : {}),
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Polls `probe` every 20 ms until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until a store answers `ping()` (stores connect in the background); throws with the last
 * error when it does not within `timeoutMs`.
 */
export async function waitForStore(kv: KV, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kv.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`store not ready within ${timeoutMs} ms`, { cause: err });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
