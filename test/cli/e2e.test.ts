// End to end: the compiled tikti-cli drives the compiled tikti server through the walkthrough of
// docs/cli.md — init, auth login, tenant create, client create, membership add, role create,
// token exchange, token show, membership remove, jwks — and the tokens it stores verify against the
// server's JWKS. HOME is a temp dir, so the profile lands in ~/.tikti/config.yaml for real.
//
// The binaries are built by `scripts/compile.mjs` (what `npm run compile` runs) into a directory of
// this file's own rather than dist/: other test files rebuild dist/ in parallel, and executing a file
// while Bun rewrites it fails with ETXTBSY now and then.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { spawnServer } from "../support/children.ts";
import { freePort } from "../support/ports.ts";
import { repoRoot, writeTestConfig } from "../support/tikti-process.ts";

const ADMIN = "admin@example.com";
const DEV = "dev@example.com";
const PASSWORD = "correct horse battery";

let work: string;
let CLI: string;
let home: string;
let server: { baseUrl: string; apiKey: string; child: ChildProcess };

function cli(args: string[], options: { stdin?: string } = {}) {
  const r = spawnSync(CLI, args, {
    env: { PATH: process.env.PATH ?? "", HOME: home, NO_COLOR: "1" },
    input: options.stdin ?? "",
    encoding: "utf8",
    timeout: 30_000,
  });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: <T = Record<string, unknown>>() => JSON.parse(r.stdout) as T,
  };
}

function ok(args: string[], options: { stdin?: string } = {}) {
  const r = cli(args, options);
  expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r;
}

const configFile = () => join(home, ".tikti", "config.yaml");
const profile = () => parse(readFileSync(configFile(), "utf8")).profiles.default as Record<string, string>;

/** The compiled server with a generated config (as startTikti does), waiting for its listening line. */
async function startServer(bin: string, dir: string) {
  const port = await freePort();
  const { configFile: file, apiKey } = await writeTestConfig(dir, port);
  const child = spawnServer(bin, ["-f", file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: dir, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 30_000);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes('"msg":"tikti listening"')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.on("exit", (code) => fail(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, apiKey, child };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "tikti-cli-e2e-"));
  const bins = join(work, "bin");
  const build = spawnSync(process.execPath, [join(repoRoot, "scripts/compile.mjs"), "--outdir", bins], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(build.status, build.stderr).toBe(0);
  CLI = join(bins, "tikti-cli");
  home = join(work, "home");
  mkdirSync(home);
  mkdirSync(join(work, "server"));
  server = await startServer(join(bins, "tikti"), join(work, "server"));
}, 240_000);

afterAll(() => {
  server?.child.kill("SIGKILL");
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the walkthrough against a running server", () => {
  it("init writes ~/.tikti/config.yaml (0600 in a 0700 directory)", () => {
    const r = ok(["init", "--host", server.baseUrl, "--api-key", server.apiKey, "--no-prompt"]);
    expect(r.stdout).toBe(`profile     default\nconfigPath  ${configFile()}\n`);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, ".tikti")).mode & 0o777).toBe(0o700);
    expect(profile()).toEqual({ baseUrl: server.baseUrl, apiKey: server.apiKey });
  });

  it("user create (an administrator and a developer) and auth login", () => {
    ok(["user", "create", "--email", ADMIN, "--role", "ADMIN", "--password-stdin"], { stdin: PASSWORD });
    const dev = ok(["user", "create", "--email", DEV, "--password-stdin", "--json"], {
      stdin: `${PASSWORD}\n`,
    });
    expect(dev.json()).toEqual({ localId: expect.any(String), email: DEV, createdAt: expect.any(String) });
    const login = ok(["auth", "login", "--user", ADMIN, "--password-stdin", "--json"], { stdin: PASSWORD });
    expect(login.json()).toMatchObject({ email: ADMIN, token: "stored", expiresIn: 3600 });
    expect(decodeJwt(profile().idToken!)).toMatchObject({ email: ADMIN, role: "ADMIN" });
  });

  it("tenant create, client create, membership add, role create", () => {
    const tenant = ok([
      "tenant",
      "create",
      "--name",
      "Acme Corp",
      "--slug",
      "acme",
      "--id",
      "acme",
      "--json",
    ]);
    expect(tenant.json()).toMatchObject({ id: "acme", status: "ACTIVE" });
    ok(["config", "set", "--tenant", "acme"]);
    const client = ok([
      "client",
      "create",
      "--client-id",
      "codeq-worker",
      "--scopes",
      "codeq:claim,codeq:result",
      "--event-types",
      "render_video,generate_master",
    ]);
    expect(client.stdout).toMatch(/^secret\s+[A-Za-z0-9_-]{43}$/m);
    expect(client.stderr).toContain("cannot be shown again");
    ok(["client", "create", "--client-id", "reports-api", "--scopes", "reports:read", "--json"]);
    const role = ok(["role", "create", "--name", "reporter", "--permissions", "reports:read", "--json"]);
    expect(role.json()).toMatchObject({ name: "reporter", tenantId: "acme", permissions: ["reports:read"] });
    const member = ok([
      "membership",
      "add",
      "--email",
      DEV,
      "--roles",
      "COMPANY_EMPLOYEE,reporter",
      "--json",
    ]);
    expect(member.json()).toMatchObject({
      tenantId: "acme",
      email: DEV,
      roles: ["COMPANY_EMPLOYEE", "reporter"],
    });
    const list = ok(["membership", "list"]);
    expect(list.stdout).toMatch(
      /^USER ID\s+EMAIL\s+ROLES\s+STATUS\s+AUTH SOURCE\s+CREATED\n\S+\s+dev@example\.com\s+COMPANY_EMPLOYEE,reporter\s+ACTIVE\s+password\s+\d{4}-/,
    );
  });

  it("the developer exchanges tokens; stored tokens verify against the server's JWKS", async () => {
    ok(["auth", "login", "--email", DEV, "--password-stdin"], { stdin: PASSWORD });
    const worker = ok(["token", "exchange", "--audience", "codeq-worker", "--event-types", "render_video"]);
    expect(worker.stdout).toMatch(/^storedAs\s+workerToken$/m);
    const access = ok(["token", "exchange", "--aud", "reports-api", "--scope", "reports:read", "--json"]);
    expect(access.json()).toMatchObject({
      audience: "reports-api",
      tenantId: "acme",
      storedAs: "accessToken",
    });

    const shown = ok(["token", "show", "--type", "worker"]).stdout.trim();
    expect(shown).toBe(profile().workerToken);
    const jwksDoc = ok(["jwks", "--json"]).json();
    const served = await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json();
    expect(jwksDoc).toEqual(served);
    const jwks = createLocalJWKSet(served);
    const w = await jwtVerify(shown, jwks, { audience: "codeq-worker", issuer: server.baseUrl });
    expect(w.payload).toMatchObject({
      email: DEV,
      tid: "acme",
      scope: "codeq:claim codeq:result",
      eventTypes: ["render_video"],
    });
    const a = await jwtVerify(profile().accessToken!, jwks, {
      audience: "reports-api",
      issuer: server.baseUrl,
    });
    expect(a.payload).toMatchObject({ tid: "acme", scope: "reports:read" });
    const showJson = ok(["token", "show", "--type", "worker", "--json"]).json<{ expiresAt: string }>();
    expect(Date.parse(showJson.expiresAt)).toBe((w.payload.exp as number) * 1000);
  });

  it("membership remove revokes the developer's tokens; jwks prints the key table", () => {
    const validBefore = ok([
      "token",
      "validate",
      "--token",
      profile().workerToken!,
      "--audience",
      "codeq-worker",
    ]);
    expect(validBefore.stdout).toMatch(/^tid\s+acme$/m);
    const removed = ok(["membership", "remove", "--email", DEV, "--json"]);
    expect(removed.json()).toMatchObject({ tenantId: "acme", email: DEV, removedAt: expect.any(String) });
    const stale = cli(["token", "validate", "--token", profile().workerToken!, "--audience", "codeq-worker"]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(
      /^error \(401\): invalid token \[INVALID_TOKEN\] \(request [0-9a-f-]{36}\)\n {2}reason: revoked\n$/,
    );
    const denied = cli(["token", "exchange", "--audience", "codeq-worker", "--event-types", "render_video"]);
    expect(denied.code).toBe(2);
    const jwks = ok(["jwks"]);
    expect(jwks.stdout).toBe("KID         ALG    USE  BITS\ntest-key-1  RS256  sig  2048\n");
  });

  it("an OAuth client: create with roles, client credentials by secret and by private_key_jwt, rotate, introspect, disable", async () => {
    // The worker's own credential (docs/spec/oauth.md §10): no API key, no user. The role gives it reports:read.
    const created = ok([
      "client",
      "create",
      "--client-id",
      "report-job",
      "--grant",
      "client_credentials",
      "--roles",
      "reporter",
      "--json",
    ]).json<{ oauthClientId: string; secret: string }>();
    expect(created.oauthClientId).toBe("acme/report-job");
    const secretFile = join(work, "report-job.secret");
    writeFileSync(secretFile, `${created.secret}\n`, { mode: 0o600 });
    const jwks = createLocalJWKSet(await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json());

    const bySecret = ok([
      "token",
      "client-credentials",
      "--oauth-client-id",
      "acme/report-job",
      "--client-secret-file",
      secretFile,
      "--audience",
      "reports-api",
    ]).stdout.trim();
    const verified = await jwtVerify(bySecret, jwks, {
      issuer: server.baseUrl,
      audience: "reports-api",
      typ: "at+jwt",
    });
    expect(verified.payload).toMatchObject({
      sub: "acme/report-job",
      client_id: "acme/report-job",
      tid: "acme",
      scope: "reports:read",
    });
    expect(ok(["token", "show"]).stdout.trim()).toBe(bySecret);

    // private_key_jwt with a key made by the CLI itself: the public JWK goes to the server, the
    // private key stays in a 0600 file and signs the assertion.
    const keyFile = join(work, "report-job.pem");
    const generated = ok(["keys", "generate", "--kid", "report-job-1", "--out", keyFile, "--json"]).json<{
      publicJwk: Record<string, unknown>;
    }>();
    // EC P-256 (SEC1 PEM) and Ed25519 (JWK file) keys too: the compiled binary runs on Bun, whose
    // node:crypto and WebCrypto must sign ES256 and EdDSA like Node's.
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const ed = generateKeyPairSync("ed25519").privateKey;
    const ecFile = join(work, "report-job-ec.pem");
    writeFileSync(ecFile, ec.export({ format: "pem", type: "sec1" }), { mode: 0o600 });
    const edFile = join(work, "report-job-ed.jwk");
    writeFileSync(edFile, JSON.stringify(ed.export({ format: "jwk" })), { mode: 0o600 });
    const publicOf = (k: KeyObject, kid: string) => ({
      ...createPublicKey(k).export({ format: "jwk" }),
      kid,
    });
    const jwksFile = join(work, "report-job.jwks.json");
    writeFileSync(
      jwksFile,
      JSON.stringify({
        keys: [generated.publicJwk, publicOf(ec, "report-job-ec"), publicOf(ed, "report-job-ed")],
      }),
    );
    ok(["client", "jwks", "set", "--client-id", "report-job", "--file", jwksFile]);
    for (const [file, kid, alg] of [
      [keyFile, "report-job-1", "RS256"],
      [ecFile, "report-job-ec", "ES256"],
      [edFile, "report-job-ed", "EdDSA"],
    ] as const) {
      const byKey = ok([
        "token",
        "client-credentials",
        "--oauth-client-id",
        "acme/report-job",
        "--private-key",
        file,
        "--kid",
        kid,
        "--audience",
        "reports-api",
        "--json",
      ]).json<{ access_token: string; token_type: string }>();
      expect(byKey.token_type, alg).toBe("Bearer");
      await jwtVerify(byKey.access_token, jwks, { issuer: server.baseUrl, audience: "reports-api" });
    }

    // Rotation with no grace: the old secret is refused (exit 2, the RFC 6749 code), the new one works.
    const rotated = ok([
      "client",
      "secret",
      "rotate",
      "--client-id",
      "report-job",
      "--previous-ttl",
      "0",
      "--json",
    ]).json<{ secret: string }>();
    const old = cli([
      "token",
      "client-credentials",
      "--oauth-client-id",
      "acme/report-job",
      "--client-secret-file",
      secretFile,
      "--audience",
      "reports-api",
    ]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/^error \(401\): .+ \[invalid_client\] \(request [0-9a-f-]{36}\)\n$/);
    writeFileSync(secretFile, rotated.secret);
    ok([
      "token",
      "client-credentials",
      "--oauth-client-id",
      "acme/report-job",
      "--client-secret-file",
      secretFile,
      "--audience",
      "reports-api",
    ]);
    // The resource server introspects with its own credential (RFC 7662).
    const rsSecret = join(work, "reports-api.secret");
    writeFileSync(
      rsSecret,
      ok(["client", "secret", "rotate", "--client-id", "reports-api", "--json"]).json<{ secret: string }>()
        .secret,
    );
    const introspect = () =>
      ok([
        "token",
        "introspect",
        "--oauth-client-id",
        "acme/reports-api",
        "--client-secret-file",
        rsSecret,
        "--token",
        bySecret,
        "--json",
      ]).json();
    expect(introspect()).toMatchObject({ active: true, client_id: "acme/report-job", aud: "reports-api" });

    // Disabled: the credential fails, and its tokens are inactive for introspection.
    ok(["client", "update", "--client-id", "report-job", "--status", "DISABLED"]);
    expect(introspect()).toEqual({ active: false });
    expect(ok(["client", "get", "--client-id", "report-job", "--json"]).json()).toMatchObject({
      status: "DISABLED",
      roles: ["reporter"],
      allowedGrantTypes: ["client_credentials"],
    });
    const disabled = cli([
      "token",
      "client-credentials",
      "--oauth-client-id",
      "acme/report-job",
      "--client-secret-file",
      secretFile,
    ]);
    expect(disabled.code).toBe(2);
  });

  it("errors from the binary: exit codes and one line on stderr", () => {
    const missing = cli(["tenant", "get", "--tenant", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^error \(404\): tenant not found \[TENANT_NOT_FOUND\] \(request [0-9a-f-]{36}\)\n$/,
    );
    const noProfile = cli(["tenant", "list", "--profile", "other"]);
    expect(noProfile.code).toBe(3);
    expect(cli(["--version"]).stdout).toMatch(/^tikti-cli \d+\.\d+\.\d+ \(([0-9a-f]{12}|unknown)\)\n$/);
  });

  it("works under the name tikti (a symlink), which only changes the help text", () => {
    const link = join(home, "tikti");
    symlinkSync(CLI, link);
    const r = spawnSync(link, ["tenant", "--help"], {
      env: { PATH: "", HOME: home, NO_COLOR: "1" },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("(tikti tenant)");
    const list = spawnSync(link, ["tenant", "list", "--json"], { env: { HOME: home }, encoding: "utf8" });
    expect(JSON.parse(list.stdout).tenants.map((t: { id: string }) => t.id)).toEqual(["acme"]);
  });

  it("prompts for the password without echo on a real terminal", async () => {
    // script(1) gives the binary a pseudo-terminal; the password is typed only once the prompt
    // is shown, which is after echo was turned off.
    const child = spawn("script", ["-qec", `${CLI} auth login --email ${DEV}`, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", HOME: home, NO_COLOR: "1", TERM: "dumb" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let seen = "";
    const typed = new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        seen += d;
        if (seen.includes("Password: ")) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await typed;
    child.stdin.write(`${PASSWORD}\r`);
    const code = await exited;
    expect(code).toBe(0);
    expect(seen).toMatch(/token\s+stored/);
    expect(seen).not.toContain(PASSWORD);
    expect(decodeJwt(profile().idToken!)).toMatchObject({ email: DEV });
  }, 30_000);
});
