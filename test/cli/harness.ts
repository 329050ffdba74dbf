/**
 * In-process harness for tikti-cli: `runCli(argv, io)` with buffers for stdout/stderr, a scripted
 * terminal (prompts, TTY flags), a private config file, and the HTTP client's fetch injected to
 * call a real app (`buildTestApp(...).app.fetch`) on the embedded store. Every request the CLI
 * sends is recorded, so tests can assert on headers.
 */

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { Fetch, IO } from "../../cli/io.ts";
import { runCli } from "../../cli/run.ts";
import { silentLogger } from "../../src/logger.ts";
import { openEmbeddedStore } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import type { KV } from "../../src/store/kv.ts";
import { buildTestApp, TEST_API_KEY, type TestApp } from "../support/app.ts";

export const BASE_URL = "http://tikti.test";

export interface RunOptions {
  stdin?: string;
  /** Answers for prompts, in order; a prompt without an answer fails the test. */
  answers?: string[];
  stdinIsTTY?: boolean;
  stdoutIsTTY?: boolean;
  env?: Record<string, string | undefined>;
  programNames?: string[];
  fetch?: Fetch;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  prompts: Array<{ question: string; hidden: boolean }>;
  /** stdout parsed as the one JSON document of --output json. */
  json<T = Record<string, unknown>>(): T;
  /** stderr parsed as the JSON error document. */
  errorJson(): { status: number | null; error: string; code: string; requestId: string };
}

export interface Harness {
  dir: string;
  configFile: string;
  /** Requests the CLI sent through the injected fetch. */
  requests: Request[];
  run(argv: string[], options?: RunOptions): Promise<RunResult>;
  /** The config file, parsed. */
  config(): { currentProfile?: string; profiles: Record<string, Record<string, string>> };
  close(): Promise<void>;
}

/** A CLI harness with its own config file; `fetch` defaults to one that fails the test if called. */
export async function cliHarness(defaultFetch?: Fetch): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "tikti-cli-"));
  const configFile = join(dir, "home", ".tikti", "config.yaml");
  const requests: Request[] = [];
  const harness: Harness = {
    dir,
    configFile,
    requests,
    async run(argv, options = {}) {
      let out = "";
      let err = "";
      const prompts: RunResult["prompts"] = [];
      const answers = [...(options.answers ?? [])];
      const fetchImpl =
        options.fetch ??
        defaultFetch ??
        (async () => {
          throw new Error("this test expects no network call");
        });
      const io: IO = {
        env: { TIKTI_CONFIG: configFile, ...options.env },
        programNames: options.programNames ?? ["tikti-cli"],
        platform: process.platform,
        homedir: () => join(dir, "home"),
        stdout: {
          write: (t) => {
            out += t;
          },
          isTTY: options.stdoutIsTTY ?? false,
        },
        stderr: {
          write: (t) => {
            err += t;
          },
          isTTY: false,
        },
        stdinIsTTY: options.stdinIsTTY ?? false,
        readStdin: async () => options.stdin ?? "",
        prompt: async (question, { hidden }) => {
          prompts.push({ question, hidden });
          const answer = answers.shift();
          if (answer === undefined) throw new Error(`unexpected prompt: ${question}`);
          return answer;
        },
        fetch: async (request) => {
          requests.push(request.clone());
          return fetchImpl(request);
        },
      };
      const code = await runCli(argv, io);
      return {
        code,
        stdout: out,
        stderr: err,
        prompts,
        json: <T>() => JSON.parse(out) as T,
        errorJson: () => JSON.parse(err),
      };
    },
    config() {
      return parse(readFileSync(configFile, "utf8"));
    },
    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export interface AppHarness {
  t: TestApp;
  store: KV;
  fetch: Fetch;
  close(): Promise<void>;
}

/** A real app on a fresh embedded store; rate limits off (the tests sign in many times). */
export async function appHarness(config: Record<string, unknown> = {}): Promise<AppHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), "tikti-cli-app-"));
  const store = await openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite });
  const t = await buildTestApp({ store, config: { rateLimits: { enabled: false }, ...config } });
  return {
    t,
    store,
    fetch: async (request) => t.app.fetch(request, { remoteAddr: "192.0.2.10" }),
    async close() {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `init` of the default profile against the in-process app, with the test API key. */
export async function initProfile(h: Harness, extra: string[] = []): Promise<void> {
  const r = await h.run(["init", "--base-url", BASE_URL, "--api-key", TEST_API_KEY, "--no-prompt", ...extra]);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
}

export { TEST_API_KEY };
