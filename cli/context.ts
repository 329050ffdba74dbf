/**
 * What every command gets besides its own flags: the global flags, the IO, the invocation's request
 * id, and the selected profile (loaded lazily: `--help`, `keys generate` and `init` on a fresh machine
 * never need the file to exist).
 */
import { configError, notLoggedIn, usage } from "./errors.ts";
import { createHttpClient, type HttpClient } from "./http.ts";
import type { IO } from "./io.ts";
import { escapeControls } from "./output.ts";
import {
  type ConfigFile,
  configPath,
  type Profile,
  type ProfileField,
  readConfig,
  selectProfile,
  writeConfig,
} from "./profile.ts";

export interface Globals {
  profile: string | undefined;
  output: "pretty" | "json";
  timeoutSeconds: number;
}

export interface SelectedProfile {
  name: string;
  profile: Profile;
}

export interface Ctx {
  readonly io: IO;
  readonly globals: Globals;
  readonly requestId: string;
  readonly programName: string;
  readonly userAgent: string;
  readonly configPath: string;
  /** The selected profile's name and, when it exists, its contents. */
  findProfile(): Promise<{ name: string; profile: Profile | undefined }>;
  /** The selected profile, or exit 3 `profile not initialized`. */
  requireProfile(): Promise<SelectedProfile>;
  /** Read-modify-write of the selected profile; `create` allows a new one, `makeCurrent` sets `currentProfile`. */
  updateProfile(
    mutate: (profile: Profile) => void,
    options?: { create?: boolean; makeCurrent?: boolean },
  ): Promise<SelectedProfile>;
  /** The HTTP client for the selected profile (exit 3 without a base URL). */
  http(): Promise<HttpClient>;
  /** A stored token, or exit 2 naming how to get one. */
  storedToken(field: "idToken" | "accessToken" | "workerToken"): Promise<string>;
  /** A *(tenant)* flag (docs/spec/cli.md §5): the flag, else the profile's tenantId, else exit 1 naming the flag. */
  tenant(flag: string | undefined, flagName?: string): Promise<string>;
  warn(message: string): void;
}

export function createContext(init: {
  io: IO;
  globals: Globals;
  requestId: string;
  programName: string;
  version: string;
}): Ctx {
  const { io, globals } = init;
  const path = configPath(io.env, io.homedir());
  let loaded: Promise<ConfigFile | undefined> | undefined;
  const load = () => {
    loaded ??= readConfig(path, io.platform);
    return loaded;
  };

  const ctx: Ctx = {
    io,
    globals,
    requestId: init.requestId,
    programName: init.programName,
    userAgent: `tikti-cli/${init.version}`,
    configPath: path,
    async findProfile() {
      const config = await load();
      const name = selectProfile(globals.profile, io.env, config);
      return { name, profile: config?.profiles[name] };
    },
    async requireProfile() {
      const { name, profile } = await ctx.findProfile();
      if (!profile) {
        throw configError(`profile not initialized: "${name}" (run "${init.programName} init" first)`);
      }
      return { name, profile };
    },
    async updateProfile(mutate, options = {}) {
      const config: ConfigFile = structuredClone((await load()) ?? { profiles: {} });
      const name = selectProfile(globals.profile, io.env, config);
      const existing = config.profiles[name];
      if (!existing && !options.create) {
        throw configError(`profile not initialized: "${name}" (run "${init.programName} init" first)`);
      }
      const profile: Profile = { ...existing };
      mutate(profile);
      for (const [k, v] of Object.entries(profile)) {
        if (v === undefined || v === "") delete profile[k as ProfileField];
      }
      config.profiles[name] = profile;
      if (options.makeCurrent) config.currentProfile = name;
      await writeConfig(path, config);
      loaded = Promise.resolve(config);
      return { name, profile };
    },
    async http() {
      const { name, profile } = await ctx.requireProfile();
      if (!profile.baseUrl) {
        throw configError(
          `missing base URL in profile "${name}" (run "${init.programName} config set --base-url <url>")`,
        );
      }
      return createHttpClient({
        baseUrl: profile.baseUrl,
        apiKey: profile.apiKey,
        idToken: profile.idToken,
        requestId: init.requestId,
        userAgent: ctx.userAgent,
        timeoutMs: globals.timeoutSeconds * 1000,
        fetch: io.fetch,
      });
    },
    async storedToken(field) {
      const { name, profile } = await ctx.requireProfile();
      const token = profile[field];
      if (token) return token;
      const how =
        field === "idToken"
          ? `"${init.programName} auth login"`
          : `"${init.programName} token exchange${field === "workerToken" ? " --audience codeq-worker" : ""}"`;
      throw notLoggedIn(`no stored ${field} in profile "${name}" (run ${how})`);
    },
    async tenant(flag, flagName = "--tenant") {
      if (flag !== undefined && flag !== "") return flag;
      const fallback = (await ctx.findProfile()).profile?.tenantId;
      if (fallback) return fallback;
      throw usage(
        `${flagName} is required (or set a default with "${init.programName} config set --tenant <id>")`,
      );
    },
    warn(message) {
      io.stderr.write(`warning: ${escapeControls(message)}\n`);
    },
  };
  return ctx;
}
