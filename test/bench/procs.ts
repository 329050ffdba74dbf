/**
 * Processes of the benchmark: the real server (from a generated tikti.yaml, ready when /readyz
 * answers 200) and the baseline servers of test/bench/baseline.ts, each on the runtime measured.
 * Everything is stopped by PID; an exit hook SIGKILLs what is left if the bench dies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { commandFor, type RuntimeName } from "../support/tikti-process.ts";
import { PIN, pinned } from "./pin.ts";

export type BenchRuntime = Exclude<RuntimeName, "binary">;

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export function bin(runtime: BenchRuntime): string {
  return runtimeBinary(runtime) as string;
}

/** `<runtime> <file> args` with the permissions Deno needs. */
export function scriptCommand(runtime: BenchRuntime, file: string, args: string[]) {
  if (runtime === "deno") {
    return { cmd: bin("deno"), args: ["run", "--allow-all", "--unstable-net", "--quiet", file, ...args] };
  }
  return { cmd: bin(runtime), args: [file, ...args] };
}

export interface Proc {
  pid: number;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  stop(): Promise<number>;
  /** The process's output so far (stdout and stderr are written to a file). */
  output(): string;
}

function track(child: ChildProcess, logFile: string): Proc {
  live.add(child);
  const exited = new Promise<number>((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve(code ?? (signal === "SIGKILL" ? 137 : 143));
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    output: () => readFileSync(logFile, "utf8"),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

function spawnLogged(cmd: string, args: string[], cwd: string, logFile: string): ChildProcess {
  // Output goes to a file: the bench process does not spend CPU reading the access log.
  // Every process this module starts is a server under test (or its baseline): the server cores.
  const fd = openSync(logFile, "w");
  const run = pinned(PIN?.server, cmd, args);
  const child = spawn(run.cmd, run.args, {
    cwd,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, NO_COLOR: "1" },
  });
  closeSync(fd);
  return child;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, proc: Proc, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`bench: ${what} not ready within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server with `config` (YAML shape), ready when `/readyz` answers 200. */
export async function startServer(
  runtime: BenchRuntime,
  dir: string,
  name: string,
  config: Record<string, unknown> & { port: number },
  runtimeFlags: string[] = [],
): Promise<Proc> {
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
  const { cmd, args } = commandFor(runtime, ["-f", configFile]);
  // Runtime flags (profilers, inspector) go right before the entry script.
  const entry = args.findIndex((a) => a.endsWith(`src/runtime/${runtime}.ts`));
  if (runtimeFlags.length > 0) args.splice(entry, 0, ...runtimeFlags);
  const child = spawnLogged(cmd, args, dir, join(dir, `${name}.log`));
  const proc = track(child, join(dir, `${name}.log`));
  let exitedEarly = false;
  child.once("exit", () => {
    exitedEarly = true;
  });
  await waitUntil(
    `${runtime} server`,
    async () => {
      if (exitedEarly) throw new Error(`server exited:\n${proc.output().slice(-4000)}`);
      const r = await fetch(`http://127.0.0.1:${config.port}/readyz`);
      await r.arrayBuffer();
      return r.status === 200;
    },
    proc,
  );
  return proc;
}

/** `count` baseline servers (test/bench/baseline.ts `mode`) sharing `port` with SO_REUSEPORT. */
export async function startBaseline(
  runtime: BenchRuntime,
  dir: string,
  mode: "hello" | "read",
  port: number,
  count: number,
  extra: string[] = [],
): Promise<{ stop(): Promise<void> }> {
  const file = join(import.meta.dirname, "baseline.ts");
  const procs: Proc[] = [];
  for (let i = 0; i < count; i++) {
    const args = [mode, "--port", String(port), ...(count > 1 ? ["--reuse-port"] : []), ...extra];
    // Bun shares a port only as a cluster worker: a small Bun parent starts it as one.
    const { cmd, args: full } =
      runtime === "bun" && count > 1
        ? {
            cmd: bin("bun"),
            args: [join(import.meta.dirname, "bun-cluster-worker.ts"), String(i), file, ...args],
          }
        : scriptCommand(runtime, file, args);
    const log = join(dir, `baseline-${mode}-${i}.log`);
    const proc = track(spawnLogged(cmd, full, dir, log), log);
    procs.push(proc);
    await waitUntil(`baseline ${mode}`, async () => proc.output().includes("ready"), proc);
  }
  return {
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}

/** The oidc-provider peer (test/bench/peer-oidc-provider.ts) on Node, ready when it says so. */
export async function startPeer(dir: string, args: string[]): Promise<Proc> {
  const file = join(import.meta.dirname, "peer-oidc-provider.ts");
  const { cmd, args: full } = scriptCommand("node", file, args);
  const log = join(dir, "peer-oidc-provider.log");
  const proc = track(spawnLogged(cmd, full, dir, log), log);
  await waitUntil("oidc-provider peer", async () => proc.output().includes("ready"), proc);
  return proc;
}

/** Runs test/bench/baseline.ts `crypto` and returns its JSON line. */
export async function runCryptoBaselines(
  runtime: BenchRuntime,
  dir: string,
  redisAddr: string,
): Promise<Record<string, number>> {
  const file = join(import.meta.dirname, "baseline.ts");
  const { cmd, args } = scriptCommand(runtime, file, ["crypto", "--redis", redisAddr, "--seconds", "1.5"]);
  const log = join(dir, `baseline-crypto-${runtime}.log`);
  const proc = track(spawnLogged(cmd, args, dir, log), log);
  const timer = setTimeout(() => void proc.stop(), 120_000);
  const code = await proc.exited;
  clearTimeout(timer);
  const out = proc.output();
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`bench: crypto baselines failed on ${runtime}:\n${out}`);
  return JSON.parse(line) as Record<string, number>;
}

const NEVER = { limit: 1_000_000, windowSeconds: 60 };
/**
 * Rate limits for servers under load: every limit stays on (its store round trip is part of the cost being
 * measured) but none ever triggers.
 */
export const BENCH_RATE_LIMITS = {
  signInIp: NEVER,
  signInEmail: NEVER,
  exchangeUser: NEVER,
  samlIp: NEVER,
  oauthClient: NEVER,
  oauthAuthFailIp: NEVER,
  lockout: { maxFailures: 1_000_000 },
} as const;
