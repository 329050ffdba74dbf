// The runner (docs/spec/cli.md §3, §4): --help on every level, --version, global flags anywhere, strict flags,
// error documents, colour rules, and the program name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnyCommand } from "../../cli/command.ts";
import { root } from "../../cli/tree.ts";
import { VERSION } from "../../src/version.ts";
import { cliHarness, type Harness, initProfile } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await cliHarness();
});
afterAll(async () => {
  await h.close();
});

const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof v === "function" ? (v as () => T | Promise<T>)() : v;

/** Every command path of the tree: groups and leaves. */
async function paths(
  cmd: AnyCommand,
  prefix: string[] = [],
): Promise<Array<{ path: string[]; leaf: boolean }>> {
  const subs = await resolve(cmd.subCommands);
  if (!subs) return [{ path: prefix, leaf: true }];
  const out: Array<{ path: string[]; leaf: boolean }> = [{ path: prefix, leaf: false }];
  for (const [name, sub] of Object.entries(subs))
    out.push(...(await paths(await resolve(sub), [...prefix, name])));
  return out;
}

describe("--help on every level", () => {
  it("covers every command of docs/spec/cli.md §5", async () => {
    const leaves = (await paths(root)).filter((p) => p.leaf).map((p) => p.path.join(" "));
    expect(leaves.sort()).toEqual(
      [
        "init",
        "config show",
        "config set",
        "apikey set",
        "auth login",
        "auth logout",
        "token exchange",
        "token client-credentials",
        "token show",
        "token validate",
        "token introspect",
        "user get",
        "user create",
        "user delete",
        "user suspend",
        "user deactivate",
        "user activate",
        "user revoke",
        "revoke tokens",
        "tenant create",
        "tenant get",
        "tenant list",
        "tenant disable",
        "tenant enable",
        "membership add",
        "membership remove",
        "membership list",
        "role create",
        "role list",
        "role get",
        "client create",
        "client update",
        "client list",
        "client get",
        "client secret rotate",
        "client jwks set",
        "jwks",
        "keys list",
        "keys generate",
        "saml metadata",
        "saml idp register",
        "saml idp show",
        "saml idp update",
        "saml idp remove",
        "saml idp list",
        "saml idp fetch",
        "saml domain add",
        "saml domain remove",
        "saml domain list",
        "saml keys generate",
        "saml keys rotate",
        "saml test",
      ].sort(),
    );
  });

  it("prints usage with the full command path and the global options, exit 0, no colour off a terminal", async () => {
    for (const { path, leaf } of await paths(root)) {
      for (const flag of ["--help", "-h"]) {
        const r = await h.run([...path, flag]);
        const title = ["tikti-cli", ...path].join(" ");
        expect(r.code, title).toBe(0);
        expect(r.stderr, title).toBe("");
        expect(r.stdout, title).toContain(`(${title})`);
        expect(r.stdout, title).toMatch(new RegExp(`^USAGE ${title.replace(/ /g, " ")}`, "m"));
        expect(r.stdout, title).toContain("GLOBAL OPTIONS");
        expect(r.stdout, title).toMatch(/--output=<pretty\|json>/);
        expect(r.stdout, title).not.toContain("\u001b[");
        expect(r.stdout, title).toContain(leaf ? "" : "COMMANDS");
      }
    }
  });

  it("documents the flag aliases of docs/spec/cli.md §4.1", async () => {
    const help = async (...p: string[]) => (await h.run([...p, "--help"])).stdout;
    expect(await help("init")).toMatch(/--host, --base-url=<url>/);
    expect(await help("auth", "login")).toMatch(/--user, --email=<email>/);
    const exchange = await help("token", "exchange");
    expect(exchange).toMatch(/--aud, --audience=<client-id>/);
    expect(exchange).toMatch(/--scope, --scopes=<a,b>/);
    expect(exchange).toMatch(/--sub, --subject=<user-id>/);
    expect(await help("init")).toMatch(/--no-prompt/);
  });

  it("help stays as written after the same command parsed its flags once (no --baseUrl spelling)", async () => {
    await h.run(["init", "--host", "https://id.example.com", "--api-key", "k", "--no-prompt"]);
    const help = (await h.run(["init", "--help"])).stdout;
    expect(help).toMatch(/--host, --base-url=<url>/);
    expect(help).not.toContain("baseUrl");
  });

  it("colours help only on a terminal and never with NO_COLOR", async () => {
    expect(
      (await h.run(["--help"], { stdoutIsTTY: true, env: { NO_COLOR: undefined, TERM: "xterm" } })).stdout,
    ).toContain("\u001b[");
    expect((await h.run(["--help"], { stdoutIsTTY: true, env: { NO_COLOR: "1" } })).stdout).not.toContain(
      "\u001b[",
    );
    expect(
      (await h.run(["--help"], { stdoutIsTTY: false, env: { NO_COLOR: undefined } })).stdout,
    ).not.toContain("\u001b[");
  });

  it("uses the name it was started under (tikti or tikti-cli) in help only", async () => {
    const asTikti = await h.run(["tenant", "--help"], { programNames: ["/usr/local/bin/tikti", ""] });
    expect(asTikti.stdout).toContain("(tikti tenant)");
    const asCli = await h.run(["tenant", "--help"], { programNames: ["bun", "/$bunfs/root/tikti-cli"] });
    expect(asCli.stdout).toContain("(tikti-cli tenant)");
  });
});

describe("--version", () => {
  it("prints the version and commit", async () => {
    const r = await h.run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`tikti-cli ${VERSION.version} (${VERSION.commit})\n`);
    const j = await h.run(["-v", "--json"]);
    expect(j.json()).toEqual({ name: "tikti-cli", version: VERSION.version, commit: VERSION.commit });
  });
});

describe("invalid invocations are exit 1", () => {
  const cases: Array<[string[], string]> = [
    [[], "error: missing command"],
    [["tenant"], 'error: missing command: "tikti-cli tenant <command>"'],
    [["tenants", "list"], 'error: unknown command "tenants" for "tikti-cli"'],
    [["tenant", "lst"], 'error: unknown command "lst" for "tikti-cli tenant"'],
    [["tenant", "list", "--bogus"], 'error: unknown flag --bogus for "tikti-cli tenant list"'],
    [["tenant", "list", "-x"], 'error: unknown flag -x for "tikti-cli tenant list"'],
    [["tenant", "get", "extra"], 'error: unexpected argument "extra" for "tikti-cli tenant get"'],
    [["tenant", "get", "--tenant"], "error: --tenant needs a value"],
    [["tenant", "create", "--slug", "x"], "error: Missing required argument: --name"],
    [["tenant", "list", "--output", "xml"], 'error: --output must be "pretty" or "json", got "xml"'],
    [["tenant", "list", "--timeout", "0"], 'error: --timeout must be a positive number of seconds, got "0"'],
    [
      ["tenant", "list", "--timeout", "soon"],
      'error: --timeout must be a positive number of seconds, got "soon"',
    ],
    [["tenant", "list", "--profile"], "error: --profile needs a value"],
  ];
  it.each(cases)("%j", async (argv, message) => {
    const r = await h.run(argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("--json errors are one JSON document on stderr with status null and the request id", async () => {
    const r = await h.run(["tenant", "list", "--bogus", "--json"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.errorJson()).toEqual({
      status: null,
      error: 'unknown flag --bogus for "tikti-cli tenant list" (see "tikti-cli tenant list --help")',
      code: "USAGE",
      requestId: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
    });
  });
});

describe("global flags", () => {
  it("are accepted before or after the command, in both spellings", async () => {
    await initProfile(h);
    const forms = [
      ["--json", "config", "show"],
      ["config", "show", "--json"],
      ["--output", "json", "config", "show"],
      ["config", "--output=json", "show"],
      ["config", "show", "--profile=default", "--output", "json", "--timeout", "5"],
    ];
    for (const argv of forms) {
      const r = await h.run(argv);
      expect(r.code, argv.join(" ")).toBe(0);
      expect(r.json(), argv.join(" ")).toMatchObject({ profile: "default" });
    }
    const pretty = await h.run(["config", "show", "--output", "pretty"]);
    expect(pretty.stdout).toMatch(/^profile\s+default$/m);
  });
});
