/**
 * Flags of docs/spec/cli.md §7 and the choice of store they make.
 *
 * citty's own parser keeps only the last value of a repeated flag and reads unknown flags as
 * booleans; `--only`/`--rerun` are repeatable and a typo must be a configuration error (exit 3),
 * so argv is parsed here, strictly, against the same argument definitions citty renders for
 * `--help`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ArgsDef } from "citty";
import { ConfigError, loadConfig } from "../src/config/load.ts";
import { isPathTenantId } from "../src/domain/grammar.ts";
import { createConfigIO } from "../src/runtime/config-io.ts";
import { findMigration } from "./migrations/index.ts";

export const ARGS = {
  config: {
    type: "string",
    valueHint: "file",
    description:
      "take storage settings from a server config file (env expansion and *_FILE secrets as the server)",
  },
  "redis-addr": {
    type: "string",
    valueHint: "host:port",
    description: "single Redis/KVRocks node (default localhost:6379 when no storage option is given)",
  },
  "redis-url": { type: "string", valueHint: "url", description: "redis:// or rediss:// URL" },
  "redis-cluster": { type: "string", valueHint: "h1:p1,h2:p2", description: "Redis Cluster seed nodes" },
  "redis-password": {
    type: "string",
    description: "prefer REDIS_PASSWORD or REDIS_PASSWORD_FILE (flag values show in process lists)",
  },
  "redis-db": { type: "string", valueHint: "n", description: "database index, single node only (default 0)" },
  "data-dir": { type: "string", valueHint: "dir", description: "embedded store directory (server stopped)" },
  "default-tenant": {
    type: "string",
    valueHint: "id",
    description: "0001: give users without membership one in this tenant (created if absent)",
  },
  "dry-run": {
    type: "boolean",
    description: "compute and print everything, write nothing (no lock, no record)",
  },
  only: { type: "string", valueHint: "id", description: "run only this migration (repeatable)" },
  rerun: { type: "string", valueHint: "id", description: "run this recorded migration again (repeatable)" },
  down: { type: "string", valueHint: "id", description: "revert one migration (only 0007)" },
  list: { type: "boolean", description: "print each migration as applied <time> or pending, then exit" },
  "metrics-file": {
    type: "string",
    valueHint: "file",
    description: "write counters in Prometheus text format",
  },
} as const satisfies ArgsDef;

type ArgName = keyof typeof ARGS;
const REPEATABLE: ReadonlySet<ArgName> = new Set(["only", "rerun"]);

/** Bad flags, unreadable config, several storage options: exit 3 (docs/spec/cli.md §9.5). */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface ParsedArgs {
  help: boolean;
  version: boolean;
  strings: Partial<Record<ArgName, string>>;
  lists: { only: string[]; rerun: string[] };
  flags: { "dry-run": boolean; list: boolean };
}

/** Strict argv parsing: `--flag value`, `--flag=value`, booleans, repeatable `--only`/`--rerun`. */
export function parseArgv(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = {
    help: false,
    version: false,
    strings: {},
    lists: { only: [], rerun: [] },
    flags: { "dry-run": false, list: false },
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "-h" || token === "--help") {
      out.help = true;
      continue;
    }
    if (token === "-v" || token === "--version") {
      out.version = true;
      continue;
    }
    if (!token.startsWith("--") || token === "--") throw new UsageError(`unexpected argument "${token}"`);
    const eq = token.indexOf("=");
    const name = (eq < 0 ? token.slice(2) : token.slice(2, eq)) as ArgName;
    const def = Object.hasOwn(ARGS, name) ? ARGS[name] : undefined;
    if (!def) throw new UsageError(`unknown flag --${name}`);
    if (def.type === "boolean") {
      const raw = eq < 0 ? "true" : token.slice(eq + 1);
      if (raw !== "true" && raw !== "false")
        throw new UsageError(`--${name} takes no value (or =true/=false)`);
      out.flags[name as "dry-run" | "list"] = raw === "true";
      continue;
    }
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (REPEATABLE.has(name)) {
      const list = out.lists[name as "only" | "rerun"];
      for (const part of value.split(",")) if (part.trim() !== "") list.push(part.trim());
      continue;
    }
    if (out.strings[name] !== undefined) throw new UsageError(`--${name} given more than once`);
    out.strings[name] = value;
  }
  return out;
}

export type StoreTarget =
  | {
      kind: "redis";
      addr?: string;
      url?: string;
      cluster?: string[];
      username?: string;
      password?: string;
      db: number;
      tls: boolean;
      timeoutMs: number;
      /** For messages: the password is never part of it. */
      display: string;
      /**
       * No flag, `--config` or variable chose the store: `localhost:6379` is a guess, so an
       * unreachable one fails at once with advice instead of being waited for.
       */
      implicit?: true;
    }
  | { kind: "embedded"; dataDir: string; display: string };

export type Action = { kind: "run" } | { kind: "list" } | { kind: "down"; id: string };

export interface MigrateOptions {
  target: StoreTarget;
  action: Action;
  dryRun: boolean;
  only: string[];
  rerun: string[];
  /** `--only`/`--rerun` values that name no migration (exit 1). */
  unknownIds: string[];
  defaultTenant?: string;
  metricsFile?: string;
}

/** `redis://user:****@host/db`: the URL with its password masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_ADDR = "localhost:6379";

/** The advice printed when no storage option was given and the default does not answer. */
export const NO_STORE_CHOSEN =
  "no storage option given, and nothing answers at localhost:6379 (the default). Choose the store with " +
  "--config <server config>, --redis-addr, --redis-url, --redis-cluster or --data-dir " +
  "(or the server's variables REDIS_ADDR, REDIS_URL, REDIS_CLUSTER, TIKTI_DATA_DIR)";

function parseDb(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${what} must be an integer ≥ 0`);
  return Number(value.trim());
}

function passwordFromEnv(env: Record<string, string | undefined>, cwd: string): string | undefined {
  const direct = env.REDIS_PASSWORD || undefined;
  const file = env.REDIS_PASSWORD_FILE || undefined;
  if (direct !== undefined && file !== undefined) {
    throw new UsageError("REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set; keep one");
  }
  if (file === undefined) return direct;
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), "utf8");
  } catch (err) {
    throw new UsageError(`REDIS_PASSWORD_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  const trimmed = text.replace(/\s+$/, "");
  if (trimmed === "") throw new UsageError(`REDIS_PASSWORD_FILE: ${file} is empty`);
  return trimmed;
}

function redisTarget(
  sel: { addr?: string; url?: string; cluster?: string },
  extra: { username?: string; password?: string; db?: number; tls: boolean; timeoutMs: number },
): StoreTarget {
  const base = {
    kind: "redis" as const,
    ...(extra.username ? { username: extra.username } : {}),
    ...(extra.password ? { password: extra.password } : {}),
    db: extra.db ?? 0,
    tls: extra.tls,
    timeoutMs: extra.timeoutMs,
  };
  if (sel.url !== undefined) {
    let u: URL;
    try {
      u = new URL(sel.url);
    } catch {
      throw new UsageError("--redis-url: not a valid URL");
    }
    if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
      throw new UsageError("--redis-url: must start with redis:// or rediss://");
    }
    return { ...base, url: sel.url, display: `redis ${redactUrl(sel.url)}` };
  }
  if (sel.cluster !== undefined) {
    const nodes = sel.cluster
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (nodes.length === 0) throw new UsageError("--redis-cluster: no node given");
    if (extra.db !== undefined && extra.db !== 0) throw new UsageError("--redis-db: a cluster has only db 0");
    return { ...base, cluster: nodes, display: `redis-cluster ${nodes.join(",")}` };
  }
  const addr = sel.addr ?? DEFAULT_ADDR;
  return {
    ...base,
    addr,
    display: `redis ${addr} db ${base.db}`,
    ...(sel.addr === undefined ? { implicit: true as const } : {}),
  };
}

/** Turns parsed flags (plus environment and `--config`) into options; bad input → `UsageError`. */
export async function resolveOptions(
  args: ParsedArgs,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<MigrateOptions> {
  const s = args.strings;
  // Unknown ids are a failure, not a usage error (docs/spec/cli.md §9.5): collected for the caller.
  const unknownIds: string[] = [];
  const ids = (list: string[]) =>
    list.flatMap((raw) => {
      const m = findMigration(raw);
      if (!m) unknownIds.push(raw);
      return m ? [m.id] : [];
    });
  const only = ids(args.lists.only);
  const rerun = ids(args.lists.rerun);

  let action: Action = { kind: "run" };
  if (args.flags.list) action = { kind: "list" };
  if (s.down !== undefined) {
    if (action.kind === "list") throw new UsageError("--list and --down cannot be combined");
    action = { kind: "down", id: s.down };
  }
  if (action.kind !== "run" && (only.length > 0 || rerun.length > 0)) {
    throw new UsageError(`--only and --rerun cannot be combined with --${action.kind}`);
  }
  if (s["default-tenant"] !== undefined && !isPathTenantId(s["default-tenant"])) {
    throw new UsageError("--default-tenant: not a valid tenant id ([A-Za-z0-9._-], 1–128 characters)");
  }

  const selectors = (["redis-addr", "redis-url", "redis-cluster", "data-dir"] as const).filter(
    (n) => s[n] !== undefined,
  );
  if (selectors.length > 1) {
    throw new UsageError(
      `several storage options: ${selectors.map((n) => `--${n}`).join(", ")} (choose one)`,
    );
  }
  const flagDb = s["redis-db"] !== undefined ? parseDb(s["redis-db"], "--redis-db") : undefined;

  let target: StoreTarget;
  if (s.config !== undefined) {
    if (selectors.length > 0) {
      throw new UsageError(`--config and --${selectors[0]} both choose the store (choose one)`);
    }
    let config: Awaited<ReturnType<typeof loadConfig>>["config"];
    try {
      ({ config } = await loadConfig(createConfigIO({ env, cwd }), { configPath: s.config }));
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw new UsageError(`config: ${(err as Error).message}`);
    }
    const extra = {
      username: config.redisUsername || undefined,
      password: s["redis-password"] ?? (config.redisPassword || undefined),
      db: flagDb ?? config.redisDb,
      tls: config.redisTls,
      timeoutMs: Math.max(config.redisTimeoutMs, DEFAULT_TIMEOUT_MS),
    };
    if (config.redisAddr) target = redisTarget({ addr: config.redisAddr }, extra);
    else if (config.redisUrl) target = redisTarget({ url: config.redisUrl }, extra);
    else if (config.redisCluster.length > 0)
      target = redisTarget({ cluster: config.redisCluster.join(",") }, extra);
    else target = embeddedTarget(resolve(cwd, config.dataDir), s, flagDb);
  } else {
    // Without flags, the server's Go-compatible variables choose the store, as they do for the server.
    const envSel = (["REDIS_ADDR", "REDIS_URL", "REDIS_CLUSTER"] as const).filter((n) => env[n]);
    if (selectors.length === 0 && envSel.length > 1) {
      throw new UsageError(`several storage options: ${envSel.join(", ")} (choose one)`);
    }
    const dataDir =
      s["data-dir"] ?? (selectors.length === 0 && envSel.length === 0 ? env.TIKTI_DATA_DIR : undefined);
    if (dataDir) target = embeddedTarget(resolve(cwd, dataDir), s, flagDb);
    else {
      const sel =
        selectors.length > 0
          ? { addr: s["redis-addr"], url: s["redis-url"], cluster: s["redis-cluster"] }
          : {
              addr: env.REDIS_ADDR || undefined,
              url: env.REDIS_URL || undefined,
              cluster: env.REDIS_CLUSTER || undefined,
            };
      const envDb = env.REDIS_DB ? parseDb(env.REDIS_DB, "REDIS_DB") : undefined;
      target = redisTarget(
        {
          ...(sel.addr !== undefined ? { addr: sel.addr } : {}),
          ...(sel.url !== undefined ? { url: sel.url } : {}),
          ...(sel.cluster !== undefined ? { cluster: sel.cluster } : {}),
        },
        {
          username: env.REDIS_USERNAME || undefined,
          password: s["redis-password"] ?? passwordFromEnv(env, cwd),
          db: flagDb ?? envDb,
          tls: env.REDIS_TLS === "true",
          timeoutMs: DEFAULT_TIMEOUT_MS,
        },
      );
    }
  }

  return {
    target,
    action,
    dryRun: args.flags["dry-run"],
    only,
    rerun,
    unknownIds,
    ...(s["default-tenant"] !== undefined ? { defaultTenant: s["default-tenant"] } : {}),
    ...(s["metrics-file"] !== undefined ? { metricsFile: resolve(cwd, s["metrics-file"]) } : {}),
  };
}

function embeddedTarget(dataDir: string, s: ParsedArgs["strings"], flagDb: number | undefined): StoreTarget {
  if (s["redis-password"] !== undefined || flagDb !== undefined) {
    throw new UsageError("--redis-password and --redis-db do not apply to the embedded store");
  }
  return { kind: "embedded", dataDir, display: `embedded store ${dataDir}` };
}
