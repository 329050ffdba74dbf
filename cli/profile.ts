/**
 * Profiles in `~/.tikti/config.yaml` (docs/spec/cli.md §2): base URL, API key, default tenant and the
 * stored tokens. The file holds secrets, so it is created 0600 in a 0700 directory, refused (exit 3)
 * when group or others may read or write it, and replaced atomically (temp file + rename) so a crash
 * or a concurrent reader never sees half a file.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { CliError, configError } from "./errors.ts";

export const PROFILE_FIELDS = [
  "baseUrl",
  "apiKey",
  "tenantId",
  "idToken",
  "accessToken",
  "workerToken",
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export type Profile = { [K in ProfileField]?: string };
export const TOKEN_FIELDS = ["idToken", "accessToken", "workerToken"] as const satisfies ProfileField[];

export interface ConfigFile {
  currentProfile?: string;
  profiles: Record<string, Profile>;
}

export function configPath(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const override = env.TIKTI_CONFIG;
  return override !== undefined && override !== "" ? override : join(home, ".tikti", "config.yaml");
}

/** `--profile`, else `TIKTI_PROFILE`, else `currentProfile`, else `default` (docs/spec/cli.md §2). */
export function selectProfile(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: ConfigFile | undefined,
): string {
  for (const candidate of [flag, env.TIKTI_PROFILE, config?.currentProfile]) {
    if (candidate !== undefined && candidate !== "") return candidate;
  }
  return "default";
}

/** The parsed file, or `undefined` when it does not exist. Throws exit-3 errors for everything else. */
export async function readConfig(path: string, platform: string): Promise<ConfigFile | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw configError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  // POSIX permissions only mean something on POSIX systems; Windows reports 0666 for every file.
  if (platform !== "win32" && (mode & 0o077) !== 0) {
    throw configError(
      `config file ${path} is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); it holds secrets: run "chmod 600 ${path}"`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw configError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return validate(text, path);
}

function validate(text: string, path: string): ConfigFile {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw configError(`invalid config file ${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return { profiles: {} };
  const bad = (what: string) => configError(`invalid config file ${path}: ${what}`);
  if (!isRecord(doc)) throw bad("not a mapping");
  const { currentProfile, profiles = {} } = doc;
  if (currentProfile !== undefined && currentProfile !== null && typeof currentProfile !== "string") {
    throw bad("currentProfile must be a string");
  }
  if (profiles !== null && !isRecord(profiles)) throw bad("profiles must be a mapping");
  const out: ConfigFile = { ...doc, profiles: {} } as ConfigFile;
  if (typeof currentProfile === "string") out.currentProfile = currentProfile;
  else delete out.currentProfile;
  for (const [name, value] of Object.entries(profiles ?? {})) {
    if (value === null) {
      out.profiles[name] = {};
      continue;
    }
    if (!isRecord(value)) throw bad(`profiles.${name} must be a mapping`);
    for (const field of PROFILE_FIELDS) {
      const v = value[field];
      if (v !== undefined && v !== null && typeof v !== "string") {
        throw bad(`profiles.${name}.${field} must be a string`);
      }
    }
    // Unknown keys are kept as they are: a newer CLI may have written them.
    out.profiles[name] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as Profile;
  }
  return out;
}

/** Writes the whole file atomically with mode 0600, creating the directory with mode 0700. */
export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw configError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const body = stringify(config, { lineWidth: 0 });
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.config.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(body, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask cannot widen 0600, but an explicit chmod documents the intent and covers odd umasks.
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    if (e instanceof CliError) throw e;
    throw configError(`cannot write config file ${path}: ${(e as Error).message}`);
  }
}

/** Base URLs are stored without trailing slashes; only http(s) URLs are accepted. */
export function normaliseBaseUrl(input: string): string {
  const trimmed = input.trim().replace(/\/+$/, "");
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new CliError("USAGE", `invalid base URL "${input}": expected http(s)://host[:port]`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError("USAGE", `invalid base URL "${input}": only http:// and https:// are supported`);
  }
  return trimmed;
}

/** `****` + the last 4 characters (docs/spec/cli.md §5.1 `config show`); a short secret shows nothing. */
export function maskSecret(secret: string): string {
  return secret.length >= 8 ? `****${secret.slice(-4)}` : "****";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
