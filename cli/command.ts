/**
 * How a command is written: `command({description, args, run})` is citty's `defineCommand` with
 * the invocation context (cli/context.ts) handed to `run`, which returns a `CommandResult` that the
 * runner prints in the selected output mode. Shared flag definitions and flag-value parsers live
 * here so every command spells them the same way.
 */
import { type ArgsDef, type CommandDef, defineCommand, type ParsedArgs, type SubCommandsDef } from "citty";
import type { Ctx } from "./context.ts";
import { usage } from "./errors.ts";
import type { HttpRequest } from "./http.ts";
import { type CommandResult, result } from "./output.ts";

export function command<const A extends ArgsDef>(def: {
  description: string;
  args: A;
  run(args: ParsedArgs<A>, ctx: Ctx): Promise<CommandResult>;
}): CommandDef<A> {
  return defineCommand({
    meta: { description: def.description },
    // A copy per use: citty's parser appends the camelCase/kebab spellings to an `alias` array in
    // place, so a process that parses twice (an embedding, the test runner) would otherwise show
    // `--baseUrl` beside `--base-url` in the next help.
    args: () => freshArgs(def.args),
    run: ({ args, data }) => def.run(args, data as Ctx),
  });
}

function freshArgs<A extends ArgsDef>(args: A): A {
  return Object.fromEntries(
    Object.entries(args).map(([name, arg]) => [
      name,
      "alias" in arg && Array.isArray(arg.alias) ? { ...arg, alias: [...arg.alias] } : { ...arg },
    ]),
  ) as A;
}

// biome-ignore lint/suspicious/noExplicitAny: the tree holds commands of every argument shape
export type AnyCommand = CommandDef<any>;

/** Resolves a lazily imported command module: `() => load(import("./x.ts"))`. */
export const load = (module: Promise<{ default: AnyCommand }>): Promise<AnyCommand> =>
  module.then((m) => m.default);

/** A command whose only job is to hold verbs or nested groups (cli/commands/<noun>/index.ts). */
export function group(description: string, verbs: SubCommandsDef): AnyCommand {
  return defineCommand({ meta: { description }, subCommands: verbs });
}

/** A *(tenant)* flag (docs/spec/cli.md §5); `--tid` is the spelling of the SAML commands, accepted everywhere. */
export const tenantArg = {
  tenant: {
    type: "string",
    alias: "tid",
    valueHint: "id",
    description: "tenant id (default: the profile's tenantId)",
  },
} as const;

/**
 * The user of an admin command: `--email` or `--local-id`, exactly one (docs/spec/api.md §6, §8: every admin
 * route that takes an email also takes a localId, which names a user unambiguously).
 */
export const userArgs = {
  email: { type: "string", valueHint: "email", description: "the user's email (or --local-id)" },
  "local-id": { type: "string", valueHint: "id", description: "the user's localId (or --email)" },
} as const;

/** The body fields naming the user; neither or both flags fail locally (exit 1, no request). */
export function userRef(args: {
  email?: string | undefined;
  "local-id"?: string | undefined;
}): { email: string } | { localId: string } {
  const { email, "local-id": localId } = args;
  if ((email === undefined) === (localId === undefined))
    throw usage("give exactly one of --email or --local-id");
  return email !== undefined ? { email } : { localId: localId as string };
}

export const pageArgs = {
  "page-size": { type: "string", valueHint: "n", default: "50", description: "entries per page (1-200)" },
  all: { type: "boolean", description: "follow nextPageToken and print every page" },
} as const;

export const passwordArgs = {
  password: {
    type: "string",
    description: "the password (discouraged: visible in shell history; prompted without echo when absent)",
  },
  "password-stdin": { type: "boolean", description: "read the password from standard input" },
} as const;

/** A command that mirrors a route (docs/spec/cli.md §3): one request, the server's body printed unchanged. */
export async function mirror(ctx: Ctx, request: HttpRequest): Promise<CommandResult> {
  const http = await ctx.http();
  return result(await http.send(request));
}

/** The password of a command that spreads `passwordArgs`: stdin, argv (with a warning) or a hidden prompt. */
export function readPassword(
  ctx: Ctx,
  args: { password?: string | undefined; "password-stdin"?: boolean | undefined },
  options: { confirm?: boolean } = {},
): Promise<string> {
  return readSecret(ctx, {
    value: args.password,
    fromStdin: args["password-stdin"],
    flag: "password",
    label: "password",
    confirm: options.confirm ?? false,
  });
}

/** CSV flags (docs/spec/cli.md §5): commas or whitespace separate values; blanks are dropped. */
export function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(/[\s,]+/).filter((v) => v !== "");
}

export function integer(value: string | undefined, flag: string, range?: { min?: number; max?: number }) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw usage(`${flag} must be an integer, got "${value}"`);
  if (range?.min !== undefined && n < range.min) throw usage(`${flag} must be at least ${range.min}`);
  if (range?.max !== undefined && n > range.max) throw usage(`${flag} must be at most ${range.max}`);
  return n;
}

/**
 * A password (or another secret): from stdin with `--<flag>-stdin`, from the flag with a warning
 * (argv lands in shell history and the process list), else prompted without echo on a terminal.
 */
export async function readSecret(
  ctx: Ctx,
  options: {
    value: string | undefined;
    fromStdin: boolean | undefined;
    flag: string;
    label: string;
    confirm?: boolean;
  },
): Promise<string> {
  const { value, flag, label } = options;
  if (options.fromStdin && value !== undefined)
    throw usage(`use either --${flag} or --${flag}-stdin, not both`);
  if (options.fromStdin) {
    const text = (await ctx.io.readStdin()).replace(/\r?\n$/, "");
    if (text === "") throw usage(`--${flag}-stdin: standard input was empty`);
    return text;
  }
  if (value !== undefined) {
    ctx.warn(
      `--${flag} on the command line can end up in shell history and process lists; prefer the prompt or --${flag}-stdin`,
    );
    return value;
  }
  if (!ctx.io.stdinIsTTY) throw usage(`no terminal to ask for the ${label}: pass --${flag}-stdin`);
  const answer = await ctx.io.prompt(`${label[0]!.toUpperCase()}${label.slice(1)}: `, { hidden: true });
  if (answer === "") throw usage(`empty ${label}`);
  if (options.confirm) {
    const again = await ctx.io.prompt(`Repeat ${label}: `, { hidden: true });
    if (again !== answer) throw usage(`the two ${label}s differ`);
  }
  return answer;
}

/** Pages of a list route, following `nextPageToken` when `all` (tenant list, membership list). */
export async function collectPages<K extends string>(
  fetchPage: (pageToken: string | undefined) => Promise<Record<K, unknown[]> & { nextPageToken?: string }>,
  key: K,
  all: boolean | undefined,
): Promise<Record<K, unknown[]> & { nextPageToken: string }> {
  let page = await fetchPage(undefined);
  if (!all) return { ...page, nextPageToken: page.nextPageToken ?? "" };
  const items = [...page[key]];
  while (page.nextPageToken) {
    page = await fetchPage(page.nextPageToken);
    items.push(...page[key]);
  }
  return { ...page, [key]: items, nextPageToken: "" } as Record<K, unknown[]> & { nextPageToken: string };
}
