// Profiles (docs/spec/cli.md §2) and the setup commands (§5.1): init, config show|set, apikey set, auth logout.
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE_URL, cliHarness, type Harness, initProfile, TEST_API_KEY } from "./harness.ts";

const posix = process.platform !== "win32";
const mode = (p: string) => statSync(p).mode & 0o777;

let h: Harness;
beforeEach(async () => {
  h = await cliHarness();
});
afterEach(async () => {
  await h.close();
});

describe("init", () => {
  it("creates the profile file 0600 in a new 0700 directory and makes the profile current", async () => {
    const r = await h.run([
      "init",
      "--base-url",
      "https://id.example.com//",
      "--api-key",
      "k-0123456789",
      "--tenant",
      "acme",
      "--no-prompt",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ profile: "default", configPath: h.configFile });
    expect(h.config()).toEqual({
      currentProfile: "default",
      profiles: { default: { baseUrl: "https://id.example.com", apiKey: "k-0123456789", tenantId: "acme" } },
    });
    if (posix) {
      expect(mode(h.configFile)).toBe(0o600);
      expect(mode(dirname(h.configFile))).toBe(0o700);
    }
    // Atomic write: no temporary file is left next to the config.
    expect(readdirSync(dirname(h.configFile))).toEqual(["config.yaml"]);
  });

  it("uses ~/.tikti/config.yaml without TIKTI_CONFIG", async () => {
    const r = await h.run(["init", "--host", BASE_URL, "--no-prompt"], { env: { TIKTI_CONFIG: undefined } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/configPath\s+.*home\/\.tikti\/config\.yaml/);
    expect(statSync(join(h.dir, "home", ".tikti", "config.yaml")).isFile()).toBe(true);
  });

  it("prompts for missing values on a terminal, the API key without echo", async () => {
    const r = await h.run(["init"], {
      stdinIsTTY: true,
      answers: [`${BASE_URL}/`, "prompted-key-1234", "acme"],
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.prompts.map((p) => p.hidden)).toEqual([false, true, false]);
    expect(r.prompts[1]!.question).toMatch(/API key/);
    expect(h.config().profiles.default).toEqual({
      baseUrl: BASE_URL,
      apiKey: "prompted-key-1234",
      tenantId: "acme",
    });
    expect(r.stdout).not.toContain("prompted-key-1234");
  });

  it("never prompts with --no-prompt or without a terminal, and needs a base URL (exit 3)", async () => {
    for (const opts of [
      { stdinIsTTY: true, argv: ["--no-prompt"] },
      { stdinIsTTY: false, argv: [] },
    ]) {
      const r = await h.run(["init", ...opts.argv], { stdinIsTTY: opts.stdinIsTTY });
      expect(r.prompts).toEqual([]);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe("error: missing base URL: pass --base-url <url>\n");
    }
  });

  it("rejects a base URL that is not http(s) (exit 1) and writes nothing", async () => {
    const r = await h.run(["init", "--base-url", "ftp://x", "--no-prompt"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: invalid base URL "ftp:\/\/x"/);
    expect(() => statSync(h.configFile)).toThrow();
  });

  it("updates an existing profile, keeps other profiles, and clears tokens when the base URL changes", async () => {
    await initProfile(h);
    await h.run(["init", "--profile", "staging", "--base-url", "https://staging.example", "--no-prompt"]);
    expect(h.config().currentProfile).toBe("staging");
    writeFileSync(
      h.configFile,
      `currentProfile: staging\nprofiles:\n  default: {baseUrl: "${BASE_URL}", apiKey: k, idToken: a, accessToken: b, workerToken: c, extra: kept}\n  staging: {baseUrl: "https://staging.example"}\n`,
      { mode: 0o600 },
    );
    const same = await h.run(["init", "--profile", "default", "--tenant", "t1", "--no-prompt"]);
    expect(same.code, same.stderr).toBe(0);
    expect(h.config().profiles.default).toMatchObject({ idToken: "a", tenantId: "t1", extra: "kept" });
    const moved = await h.run([
      "init",
      "--profile",
      "default",
      "--base-url",
      "https://other.example",
      "--no-prompt",
    ]);
    expect(moved.code).toBe(0);
    expect(h.config().profiles.default).toEqual({
      baseUrl: "https://other.example",
      apiKey: "k",
      tenantId: "t1",
      extra: "kept",
    });
    expect(h.config().profiles.staging).toEqual({ baseUrl: "https://staging.example" });
    expect(h.config().currentProfile).toBe("default");
  });
});

describe("profile selection and file safety", () => {
  beforeEach(async () => {
    mkdirSync(dirname(h.configFile), { recursive: true, mode: 0o700 });
    writeFileSync(
      h.configFile,
      [
        "currentProfile: cur",
        "profiles:",
        "  default: {baseUrl: 'https://default.example', apiKey: default-key-0001}",
        "  cur: {baseUrl: 'https://cur.example', apiKey: cur-key-0002}",
        "  env: {baseUrl: 'https://env.example', apiKey: env-key-0003}",
        "  flag: {baseUrl: 'https://flag.example'}",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
  });

  it("--profile, then TIKTI_PROFILE, then currentProfile, then default", async () => {
    const show = async (argv: string[], env: Record<string, string> = {}) =>
      (await h.run(["config", "show", "--json", ...argv], { env })).json<{ profile: string }>().profile;
    expect(await show(["--profile", "flag"], { TIKTI_PROFILE: "env" })).toBe("flag");
    expect(await show([], { TIKTI_PROFILE: "env" })).toBe("env");
    expect(await show([])).toBe("cur");
    writeFileSync(h.configFile, "profiles:\n  default: {baseUrl: 'https://default.example'}\n", {
      mode: 0o600,
    });
    expect(await show([])).toBe("default");
  });

  it("a missing profile is `profile not initialized` (exit 3)", async () => {
    const r = await h.run(["config", "show", "--profile", "nope"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: profile not initialized: "nope"/);
    const j = await h.run(["tenant", "list", "--profile", "nope", "--json"]);
    expect(j.code).toBe(3);
    expect(j.errorJson()).toMatchObject({ status: null, code: "CONFIG" });
    expect(j.stdout).toBe("");
  });

  it.runIf(posix)("refuses a config file readable or writable by group or others (exit 3)", async () => {
    for (const m of [0o640, 0o604, 0o620, 0o602, 0o644]) {
      chmodSync(h.configFile, m);
      const r = await h.run(["config", "show"]);
      expect(r.code, `mode ${m.toString(8)}`).toBe(3);
      expect(r.stderr).toContain(`config file ${h.configFile} is accessible by group or others`);
      expect(r.stderr).toContain("chmod 600");
    }
    chmodSync(h.configFile, 0o400);
    expect((await h.run(["config", "show"])).code).toBe(0);
  });

  it("refuses invalid YAML and wrong shapes (exit 3) naming the problem", async () => {
    const cases: Array<[string, RegExp]> = [
      ["profiles: [unclosed", /invalid config file .*config\.yaml/],
      ["- a\n- b\n", /not a mapping/],
      ["profiles:\n  default: {baseUrl: 3}\n", /profiles\.default\.baseUrl must be a string/],
      ["currentProfile: [x]\n", /currentProfile must be a string/],
    ];
    for (const [body, message] of cases) {
      writeFileSync(h.configFile, body, { mode: 0o600 });
      const r = await h.run(["config", "show"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("config show|set, apikey set, auth logout", () => {
  beforeEach(async () => {
    await initProfile(h, ["--tenant", "acme"]);
  });

  it("config show masks the API key and shows tokens only as stored", async () => {
    const raw = h.config();
    raw.profiles.default!.idToken = "secret.id.token";
    writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
    const j = await h.run(["config", "show", "--json"]);
    expect(j.json()).toEqual({
      profile: "default",
      configPath: h.configFile,
      baseUrl: BASE_URL,
      apiKey: `****${TEST_API_KEY.slice(-4)}`,
      tenantId: "acme",
      idToken: "stored",
    });
    const p = await h.run(["config", "show"]);
    expect(p.stdout).toMatch(/^profile\s+default$/m);
    expect(p.stdout).toMatch(/^apiKey\s+\*\*\*\*mnop$/m);
    expect(p.stdout).toMatch(/^idToken\s+stored$/m);
    expect(p.stdout).not.toMatch(/accessToken/);
    expect(p.stdout).not.toContain(TEST_API_KEY);
    expect(p.stdout).not.toContain("secret.id.token");
  });

  it("config set changes only the given fields; nothing to set is exit 1", async () => {
    const r = await h.run(["config", "set", "--tenant", "globex", "--json"]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ tenantId: "globex", baseUrl: BASE_URL });
    expect(h.config().profiles.default).toEqual({
      baseUrl: BASE_URL,
      apiKey: TEST_API_KEY,
      tenantId: "globex",
    });
    const none = await h.run(["config", "set"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("error: nothing to set: pass --base-url, --api-key or --tenant\n");
  });

  it("apikey set prompts without echo, reads stdin, and warns about argv", async () => {
    const prompted = await h.run(["apikey", "set"], { stdinIsTTY: true, answers: ["typed-key-aaaa"] });
    expect(prompted.code, prompted.stderr).toBe(0);
    expect(prompted.prompts).toEqual([{ question: "API key: ", hidden: true }]);
    expect(h.config().profiles.default!.apiKey).toBe("typed-key-aaaa");
    expect(prompted.stdout).toMatch(/^apiKey\s+\*\*\*\*aaaa$/m);

    const piped = await h.run(["apikey", "set", "--api-key-stdin", "--json"], { stdin: "piped-key-bbbb\n" });
    expect(piped.json()).toEqual({ profile: "default", apiKey: "****bbbb" });
    expect(h.config().profiles.default!.apiKey).toBe("piped-key-bbbb");

    const argv = await h.run(["apikey", "set", "--api-key", "argv-key-cccc"]);
    expect(argv.code).toBe(0);
    expect(argv.stderr).toMatch(/^warning: --api-key on the command line can end up in shell history/);

    const noTty = await h.run(["apikey", "set"]);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toBe("error: no terminal to ask for the API key: pass --api-key-stdin\n");
  });

  it("auth logout clears the three tokens", async () => {
    const raw = h.config();
    Object.assign(raw.profiles.default!, { idToken: "a", accessToken: "b", workerToken: "c" });
    writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
    const r = await h.run(["auth", "logout", "--json"]);
    expect(r.json()).toEqual({ profile: "default", status: "logged_out" });
    expect(h.config().profiles.default).toEqual({
      baseUrl: BASE_URL,
      apiKey: TEST_API_KEY,
      tenantId: "acme",
    });
    if (posix) expect(mode(h.configFile)).toBe(0o600);
  });
});
