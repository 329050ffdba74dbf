// Every command of docs/spec/cli.md §5 (except saml) run in-process against the real app on the embedded store:
// arguments, output in both modes, exit codes, and what ends up in the profile.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, decodeJwt, importJWK, importPKCS8, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppHarness,
  appHarness,
  BASE_URL,
  cliHarness,
  type Harness,
  initProfile,
  TEST_API_KEY,
} from "./harness.ts";

const PASSWORD = "correct horse battery";
const REQUEST_LINE = /\(request [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\)$/;

let app: AppHarness;
let h: Harness;

/** Signs up `email` through the CLI (API key → privileged, so --role is honoured). */
async function createUser(email: string, role = "COMPANY_EMPLOYEE") {
  const r = await h.run(["user", "create", "--email", email, "--role", role, "--password-stdin", "--json"], {
    stdin: `${PASSWORD}\n`,
  });
  expect(r.code, r.stderr).toBe(0);
  return r.json<{ localId: string; email: string; createdAt: string }>();
}

async function login(email: string) {
  const r = await h.run(["auth", "login", "--email", email, "--password-stdin"], { stdin: PASSWORD });
  expect(r.code, r.stderr).toBe(0);
}

function setProfileField(field: string, value: string | undefined) {
  const raw = h.config();
  if (value === undefined) delete raw.profiles.default![field];
  else raw.profiles.default![field] = value;
  writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
}

beforeAll(async () => {
  app = await appHarness();
  h = await cliHarness(app.fetch);
  await initProfile(h);
  await createUser("admin@example.com", "ADMIN");
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

describe("user create", () => {
  it("prints localId, email, createdAt and discards the new user's idToken", async () => {
    const r = await h.run(["user", "create", "--email", "New.User@Example.com", "--password-stdin"], {
      stdin: `${PASSWORD}\r\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^localId\s+[0-9a-f-]{36}\nemail\s+new\.user@example\.com\ncreatedAt\s+\d{4}-/);
    expect(r.stdout).not.toMatch(/idToken|eyJ/);
    expect(h.config().profiles.default!.idToken).toBeUndefined();
    const sent = h.requests.at(-1)!;
    expect(new URL(sent.url).pathname).toBe("/accounts/signUp");
    expect(await sent.json()).toEqual({
      email: "New.User@Example.com",
      password: PASSWORD,
      role: "COMPANY_EMPLOYEE",
    });
  });

  it("prompts twice without echo on a terminal and refuses a mismatch", async () => {
    const ok = await h.run(["user", "create", "--email", "typed@example.com", "--json"], {
      stdinIsTTY: true,
      answers: [PASSWORD, PASSWORD],
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.prompts).toEqual([
      { question: "Password: ", hidden: true },
      { question: "Repeat password: ", hidden: true },
    ]);
    expect(Object.keys(ok.json()).sort()).toEqual(["createdAt", "email", "localId"]);
    const bad = await h.run(["user", "create", "--email", "typo@example.com"], {
      stdinIsTTY: true,
      answers: [PASSWORD, "something else"],
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: the two passwords differ\n");
  });

  it("needs a terminal or --password-stdin; --password works but warns", async () => {
    const before = h.requests.length;
    const none = await h.run(["user", "create", "--email", "x@example.com"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("error: no terminal to ask for the password: pass --password-stdin\n");
    expect(h.requests.length).toBe(before);
    const argv = await h.run(["user", "create", "--email", "argv@example.com", "--password", PASSWORD]);
    expect(argv.code).toBe(0);
    expect(argv.stderr).toMatch(/^warning: --password on the command line can end up in shell history/);
  });

  it("a duplicate email is exit 1 with the server's code and the request id", async () => {
    const r = await h.run(["user", "create", "--email", "admin@example.com", "--password-stdin"], {
      stdin: PASSWORD,
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error \(409\): email already registered \[EMAIL_EXISTS\] /);
    expect(r.stderr.trim()).toMatch(REQUEST_LINE);
    const j = await h.run(["user", "create", "--email", "admin@example.com", "--password-stdin", "--json"], {
      stdin: PASSWORD,
    });
    expect(j.code).toBe(1);
    expect(j.stdout).toBe("");
    expect(j.errorJson()).toEqual({
      status: 409,
      error: "email already registered",
      code: "EMAIL_EXISTS",
      requestId: h.requests.at(-1)!.headers.get("x-request-id"),
    });
  });
});

describe("auth login", () => {
  it("signs in with the API key route, stores the idToken and clears derived tokens", async () => {
    setProfileField("accessToken", "old-access");
    setProfileField("workerToken", "old-worker");
    const r = await h.run(["auth", "login", "--user", "admin@example.com", "--password-stdin", "--json"], {
      stdin: `${PASSWORD}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ email: string; localId: string; token: string; expiresIn: number }>();
    expect(out).toEqual({
      email: "admin@example.com",
      localId: expect.any(String),
      token: "stored",
      expiresIn: 3600,
    });
    const profile = h.config().profiles.default!;
    expect(profile.accessToken).toBeUndefined();
    expect(profile.workerToken).toBeUndefined();
    expect(decodeJwt(profile.idToken!).sub).toBe(out.localId);
    const sent = h.requests.at(-1)!;
    expect(new URL(sent.url).pathname).toBe("/accounts/signInWithPassword");
    expect(sent.headers.get("x-api-key")).toBe(TEST_API_KEY);
    expect(r.stdout).not.toContain(profile.idToken!);
  });

  it("uses the public route without an API key, and sends no key", async () => {
    setProfileField("apiKey", undefined);
    try {
      const r = await h.run(["auth", "login", "--email", "admin@example.com", "--password-stdin"], {
        stdin: PASSWORD,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^token\s+stored$/m);
      const sent = h.requests.at(-1)!;
      expect(new URL(sent.url).pathname).toBe("/accounts/signIn");
      expect(sent.headers.get("x-api-key")).toBeNull();
    } finally {
      setProfileField("apiKey", TEST_API_KEY);
    }
  });

  it("wrong password → exit 2 and the stored idToken is kept", async () => {
    const before = h.config().profiles.default!.idToken;
    const r = await h.run(["auth", "login", "--email", "admin@example.com", "--password-stdin"], {
      stdin: "nope-nope",
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^error \(401\): invalid credentials \[INVALID_CREDENTIALS\] /);
    expect(h.config().profiles.default!.idToken).toBe(before);
  });

  it("a missing --email is exit 1 before any prompt", async () => {
    const r = await h.run(["auth", "login"], { stdinIsTTY: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: Missing required argument: --email\n");
    expect(r.prompts).toEqual([]);
  });
});

describe("tenants, memberships, roles, clients", () => {
  beforeAll(async () => {
    await login("admin@example.com");
  });

  it("tenant create|get and errors", async () => {
    const r = await h.run([
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
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({
      id: "acme",
      name: "Acme Corp",
      slug: "acme",
      status: "ACTIVE",
      createdAt: expect.any(String),
    });
    const pretty = await h.run(["tenant", "get", "--tenant", "acme"]);
    expect(pretty.stdout).toMatch(
      /^id\s+acme\nname\s+Acme Corp\nslug\s+acme\nstatus\s+ACTIVE\ncreatedAt\s+\d{4}-/,
    );
    const dup = await h.run(["tenant", "create", "--name", "Acme", "--slug", "acme", "--id", "acme"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^error \(409\): tenant already exists \[TENANT_EXISTS\] \(request /);
    const missing = await h.run(["tenant", "get", "--tenant", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \(404\): tenant not found \[TENANT_NOT_FOUND\]/);
    const invalid = await h.run(["tenant", "create", "--name", "X", "--slug", "Not A Slug"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error \(400\): invalid argument \[INVALID_ARGUMENT\] .*\n {2}slug: /);
  });

  it("(tenant) flags default to the profile's tenantId, else exit 1 naming the flag", async () => {
    const none = await h.run(["tenant", "get"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^error: --tenant is required \(or set a default with "tikti-cli config set --tenant <id>"\)/,
    );
    await h.run(["config", "set", "--tenant", "acme"]);
    try {
      const r = await h.run(["tenant", "get", "--json"]);
      expect(r.json()).toMatchObject({ id: "acme" });
      const tid = await h.run(["tenant", "get", "--tid", "nope"]);
      expect(tid.code).toBe(1);
    } finally {
      await h.run(["config", "set", "--tenant", ""]);
    }
  });

  it("tenant list: aligned table, --page-size, --all follows nextPageToken", async () => {
    for (const id of ["beta", "gamma"]) {
      expect((await h.run(["tenant", "create", "--name", `T ${id}`, "--slug", id, "--id", id])).code).toBe(0);
    }
    const page = await h.run(["tenant", "list", "--page-size", "2", "--json"]);
    const body = page.json<{ tenants: Array<{ id: string }>; nextPageToken: string }>();
    expect(body.tenants.map((t) => t.id)).toEqual(["acme", "beta"]);
    expect(body.nextPageToken).not.toBe("");
    const all = await h.run(["tenant", "list", "--page-size", "1", "--all", "--json"]);
    expect(all.json<{ tenants: Array<{ id: string }> }>().tenants.map((t) => t.id)).toEqual([
      "acme",
      "beta",
      "gamma",
    ]);
    expect(all.json()).toMatchObject({ nextPageToken: "" });
    // Every page of one invocation carries the same request id.
    const ids = new Set(h.requests.slice(-3).map((r) => r.headers.get("x-request-id")));
    expect(ids.size).toBe(1);

    const pretty = await h.run(["tenant", "list", "--page-size", "2"]);
    const lines = pretty.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID {4}NAME {7}SLUG {2}STATUS {2}CREATED$/);
    expect(lines[1]).toMatch(/^acme {2}Acme Corp {2}acme {2}ACTIVE {2}\d{4}-/);
    expect(lines[2]).toMatch(/^beta {2}T beta {5}beta {2}ACTIVE {2}\d{4}-/);
    expect(lines).toHaveLength(3);
    expect(pretty.stderr).toBe("warning: more tenants exist: add --all to list every page\n");
    const bad = await h.run(["tenant", "list", "--page-size", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("error: --page-size must be at least 1\n");
  });

  it("tenant disable|enable", async () => {
    const off = await h.run(["tenant", "disable", "--tenant", "gamma", "--json"]);
    expect(off.json()).toMatchObject({ id: "gamma", status: "DISABLED" });
    const on = await h.run(["tenant", "enable", "--tenant", "gamma"]);
    expect(on.stdout).toMatch(/^status\s+ACTIVE$/m);
  });

  it("membership add|list|remove", async () => {
    await createUser("member@example.com");
    const add = await h.run([
      "membership",
      "add",
      "--tenant",
      "acme",
      "--email",
      "member@example.com",
      "--roles",
      "viewer, editor,,",
      "--json",
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.json()).toMatchObject({
      tenantId: "acme",
      email: "member@example.com",
      roles: ["viewer", "editor"],
    });
    const list = await h.run(["membership", "list", "--tenant", "acme"]);
    expect(list.stdout).toMatch(/^USER ID\s+EMAIL\s+ROLES\s+STATUS\s+AUTH SOURCE\s+CREATED$/m);
    expect(list.stdout).toMatch(/member@example\.com\s+viewer,editor\s+ACTIVE\s+password/);
    const listJson = await h.run(["membership", "list", "--tenant", "acme", "--all", "--json"]);
    expect(listJson.json<{ users: unknown[] }>().users).toHaveLength(1);
    const rm = await h.run([
      "membership",
      "remove",
      "--tenant",
      "acme",
      "--email",
      "member@example.com",
      "--json",
    ]);
    expect(rm.json()).toMatchObject({
      tenantId: "acme",
      email: "member@example.com",
      removedAt: expect.any(String),
    });
    const again = await h.run(["membership", "remove", "--tenant", "acme", "--email", "member@example.com"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[MEMBERSHIP_NOT_FOUND\]/);
    const empty = await h.run(["membership", "list", "--tenant", "acme"]);
    expect(empty.stdout).toBe("(no members)\n");
  });

  it("role create|list|get", async () => {
    const r = await h.run([
      "role",
      "create",
      "--tenant",
      "acme",
      "--name",
      "renderer",
      "--permissions",
      "codeq:claim,codeq:result",
      "--json",
    ]);
    expect(r.json()).toEqual({
      name: "renderer",
      scope: "TENANT",
      tenantId: "acme",
      permissions: ["codeq:claim", "codeq:result"],
    });
    const bare = await h.run(["role", "create", "--tenant", "acme", "--name", "empty", "--json"]);
    expect(bare.json()).toMatchObject({ permissions: [] });
    const list = await h.run(["role", "list", "--tenant", "acme"]);
    expect(list.stdout).toBe("NAME      PERMISSIONS\nempty     -\nrenderer  codeq:claim,codeq:result\n");
    const get = await h.run(["role", "get", "--tenant", "acme", "--name", "renderer", "--json"]);
    expect(get.json()).toMatchObject({ name: "renderer" });
    const missing = await h.run(["role", "get", "--tenant", "acme", "--name", "ghost"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \(404\): role not found \[ROLE_NOT_FOUND\]/);
  });

  it("client create prints the secret once with a warning; list and get never show it", async () => {
    const r = await h.run([
      "client",
      "create",
      "--tenant",
      "acme",
      "--client-id",
      "codeq-worker",
      "--scopes",
      "codeq:claim,codeq:result",
      "--event-types",
      "render_video,generate_master",
      "--max-ttl",
      "3600",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^clientId\s+codeq-worker$/m);
    expect(r.stdout).toMatch(/^type\s+SERVICE$/m);
    expect(r.stdout).toMatch(/^allowedGrantTypes\s+token_exchange$/m);
    expect(r.stdout).toMatch(/^secret\s+[A-Za-z0-9_-]{43}$/m);
    expect(r.stderr).toBe(
      "warning: the client secret is shown only now and cannot be shown again: store it safely\n",
    );
    expect(await h.requests.at(-1)!.json()).toEqual({
      clientId: "codeq-worker",
      type: "SERVICE",
      allowedGrantTypes: ["token_exchange"],
      defaultScopes: ["codeq:claim", "codeq:result"],
      allowedEventTypes: ["render_video", "generate_master"],
      maxTtlSeconds: 3600,
    });
    const j = await h.run([
      "client",
      "create",
      "--tenant",
      "acme",
      "--client-id",
      "reports",
      "--type",
      "public",
      "--json",
    ]);
    expect(j.json()).toMatchObject({ clientId: "reports", type: "PUBLIC", secret: expect.any(String) });
    expect(j.stderr).toBe("");
    const list = await h.run(["client", "list", "--tenant", "acme"]);
    expect(list.stdout.split("\n")[0]).toMatch(
      /^CLIENT ID\s+TYPE\s+STATUS\s+GRANTS\s+SCOPES\s+EVENT TYPES\s+ROLES\s+MAX TTL$/,
    );
    expect(list.stdout).toMatch(
      /codeq-worker\s+SERVICE\s+ACTIVE\s+token_exchange\s+codeq:claim,codeq:result\s+render_video,generate_master\s+-\s+3600/,
    );
    expect(list.stdout).not.toMatch(/secret/i);
    const get = await h.run(["client", "get", "--tenant", "acme", "--client-id", "codeq-worker", "--json"]);
    expect(get.json()).toMatchObject({ clientId: "codeq-worker", maxTtlSeconds: 3600 });
    expect(get.json()).not.toHaveProperty("secret");
    const bad = await h.run([
      "client",
      "create",
      "--tenant",
      "acme",
      "--client-id",
      "x",
      "--max-ttl",
      "soon",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('error: --max-ttl must be an integer, got "soon"\n');
  });
});

describe("token exchange|show|validate", () => {
  beforeAll(async () => {
    await login("admin@example.com");
    await h.run(["tenant", "create", "--name", "Tok", "--slug", "tok", "--id", "tok"]);
    await createUser("worker@example.com");
    await h.run(["membership", "add", "--tenant", "tok", "--email", "worker@example.com"]);
    await h.run([
      "client",
      "create",
      "--tenant",
      "tok",
      "--client-id",
      "codeq-worker",
      "--event-types",
      "render_video",
      "--json",
    ]);
    await h.run([
      "client",
      "create",
      "--tenant",
      "tok",
      "--client-id",
      "api",
      "--scopes",
      "codeq:claim codeq:result",
    ]);
    await login("worker@example.com");
  });

  it("needs a stored idToken (exit 2) and a tenant (exit 1)", async () => {
    const saved = h.config().profiles.default!.idToken;
    setProfileField("idToken", undefined);
    const r = await h.run(["token", "exchange", "--audience", "api", "--tenant", "tok"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: no stored idToken in profile "default" (run "tikti-cli auth login")\n');
    setProfileField("idToken", saved);
    const t = await h.run(["token", "exchange", "--audience", "api"]);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/^error: --tenant is required/);
  });

  it("codeq-worker tokens are stored as workerToken and verify against the JWKS", async () => {
    const r = await h.run([
      "token",
      "exchange",
      "--aud",
      "codeq-worker",
      "--event-types",
      "render_video",
      "--tenant",
      "tok",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({
      audience: "codeq-worker",
      tenantId: "tok",
      expiresIn: expect.any(Number),
      storedAs: "workerToken",
    });
    const worker = h.config().profiles.default!.workerToken!;
    expect(h.config().profiles.default!.accessToken).toBeUndefined();
    const jwks = createLocalJWKSet(await (await app.t.call("/.well-known/jwks.json")).json());
    const { payload } = await jwtVerify(worker, jwks, { audience: "codeq-worker" });
    expect(payload).toMatchObject({ tid: "tok", eventTypes: ["render_video"] });

    const shown = await h.run(["token", "show", "--type", "worker"]);
    expect(shown.stdout).toBe(`${worker}\n`);
    const shownJson = await h.run(["token", "show", "--type", "worker", "--json"]);
    expect(shownJson.json()).toEqual({
      type: "worker",
      token: worker,
      expiresAt: new Date(payload.exp! * 1000).toISOString().replace(".000Z", "Z"),
    });
  });

  it("other audiences are stored as accessToken; --scope takes space- or comma-separated values", async () => {
    const r = await h.run([
      "token",
      "exchange",
      "--audience",
      "api",
      "--scope",
      "codeq:claim codeq:result",
      "--tenant",
      "tok",
      "--ttl",
      "600",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^storedAs\s+accessToken$/m);
    expect(r.stdout).toMatch(/^expiresIn\s+600$/m);
    const sent = (await h.requests.at(-1)!.json()) as Record<string, unknown>;
    expect(sent).toMatchObject({
      audience: "api",
      tenantId: "tok",
      scopes: ["codeq:claim", "codeq:result"],
      ttlSeconds: 600,
    });
    expect(sent).not.toHaveProperty("eventTypes");
    const access = await h.run(["token", "show"]);
    expect(decodeJwt(access.stdout.trim())).toMatchObject({ aud: "api", scope: "codeq:claim codeq:result" });
  });

  it("server refusals map to exit codes: 403 → 2, 400 → 1", async () => {
    const scopes = await h.run([
      "token",
      "exchange",
      "--audience",
      "api",
      "--scopes",
      "admin:all",
      "--tenant",
      "tok",
    ]);
    expect(scopes.code).toBe(2);
    expect(scopes.stderr).toMatch(/^error \(403\): unauthorized scopes \[UNAUTHORIZED_SCOPES\]/);
    const noEvents = await h.run(["token", "exchange", "--audience", "codeq-worker", "--tenant", "tok"]);
    expect(noEvents.code).toBe(1);
    expect(noEvents.stderr).toMatch(/^error \(400\): invalid argument \[INVALID_ARGUMENT\]/);
    const ttl = await h.run(["token", "exchange", "--audience", "api", "--tenant", "tok", "--ttl", "1.5"]);
    expect(ttl.code).toBe(1);
    expect(ttl.stderr).toBe('error: --ttl must be an integer, got "1.5"\n');
  });

  it("token show: none stored → exit 2; --type is checked", async () => {
    const saved = h.config().profiles.default!.accessToken;
    setProfileField("accessToken", undefined);
    const none = await h.run(["token", "show", "--json"]);
    expect(none.code).toBe(2);
    expect(none.errorJson()).toMatchObject({ status: null, code: "NOT_LOGGED_IN" });
    setProfileField("accessToken", saved);
    const bad = await h.run(["token", "show", "--type", "refresh"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: Invalid value for argument: --type \(refresh\)/);
  });

  it("token validate prints the verified claims of the stored access token", async () => {
    const r = await h.run(["token", "validate", "--audience", "api", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const access = h.config().profiles.default!.accessToken!;
    expect(r.json()).toEqual(decodeJwt(access));
    const wrong = await h.run(["token", "validate", "--audience", "codeq-worker"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /^error \(401\): invalid token \[INVALID_TOKEN\]\s.*\n {2}reason: audience\n$/,
    );
  });

  it("token validate --tenant binds the tenant: another tenant's id answers reason tenant", async () => {
    const tid = decodeJwt(h.config().profiles.default!.accessToken!).tid as string;
    const bound = await h.run(["token", "validate", "--audience", "api", "--tenant", tid, "--json"]);
    expect(bound.code, bound.stderr).toBe(0);
    expect(await h.requests.at(-1)!.json()).toMatchObject({ tenantId: tid });
    const other = await h.run(["token", "validate", "--audience", "api", "--tid", `${tid}-other`]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/reason: tenant\n$/);
    // Without the flag nothing is bound (no profile default).
    await h.run(["token", "validate", "--audience", "api"]);
    expect(await h.requests.at(-1)!.json()).not.toHaveProperty("tenantId");
  });
});

describe("user get|suspend|deactivate|activate|revoke|delete, revoke tokens", () => {
  beforeAll(async () => {
    await login("admin@example.com");
    await createUser("life@example.com");
  });

  it("user get shows the stored idToken's user", async () => {
    const r = await h.run(["user", "get", "--json"]);
    expect(r.json()).toEqual({
      users: [expect.objectContaining({ email: "admin@example.com", role: "ADMIN", status: "ACTIVE" })],
    });
    const p = await h.run(["user", "get"]);
    expect(p.stdout).toMatch(/^email\s+admin@example\.com$/m);
    expect(p.stdout).toMatch(/^role\s+ADMIN$/m);
  });

  it("suspend, deactivate, activate send the status", async () => {
    for (const [verb, status] of [
      ["suspend", "SUSPENDED"],
      ["deactivate", "INACTIVE"],
      ["activate", "ACTIVE"],
    ] as const) {
      const r = await h.run(["user", verb, "--email", "life@example.com", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({ email: "life@example.com", status });
    }
    const missing = await h.run(["user", "suspend", "--email", "ghost@example.com"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[USER_NOT_FOUND\]/);
  });

  it("user revoke and revoke tokens bump the token version; other scopes fail locally", async () => {
    const a = await h.run(["user", "revoke", "--email", "life@example.com", "--json"]);
    expect(a.json()).toMatchObject({ email: "life@example.com", tokenVersion: expect.any(Number) });
    expect(await h.requests.at(-1)!.json()).toEqual({ email: "life@example.com", scope: "global" });
    const b = await h.run(["revoke", "tokens", "--email", "life@example.com", "--json"]);
    expect(b.json<{ tokenVersion: number }>().tokenVersion).toBe(
      a.json<{ tokenVersion: number }>().tokenVersion + 1,
    );
    const before = h.requests.length;
    for (const extra of [
      ["--scope", "tenant"],
      ["--tenant", "acme"],
    ]) {
      const r = await h.run(["revoke", "tokens", "--email", "life@example.com", ...extra]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("error: only global revocation is supported\n");
    }
    expect(h.requests.length).toBe(before);
  });

  it("--local-id names the user instead of --email; exactly one of the two, else exit 1 and no request", async () => {
    const { localId } = (await h.run(["user", "revoke", "--email", "life@example.com", "--json"])).json<{
      localId: string;
    }>();
    const byId = await h.run(["user", "suspend", "--local-id", localId, "--json"]);
    expect(byId.code, byId.stderr).toBe(0);
    expect(await h.requests.at(-1)!.json()).toEqual({ localId, status: "SUSPENDED" });
    expect(byId.json()).toMatchObject({ localId, status: "SUSPENDED" });
    await h.run(["user", "activate", "--local-id", localId]);
    const revoked = await h.run(["revoke", "tokens", "--local-id", localId, "--json"]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await h.requests.at(-1)!.json()).toEqual({ localId, scope: "global" });
    await h.run(["membership", "add", "--tenant", "acme", "--local-id", localId, "--roles", "viewer"]);
    expect(await h.requests.at(-1)!.json()).toEqual({ localId, roles: ["viewer"] });
    await h.run(["membership", "remove", "--tenant", "acme", "--local-id", localId]);
    expect(await h.requests.at(-1)!.json()).toEqual({ localId });
    const before = h.requests.length;
    for (const argv of [
      ["user", "suspend"],
      ["user", "revoke", "--email", "life@example.com", "--local-id", localId],
      ["membership", "add", "--tenant", "acme"],
      ["membership", "remove", "--tenant", "acme", "--email", "life@example.com", "--local-id", localId],
    ]) {
      const r = await h.run(argv);
      expect(r.code, argv.join(" ")).toBe(1);
      expect(r.stderr).toBe("error: give exactly one of --email or --local-id\n");
    }
    expect(h.requests.length).toBe(before);
    const unknown = await h.run(["user", "suspend", "--local-id", "no-such-user"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\[USER_NOT_FOUND\]/);
  });

  it("user delete needs --confirm and forgets the deleted user's tokens", async () => {
    await login("life@example.com");
    const noConfirm = await h.run(["user", "delete"]);
    expect(noConfirm.code).toBe(1);
    expect(noConfirm.stderr).toBe("error: user delete removes the account for good: pass --confirm\n");
    const r = await h.run(["user", "delete", "--confirm", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ kind: "identitytoolkit#DeleteAccountResponse" });
    expect(h.config().profiles.default!.idToken).toBeUndefined();
    const gone = await h.run(["user", "get"]);
    expect(gone.code).toBe(2);
  });
});

describe("jwks, keys list, keys generate", () => {
  it("jwks and keys list print KID ALG USE BITS; json is the server body", async () => {
    const server = await (await app.t.call("/.well-known/jwks.json")).json();
    for (const argv of [["jwks"], ["keys", "list"]]) {
      const p = await h.run(argv);
      expect(p.stdout).toBe("KID         ALG    USE  BITS\ntest-key-1  RS256  sig  2048\n");
      const j = await h.run([...argv, "--json"]);
      expect(j.json()).toEqual(server);
    }
    expect(h.requests.at(-1)!.headers.get("x-api-key")).toBeNull();
  });

  it("keys generate --out writes a 0600 PKCS#8 key that matches the printed JWK, and never overwrites", async () => {
    const out = join(h.dir, "k2.pem");
    const r = await h.run(["keys", "generate", "--kid", "k2", "--out", out, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{
      kid: string;
      bits: number;
      privateKeyFile: string;
      publicJwk: Record<string, string>;
    }>();
    expect(doc).toMatchObject({ kid: "k2", bits: 2048, privateKeyFile: out });
    expect(doc.publicJwk).toMatchObject({ kty: "RSA", kid: "k2", use: "sig", alg: "RS256", e: "AQAB" });
    expect(Object.keys(doc.publicJwk).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
    if (process.platform !== "win32") expect(statSync(out).mode & 0o777).toBe(0o600);
    const pem = readFileSync(out, "utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const jwt = await new SignJWT({ x: 1 })
      .setProtectedHeader({ alg: "RS256" })
      .sign(await importPKCS8(pem, "RS256"));
    await expect(jwtVerify(jwt, await importJWK(doc.publicJwk, "RS256"))).resolves.toBeDefined();

    const again = await h.run(["keys", "generate", "--kid", "k3", "--out", out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `error: refusing to overwrite ${out}: choose another --out or remove the file\n`,
    );
    expect(readFileSync(out, "utf8")).toBe(pem);
  });

  it("keys generate without --out prints the PEM and the JWK; --bits is checked", async () => {
    const r = await h.run(["keys", "generate", "--kid", "k4", "--bits", "3072"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n\n\{\n {2}"kty": "RSA",\n {2}"kid": "k4"/,
    );
    const jwk = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    expect(Buffer.from(jwk.n, "base64url").length * 8).toBe(3072);
    const bad = await h.run(["keys", "generate", "--kid", "k5", "--bits", "1024"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: Invalid value for argument: --bits \(1024\)\. Expected one of: 2048, 3072, 4096\./,
    );
    const noKid = await h.run(["keys", "generate"]);
    expect(noKid.code).toBe(1);
  });

  it("keys generate --alg ES256|EdDSA makes an EC P-256 / Ed25519 key whose JWK carries alg and crv", async () => {
    for (const [alg, kty, crv, members] of [
      ["ES256", "EC", "P-256", ["alg", "crv", "kid", "kty", "use", "x", "y"]],
      ["EdDSA", "OKP", "Ed25519", ["alg", "crv", "kid", "kty", "use", "x"]],
    ] as const) {
      const out = join(h.dir, `k-${alg}.pem`);
      const r = await h.run(["keys", "generate", "--kid", `k-${alg}`, "--alg", alg, "--out", out, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const doc = r.json<{ alg: string; bits?: number; publicJwk: Record<string, string> }>();
      expect(doc.alg).toBe(alg);
      expect(doc.bits).toBeUndefined();
      expect(doc.publicJwk).toMatchObject({ kty, crv, alg, use: "sig", kid: `k-${alg}` });
      expect(Object.keys(doc.publicJwk).sort()).toEqual([...members]);
      const pem = readFileSync(out, "utf8");
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      const jwt = await new SignJWT({ x: 1 }).setProtectedHeader({ alg }).sign(await importPKCS8(pem, alg));
      await expect(jwtVerify(jwt, await importJWK(doc.publicJwk, alg))).resolves.toBeDefined();
    }
    const bits = await h.run(["keys", "generate", "--kid", "k6", "--alg", "ES256", "--bits", "4096"]);
    expect(bits.code).toBe(1);
    expect(bits.stderr).toMatch(/--bits applies to RS256 keys only/);
  });
});

describe("admin.requireAdminToken: the stored idToken is the admin bearer", () => {
  let strict: AppHarness;
  let s: Harness;
  beforeAll(async () => {
    strict = await appHarness({ admin: { requireAdminToken: true } });
    s = await cliHarness(strict.fetch);
    await initProfile(s);
    // The API key alone cannot create an admin in this mode (docs/spec/api.md §4.1, issue 11 item 1): the
    // first admin is seeded in the store, as an operator would with the seed or tikti-migrate.
    const refused = await s.run(
      ["user", "create", "--email", "root@example.com", "--role", "ADMIN", "--password-stdin"],
      { stdin: PASSWORD },
    );
    if (refused.code !== 2 || !/ADMIN_AUTH_REQUIRED/.test(refused.stderr)) {
      throw new Error(`key-only admin sign-up was not refused: ${refused.code} ${refused.stderr}`);
    }
    await strict.t.app.services.repos.users.create({
      email: "root@example.com",
      password: await strict.t.deps.passwords.hash(PASSWORD),
      role: "ADMIN",
    });
  });
  afterAll(async () => {
    await s?.close();
    await strict?.close();
  });

  it("admin routes work after login and fail with exit 2 after logout", async () => {
    const anon = await s.run(["tenant", "list"]);
    expect(anon.code).toBe(2);
    expect(anon.stderr).toMatch(/^error \(401\): missing authentication \[ADMIN_AUTH_REQUIRED\]/);
    await s.run(["auth", "login", "--email", "root@example.com", "--password-stdin"], { stdin: PASSWORD });
    const ok = await s.run(["tenant", "create", "--name", "S", "--slug", "s", "--id", "s"]);
    expect(ok.code, ok.stderr).toBe(0);
    const sent = s.requests.at(-1)!;
    expect(sent.headers.get("authorization")).toBe(`Bearer ${s.config().profiles.default!.idToken}`);
    // Only admin routes carry the bearer.
    await s.run(["jwks"]);
    expect(s.requests.at(-1)!.headers.get("authorization")).toBeNull();
    await s.run(["auth", "logout"]);
    expect((await s.run(["tenant", "get", "--tenant", "s"])).code).toBe(2);
  });
});

// The BASE_URL is not a real host: every request above went through the injected app.fetch.
it("talks to the profile's base URL with canonical paths (no /v1)", () => {
  expect(h.requests.length).toBeGreaterThan(20);
  for (const r of h.requests) {
    expect(r.url.startsWith(`${BASE_URL}/`)).toBe(true);
    expect(new URL(r.url).pathname).not.toMatch(/^\/v1\//);
  }
});
