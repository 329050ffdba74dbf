/**
 * The runner: global flags, command resolution, `--help` on every level, `--version`, strict flag
 * checking, output in the selected mode, and — in one place — every failure turned into an error
 * line and an exit code (docs/spec/cli.md §3, §4). Pure of `process`: tests call `runCli(argv, io)` with
 * buffers and an injected fetch; cli/main.ts calls it with the real process.
 */
import { type ArgsDef, parseArgs, renderUsage } from "citty";
import { uuidv7 } from "../src/ids.ts";
import { VERSION } from "../src/version.ts";
import type { AnyCommand } from "./command.ts";
import { createContext, type Globals } from "./context.ts";
import { errorDocument, errorLines, exitCodeFor, stripAnsi, usage } from "./errors.ts";
import type { IO } from "./io.ts";
import { type CommandResult, colourAllowed, escapeControls, renderJson, renderPretty } from "./output.ts";
import { root } from "./tree.ts";

interface Invocation {
  globals: Globals;
  rest: string[];
  help: boolean;
  version: boolean;
}

const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof v === "function" ? (v as () => T | Promise<T>)() : v;

/** Runs one invocation and returns its exit code. */
export async function runCli(argv: readonly string[], io: IO): Promise<number> {
  const requestId = uuidv7(Date.now());
  let output: Globals["output"] = "pretty";
  try {
    const inv = parseGlobals(argv);
    output = inv.globals.output;
    const programName = programNameOf(io.programNames);
    if (inv.version) {
      io.stdout.write(
        output === "json"
          ? renderJson({ name: programName, version: VERSION.version, commit: VERSION.commit })
          : `${programName} ${VERSION.version} (${VERSION.commit})\n`,
      );
      return 0;
    }
    const { cmd, path, rest } = await resolveCommand(inv.rest, programName);
    const subCommands = await resolve(cmd.subCommands);
    if (inv.help || subCommands) {
      const text = await helpText(cmd, path, io);
      if (inv.help) {
        io.stdout.write(text);
        return 0;
      }
      io.stderr.write(text);
      throw usage(`missing command: "${path.join(" ")} <command>"`);
    }
    const argsDef = (await resolve(cmd.args ?? {})) as ArgsDef;
    checkFlags(rest, argsDef, path.join(" "));
    const args = parseArgs(rest, argsDef);
    const ctx = createContext({ io, globals: inv.globals, requestId, programName, version: VERSION.version });
    const result = (await cmd.run?.({ rawArgs: rest, args, cmd, data: ctx })) as CommandResult;
    io.stdout.write(
      output === "json"
        ? renderJson(result.json)
        : renderPretty(result.pretty, { colour: colourAllowed(io.stdout.isTTY, io.env) }),
    );
    return 0;
  } catch (error) {
    const doc = errorDocument(error, requestId);
    if (output === "json") io.stderr.write(renderJson(doc));
    else {
      const red = colourAllowed(io.stderr.isTTY, io.env);
      for (const raw of errorLines(doc)) {
        // Error texts and details come from the server (or a file): shown, never obeyed.
        const line = escapeControls(raw);
        io.stderr.write(red ? `\u001b[31m${line}\u001b[0m\n` : `${line}\n`);
      }
    }
    return exitCodeFor(error);
  }
}

/**
 * Global flags are accepted anywhere before `--` (`tikti-cli --json tenant list` and
 * `tikti-cli tenant list --json` are the same), and removed before the command sees its own.
 */
function parseGlobals(argv: readonly string[]): Invocation {
  const globals: Globals = { profile: undefined, output: "pretty", timeoutSeconds: 30 };
  const rest: string[] = [];
  let help = false;
  let version = false;
  let outputFlag: string | undefined;
  let timeoutFlag: string | undefined;
  let profileFlag: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const [name, inline] = splitFlag(token);
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw usage(`${name} needs a value`);
      i++;
      return next;
    };
    if (name === "--help" || name === "-h") help = true;
    else if (name === "--version" || name === "-v") version = true;
    else if (name === "--json") json = true;
    else if (name === "--output") outputFlag = value();
    else if (name === "--profile") profileFlag = value();
    else if (name === "--timeout") timeoutFlag = value();
    else rest.push(token);
  }
  if (outputFlag !== undefined && outputFlag !== "pretty" && outputFlag !== "json") {
    throw usage(`--output must be "pretty" or "json", got "${outputFlag}"`);
  }
  globals.output = json ? "json" : ((outputFlag as Globals["output"] | undefined) ?? "pretty");
  if (profileFlag !== undefined) {
    if (profileFlag === "") throw usage("--profile needs a value");
    globals.profile = profileFlag;
  }
  if (timeoutFlag !== undefined) {
    const seconds = Number(timeoutFlag);
    if (!Number.isFinite(seconds) || seconds <= 0 || timeoutFlag.trim() === "") {
      throw usage(`--timeout must be a positive number of seconds, got "${timeoutFlag}"`);
    }
    globals.timeoutSeconds = seconds;
  }
  return { globals, rest, help, version };
}

function splitFlag(token: string): [string, string | undefined] {
  if (!token.startsWith("-")) return [token, undefined];
  const eq = token.indexOf("=");
  return eq < 0 ? [token, undefined] : [token.slice(0, eq), token.slice(eq + 1)];
}

/** Walks groups by name; the first token that is not a known verb of a group is an error. */
async function resolveCommand(
  tokens: string[],
  programName: string,
): Promise<{ cmd: AnyCommand; path: string[]; rest: string[] }> {
  let cmd = root;
  const path = [programName];
  let i = 0;
  for (;;) {
    const subCommands = await resolve(cmd.subCommands);
    if (!subCommands) break;
    const name = tokens[i];
    if (name === undefined) break;
    if (name.startsWith("-")) throw usage(`unknown flag ${splitFlag(name)[0]} for "${path.join(" ")}"`);
    const sub = Object.hasOwn(subCommands, name) ? subCommands[name] : undefined;
    if (sub === undefined) {
      throw usage(`unknown command "${name}" for "${path.join(" ")}" (see "${path.join(" ")} --help")`);
    }
    cmd = await resolve(sub);
    path.push(name);
    i++;
  }
  return { cmd, path, rest: tokens.slice(i) };
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** citty ignores unknown flags; a typo must not silently change what a command does (docs/spec/cli.md §4: exit 1). */
function checkFlags(tokens: string[], argsDef: ArgsDef, where: string): void {
  const known = new Map<string, "boolean" | "string">();
  let positionals = 0;
  for (const [name, def] of Object.entries(argsDef)) {
    if (def.type === "positional") {
      positionals++;
      continue;
    }
    const kind = def.type === "boolean" ? "boolean" : "string";
    const aliases =
      def.type !== undefined && "alias" in def && def.alias !== undefined ? [def.alias].flat() : [];
    for (const n of [name, camel(name), kebab(name), ...aliases]) {
      known.set(n, kind);
      if (kind === "boolean") known.set(`no-${n}`, kind);
    }
  }
  let seen = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === "--") {
      seen += tokens.length - i - 1;
      break;
    }
    if (token.startsWith("-") && token !== "-") {
      const [flag, inline] = splitFlag(token);
      const name = flag.replace(/^--?/, "");
      const kind = known.get(name);
      if (kind === undefined || (!flag.startsWith("--") && name.length !== 1)) {
        throw usage(`unknown flag ${flag} for "${where}" (see "${where} --help")`);
      }
      if (kind === "string" && inline === undefined) {
        if (tokens[i + 1] === undefined) throw usage(`${flag} needs a value`);
        i++;
      }
      continue;
    }
    seen++;
    if (seen > positionals) throw usage(`unexpected argument "${token}" for "${where}"`);
  }
}

async function helpText(cmd: AnyCommand, path: string[], io: IO): Promise<string> {
  const meta = await resolve(cmd.meta ?? {});
  // citty prints every alias with one dash; long aliases are spelled "--host", so give it "-host".
  const args = Object.fromEntries(
    Object.entries((await resolve(cmd.args ?? {})) as ArgsDef).map(([name, def]) => {
      if (!("alias" in def) || def.alias === undefined) return [name, def];
      return [name, { ...def, alias: [def.alias].flat().map((a) => (a.length > 1 ? `-${a}` : a)) }];
    }),
  );
  const named: AnyCommand = { ...cmd, args, meta: { ...meta, name: path.join(" "), version: undefined } };
  const colour = colourAllowed(io.stdout.isTTY, io.env);
  let text = (await renderUsage(named))
    // biome-ignore lint/suspicious/noControlCharactersInRegex: trailing blanks before ANSI resets
    .replace(/[ \t]+((?:\u001b\[[0-9;]*m)*)$/gm, "$1")
    .trimEnd();
  if (!colour) text = stripAnsi(text);
  const globalLines = [
    ["--profile=<name>", "profile to use (default: $TIKTI_PROFILE, then currentProfile, then default)"],
    ["--output=<pretty|json>", "output mode (default: pretty)"],
    ["--json", "shorthand for --output json"],
    ["--timeout=<seconds>", "per-request timeout (default: 30)"],
    ["-h, --help", "show this help"],
    ["-v, --version", "show the version"],
  ] as const;
  const width = Math.max(...globalLines.map(([f]) => f.length));
  const heading = colour ? "\u001b[1m\u001b[4mGLOBAL OPTIONS\u001b[24m\u001b[22m" : "GLOBAL OPTIONS";
  text += `\n\n${heading}\n\n${globalLines.map(([f, d]) => `  ${f.padStart(width)}  ${d}`).join("\n")}\n`;
  if (path.length === 1) {
    text += `\nProfiles live in ~/.tikti/config.yaml (TIKTI_CONFIG overrides the path).\n`;
  }
  return text;
}

/** The program looks at its own name only for help text (docs/spec/cli.md §4.1): `tikti` or `tikti-cli`. */
function programNameOf(names: readonly string[]): string {
  const base = (p: string) =>
    p
      .split(/[\\/]/)
      .pop()!
      .replace(/\.(exe|ts|mjs|js)$/i, "");
  return names.some((n) => base(n) === "tikti") ? "tikti" : "tikti-cli";
}
