/**
 * Load generation with wrk (Debian package, installed with apt-get when missing): one thread,
 * bounded duration, loopback only. wrk is C and costs far less CPU than a JavaScript load
 * generator, which matters on a 2-core machine where it shares the cores with the server.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { PIN, pinned } from "./pin.ts";

export interface LoadResult {
  /** Requests per second over the measured window. */
  rps: number;
  requests: number;
  /** Non-2xx/3xx answers, socket errors and timeouts (a good point has 0). */
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  connections: number;
  seconds: number;
  /** The delay per connection of an open-loop point (0: closed loop, as fast as possible). */
  delayMs: number;
  /** The offered rate of a rate-bounded point (requests/s over all connections). */
  rate?: number;
  /** A single-use point that ran out of bodies before `seconds` (`rps` is over the time it ran). */
  exhausted?: boolean;
}

export interface LoadSpec {
  url: string;
  method: "GET" | "POST";
  /** Bodies (POST) or paths (GET), one per line; omitted: the URL's path for every request. */
  requestsFile?: string;
  apiKey?: string;
  connections: number;
  seconds: number;
  /** Milliseconds each connection waits after an answer (paces the load). */
  delayMs?: number;
  /** Content type of POST bodies (default application/json). */
  contentType?: string;
}

const LUA = join(import.meta.dirname, "load.lua");
const ONCE_LUA = join(import.meta.dirname, "acs.lua");

export function ensureWrk(): void {
  if (spawnSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" }).status === 0) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = (args: string[]) => {
    const [cmd, ...rest] = isRoot ? ["apt-get", ...args] : ["sudo", "-n", "apt-get", ...args];
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    return spawnSync(cmd!, rest, { stdio: ["ignore", "ignore", "inherit"], env }).status === 0;
  };
  console.error("bench: installing wrk with apt-get");
  if (apt(["install", "-y", "--no-install-recommends", "wrk"])) return;
  if (apt(["update"]) && apt(["install", "-y", "--no-install-recommends", "wrk"])) return;
  throw new Error("bench: cannot install wrk (apt-get install wrk as root)");
}

export function wrkVersion(): string {
  const r = spawnSync("wrk", ["-v"], { encoding: "utf8" });
  return (r.stdout + r.stderr).split("\n")[0]?.trim() ?? "wrk";
}

/** Runs one wrk point; rejects when wrk fails or prints no result line. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const u = new URL(spec.url);
  const args = [
    "-t1",
    `-c${spec.connections}`,
    `-d${spec.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    LUA,
    `${u.protocol}//${u.host}`,
    "--",
    spec.method,
    u.pathname + u.search,
    spec.requestsFile ?? "-",
    spec.apiKey ?? "",
    String(spec.delayMs ?? 0),
    spec.contentType ?? "",
  ];
  return runWrk(args, { connections: spec.connections, seconds: spec.seconds, delayMs: spec.delayMs ?? 0 });
}

export interface OnceSpec {
  url: string;
  /** One POST body per line; each is sent exactly once, in order (the first line is used up by wrk's start-up check). */
  bodiesFile: string;
  contentType: string;
  connections: number;
  /** Upper bound: the point ends earlier when the bodies run out. */
  seconds: number;
  /** Requests per second over all connections (a shared schedule); 0 or absent: closed loop. */
  rate?: number;
}

/**
 * A point of single-use bodies (test/bench/acs.lua): closed loop or at a bounded rate, until the
 * bodies or `seconds` run out, whichever comes first.
 */
export function runOnce(spec: OnceSpec): Promise<LoadResult> {
  const u = new URL(spec.url);
  const args = [
    "-t1",
    `-c${spec.connections}`,
    `-d${spec.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    ONCE_LUA,
    `${u.protocol}//${u.host}`,
    "--",
    "POST",
    u.pathname + u.search,
    spec.bodiesFile,
    spec.contentType,
    String(spec.rate ?? 0),
    String(spec.connections),
  ];
  return runWrk(
    args,
    {
      connections: spec.connections,
      seconds: spec.seconds,
      delayMs: 0,
      ...(spec.rate ? { rate: spec.rate } : {}),
    },
    true,
  );
}

function runWrk(
  args: string[],
  point: Pick<LoadResult, "connections" | "seconds" | "delayMs" | "rate">,
  stopWhenExhausted = false,
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const run = pinned(PIN?.load, "wrk", args);
    const child = spawn(run.cmd, run.args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let exhausted = false;
    let interrupter: ReturnType<typeof setInterval> | undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (stopWhenExhausted && !exhausted && out.includes("EXHAUSTED\n")) {
        // wrk's main thread sleeps for the whole duration; SIGINT ends that sleep (and the run).
        exhausted = true;
        child.kill("SIGINT");
        interrupter = setInterval(() => child.kill("SIGINT"), 250);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (interrupter) clearInterval(interrupter);
      const line = out.split("\n").find((l) => l.startsWith("BENCH "));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited ${code}:\n${out}`));
        return;
      }
      const r = JSON.parse(line.slice(6)) as Record<string, number>;
      const ms = (us: number | undefined) => (us ?? 0) / 1000;
      const requests = r.requests ?? 0;
      resolve({
        rps: requests / ((r.durationUs ?? 1) / 1e6),
        requests,
        errors:
          (r.connectErrors ?? 0) +
          (r.readErrors ?? 0) +
          (r.writeErrors ?? 0) +
          (r.statusErrors ?? 0) +
          (r.timeouts ?? 0),
        p50Ms: ms(r.p50Us),
        p90Ms: ms(r.p90Us),
        p95Ms: ms(r.p95Us),
        p99Ms: ms(r.p99Us),
        maxMs: ms(r.maxUs),
        ...point,
        ...(exhausted ? { exhausted } : {}),
      });
    });
  });
}
