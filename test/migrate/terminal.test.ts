/**
 * tikti-migrate as a user at a terminal (or a script at a pipe) meets it: no colour escapes unless
 * stdout is a terminal and NO_COLOR is unset, and no ten-second wait when no store was chosen and
 * nothing answers at the guessed default.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { NO_STORE_CHOSEN, parseArgv, resolveOptions, type StoreTarget } from "../../migrate/options.ts";
import { openTargetStore } from "../../migrate/store.ts";
import { silentLogger } from "../../src/logger.ts";
import { freePort } from "../support/ports.ts";
import { repoRoot } from "../support/tikti-process.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is looked for
const ESC = /\u001b\[/;

/**
 * Runs the real `tikti-migrate --help` (Node, from source) with NO_COLOR unset unless given, its
 * stdout a pipe or, through util-linux `script`, a pseudo-terminal.
 */
function help(options: { tty: boolean; noColor?: string }): Promise<{ code: number | null; text: string }> {
  // A user's shell, not the test runner's (vitest sets NODE_ENV=test, which turns citty's colour off).
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/" };
  if (options.noColor !== undefined) env.NO_COLOR = options.noColor;
  const command = `${JSON.stringify(process.execPath)} migrate/main.ts --help`;
  const [cmd, args] = options.tty
    ? ["script", ["-qec", command, "/dev/null"]]
    : [process.execPath, ["migrate/main.ts", "--help"]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args as string[], {
      cwd: repoRoot,
      env: { ...env, TERM: "xterm" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      text += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, text }));
  });
}

describe("colour", () => {
  it("--help into a pipe is plain text (no escapes, no trailing blanks) with NO_COLOR unset", async () => {
    const out = await help({ tty: false });
    expect(out.code).toBe(0);
    expect(out.text).toContain("USAGE tikti-migrate");
    expect(out.text).toContain("--redis-addr=<host:port>");
    expect(out.text).not.toMatch(ESC);
    expect(out.text.split("\n").filter((l) => / $/.test(l))).toEqual([]);
  }, 30_000);

  it("on a terminal --help is coloured, unless NO_COLOR is set", async () => {
    const coloured = await help({ tty: true });
    expect(coloured.code).toBe(0);
    expect(coloured.text).toMatch(ESC);
    const plain = await help({ tty: true, noColor: "1" });
    expect(plain.code).toBe(0);
    expect(plain.text).toContain("--redis-addr=<host:port>");
    expect(plain.text).not.toMatch(ESC);
  }, 30_000);
});

describe("no store chosen", () => {
  it("the default localhost:6379 is marked as a guess; any flag, variable or config is not", async () => {
    const target = async (argv: string[], env: Record<string, string> = {}) =>
      (await resolveOptions(parseArgv(argv), env, "/srv")).target as StoreTarget & { implicit?: true };
    expect(await target([])).toMatchObject({ addr: "localhost:6379", implicit: true });
    expect((await target(["--redis-addr", "localhost:6379"])).implicit).toBeUndefined();
    expect((await target([], { REDIS_ADDR: "localhost:6379" })).implicit).toBeUndefined();
    expect((await target(["--redis-url", "redis://localhost:6379"])).implicit).toBeUndefined();
  });

  it("an unanswered guess fails at once with the storage options named; a chosen address is waited for", async () => {
    const port = await freePort();
    const base = {
      kind: "redis" as const,
      addr: `127.0.0.1:${port}`,
      db: 0,
      tls: false,
      timeoutMs: 5000,
      display: `redis 127.0.0.1:${port} db 0`,
    };
    const started = Date.now();
    const guess = await openTargetStore({ ...base, implicit: true }, silentLogger, {
      connectTimeoutMs: 10_000,
    }).then(
      () => "opened",
      (err: Error) => err,
    );
    const guessMs = Date.now() - started;
    expect(guess).toBeInstanceOf(Error);
    expect((guess as Error).name).toBe("UsageError");
    expect((guess as Error).message).toBe(NO_STORE_CHOSEN);
    for (const option of ["--config", "--redis-addr", "--redis-url", "--redis-cluster", "--data-dir"]) {
      expect(NO_STORE_CHOSEN).toContain(option);
    }
    expect(guessMs).toBeLessThan(2_500);

    // The same closed port, named by the user: the tool waits (a store may be starting up).
    const chosenStart = Date.now();
    const chosen = await openTargetStore(base, silentLogger, { connectTimeoutMs: 3_000 }).then(
      () => "opened",
      (err: Error) => err,
    );
    expect((chosen as Error).name).toBe("StoreOpenError");
    expect(Date.now() - chosenStart).toBeGreaterThanOrEqual(3_000);
  }, 30_000);
});
