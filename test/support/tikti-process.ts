/**
 * Starts the real server as a child process (Bun, Deno, Node or the compiled binary) with a
 * generated config file in a temp dir, and waits for its "tikti listening" log line (an event,
 * not a sleep). Runs in its own process group: whatever a test does not stop (cluster workers
 * included) is SIGKILLed when the test file ends or its fork dies (./children.ts).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { killTree, onCleanup, spawnServer } from "./children.ts";
import { generateRsaPem, randomSecret } from "./keys.ts";
import { freePort } from "./ports.ts";

export type RuntimeName = "bun" | "node" | "deno" | "binary";

export const repoRoot = resolve(import.meta.dirname, "../..");

export function commandFor(runtime: RuntimeName, args: string[]): { cmd: string; args: string[] } {
  const bin = (n: string) => runtimeBinary(n) as string;
  switch (runtime) {
    case "bun":
      return { cmd: bin("bun"), args: [join(repoRoot, "src/runtime/bun.ts"), ...args] };
    case "node":
      return { cmd: bin("node"), args: [join(repoRoot, "src/runtime/node.ts"), ...args] };
    case "deno":
      return {
        cmd: bin("deno"),
        args: ["run", "--allow-all", "--quiet", join(repoRoot, "src/runtime/deno.ts"), ...args],
      };
    case "binary":
      return { cmd: join(repoRoot, "dist/tikti"), args };
  }
}

export interface TiktiProcess {
  baseUrl: string;
  port: number;
  apiKey: string;
  dir: string;
  configFile: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or 128+signal). */
  exited: Promise<number>;
  /**
   * Resolves as soon as the stdout so far satisfies `done` (checked on every chunk: an event, not
   * a poll); rejects with the output when the process exits first or `timeoutMs` passes.
   */
  waitForStdout(done: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** How many "tikti listening" lines `stdout` holds (one per serving process). */
export function listeningCount(stdout: string): number {
  return stdout.match(/"msg":"tikti listening"/g)?.length ?? 0;
}

export interface StartOptions {
  runtime: RuntimeName;
  /** Extra config keys merged over the generated ones. */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Reuse this directory (and its dataDir) instead of a new temp dir. */
  dir?: string;
  /** Start-up budget (default 30 s; a run with several workers may need more under load). */
  timeoutMs?: number;
  /**
   * "tikti listening" lines to wait for (default 1): with `workers: N` each worker logs one, and
   * only after N of them does every worker serve.
   */
  listening?: number;
  /** Listen on this port (default: a free one), e.g. when the config must name it. */
  port?: number;
  /** Sees every stdout chunk as it arrives, also before the server is listening. */
  onStdout?: (chunk: string) => void;
}

export async function writeTestConfig(dir: string, port: number, extra: Record<string, unknown> = {}) {
  const apiKey = randomSecret(32);
  const config = {
    devMode: true,
    bindAddress: "127.0.0.1",
    port,
    issuerBaseUrl: `http://127.0.0.1:${port}`,
    dataDir: join(dir, "data"),
    jwtSecret: randomSecret(48),
    apiKey,
    jwksPrivateKey: await generateRsaPem(),
    jwksKeyId: "test-key-1",
    http: { shutdownDelaySeconds: 0, shutdownGraceSeconds: 5 },
    ...extra,
  };
  const configFile = join(dir, "tikti.yaml");
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
  return { configFile, apiKey };
}

export async function startTikti(options: StartOptions): Promise<TiktiProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "tikti-proc-"));
  const port = options.port ?? (await freePort());
  const { configFile, apiKey } = await writeTestConfig(dir, port, options.config);
  const { cmd, args } = commandFor(options.runtime, ["-f", configFile]);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: dir,
    NO_COLOR: "1",
    ...options.env,
  };
  const child = spawnServer(cmd, args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  if (!options.dir) onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    options.onStdout?.(d);
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<number>((res) => {
    child.on("exit", (code, signal) => res(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
  });

  const timeoutMs = options.timeoutMs ?? 30_000;
  // A server that never became ready is stopped and its temp dir removed here: the caller gets no
  // handle to stop(). The whole group goes: workers it may have forked already, too.
  const abandon = async () => {
    killTree(child);
    await exited;
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  };
  const waitForStdout = (done: (stdout: string) => boolean, what: string, ms = 30_000) =>
    new Promise<void>((ready, fail) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        if (error) fail(error);
        else ready();
      };
      const timer = setTimeout(
        () => finish(new Error(`${options.runtime}: no ${what} within ${ms} ms\n${out}\n${err}`)),
        ms,
      );
      // Registered after the accumulating listener above, so `out` already holds the chunk.
      const check = () => {
        if (done(out)) finish();
      };
      child.stdout!.on("data", check);
      exited.then((code) =>
        finish(new Error(`${options.runtime}: exited with ${code} before ${what}\n${out}\n${err}`)),
      );
      check();
    });
  const lines = options.listening ?? 1;
  await waitForStdout(
    (o) => listeningCount(o) >= lines,
    lines === 1 ? "listening" : `${lines} "tikti listening" lines`,
    timeoutMs,
  ).catch(async (error: unknown) => {
    await abandon();
    throw error;
  });

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    apiKey,
    dir,
    configFile,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
