/**
 * Everything the CLI touches outside itself — environment, terminal, stdin, network — behind one
 * interface, so that tests run commands in-process with buffers and an injected `fetch`
 * (e.g. `buildTestApp().app.fetch`). `processIO()` is the real one, for Node ≥ 20 and Bun.
 */
import { homedir } from "node:os";
import { createInterface } from "node:readline";
import { CliError } from "./errors.ts";

/** The only fetch shape the CLI uses: one Request in, one Response out (tests inject `app.fetch`). */
export type Fetch = (request: Request) => Promise<Response>;

export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
}

export interface IO {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** argv0 and the script path: the program only looks at its own name for `--help` text (docs/spec/cli.md §4.1). */
  readonly programNames: readonly string[];
  readonly platform: string;
  homedir(): string;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdinIsTTY: boolean;
  /** All of stdin as text (for `--password-stdin`). */
  readStdin(): Promise<string>;
  /** Asks on the terminal; `hidden` turns echo off (passwords, API keys). */
  prompt(question: string, options: { hidden: boolean }): Promise<string>;
  readonly fetch: Fetch;
}

export function processIO(): IO {
  return {
    env: process.env,
    programNames: [process.argv0, process.argv[1] ?? ""],
    platform: process.platform,
    homedir,
    stdout: { write: (t) => void process.stdout.write(t), isTTY: process.stdout.isTTY === true },
    stderr: { write: (t) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    stdinIsTTY: process.stdin.isTTY === true,
    readStdin,
    prompt: (question, { hidden }) => (hidden ? promptHidden(question) : promptVisible(question)),
    fetch: (request) => fetch(request),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString("utf8");
}

function promptVisible(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
    });
  });
}

/** Raw-mode read with no echo; Ctrl-C cancels, backspace edits, Enter ends. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of String(data)) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return finish();
        if (ch === "\u0003") return finish(new CliError("USAGE", "cancelled"));
        if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
        else value += ch;
      }
    };
    // Echo goes off before the question appears, so nothing typed after it is ever shown.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
  });
}
