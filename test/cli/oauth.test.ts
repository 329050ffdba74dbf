// The OAuth commands of docs/spec/oauth.md §10 run in-process against the real app on the embedded store:
// client create (roles, jwks) / update / secret rotate / jwks set, token client-credentials with each
// client authentication (client_secret_basic; private_key_jwt signed with RS256, PS256, ES256, EdDSA
// by key type) and token introspect; output in both modes, exit codes, escaping, what lands in the
// profile, and what crosses the wire (no API key to /oauth/*, no private key to the server).
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_ISSUER } from "../support/app.ts";
import { type AppHarness, appHarness, cliHarness, type Harness, initProfile } from "./harness.ts";

const PASSWORD = "correct horse battery";
const TENANT = "acme";
const REQUEST_ID = /\(request [0-9a-f-]{36}\)\n$/;

let app: AppHarness;
let h: Harness;

function file(name: string, content: string): string {
  const path = join(h.dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const publicJwk = (key: KeyObject, kid: string) => ({
  ...createPublicKey(key).export({ format: "jwk" }),
  kid,
});

/** One key pair per assertion algorithm, written the way people keep them (PEM of each kind, JWK). */
function keyFiles() {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const ed = generateKeyPairSync("ed25519").privateKey;
  const rsa1 = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  return {
    rsa: {
      path: file("rsa.pem", rsa.export({ format: "pem", type: "pkcs8" }) as string),
      jwk: publicJwk(rsa, "rsa-1"),
    },
    rsaPkcs1: {
      path: file("rsa1.pem", rsa1.export({ format: "pem", type: "pkcs1" }) as string),
      jwk: publicJwk(rsa1, "rsa-2"),
    },
    ec: {
      path: file("ec.pem", ec.export({ format: "pem", type: "sec1" }) as string),
      jwk: publicJwk(ec, "ec-1"),
    },
    ed: { path: file("ed.jwk", JSON.stringify(ed.export({ format: "jwk" }))), jwk: publicJwk(ed, "ed-1") },
  };
}

async function ok(argv: string[], options: { stdin?: string } = {}) {
  const r = await h.run(argv, options);
  expect(r.code, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
  return r;
}

async function jwks() {
  const res = await app.fetch(new Request(`${TEST_ISSUER}/.well-known/jwks.json`));
  return createLocalJWKSet(await res.json());
}

let keys: ReturnType<typeof keyFiles>;

beforeAll(async () => {
  app = await appHarness();
  h = await cliHarness(app.fetch);
  await initProfile(h, ["--tenant", TENANT]);
  await ok(["user", "create", "--email", "admin@example.com", "--role", "ADMIN", "--password-stdin"], {
    stdin: PASSWORD,
  });
  await ok(["auth", "login", "--email", "admin@example.com", "--password-stdin"], { stdin: PASSWORD });
  await ok(["tenant", "create", "--name", "Acme", "--slug", "acme", "--id", TENANT]);
  await ok(["role", "create", "--name", "renderer", "--permissions", "codeq:claim,codeq:result"]);
  await ok(["role", "create", "--name", "reader", "--permissions", "reports:read"]);
  await ok([
    "client",
    "create",
    "--client-id",
    "codeq-worker",
    "--scopes",
    "codeq:claim,codeq:result",
    "--event-types",
    "render_video",
  ]);
  await ok(["client", "create", "--client-id", "reports-api", "--scopes", "reports:read"]);
  keys = keyFiles();
});
afterAll(async () => {
  await h?.close();
  await app?.close();
});

/** Creates a client_credentials client and writes its secret to a file (newline-terminated, like `echo`). */
async function worker(clientId: string, extra: string[] = []) {
  const r = await ok([
    "client",
    "create",
    "--client-id",
    clientId,
    "--grant",
    "client_credentials",
    "--roles",
    "renderer,reader",
    "--json",
    ...extra,
  ]);
  const body = r.json<{ oauthClientId: string; secret: string }>();
  return { ...body, secretFile: file(`${clientId}.secret`, `${body.secret}\n`) };
}

describe("client create with --grant client_credentials --roles --jwks", () => {
  it("prints the OAuth client id and the secret once, sends roles and the public keys", async () => {
    const jwksFile = file("create.jwks", JSON.stringify({ keys: [keys.rsa.jwk, keys.ed.jwk] }));
    const r = await ok([
      "client",
      "create",
      "--client-id",
      "render-farm",
      "--grant",
      "client_credentials,token_exchange",
      "--roles",
      "renderer, reader",
      "--jwks",
      jwksFile,
    ]);
    expect(r.stdout).toMatch(/^oauthClientId\s+acme\/render-farm$/m);
    expect(r.stdout).toMatch(/^secret\s+[A-Za-z0-9_-]{43}$/m);
    expect(r.stdout).toMatch(/^roles\s+renderer,reader$/m);
    // Keys are listed by kid and type, not as a blob of moduli.
    expect(r.stdout).toMatch(/^jwks\s+rsa-1 RSA,ed-1 Ed25519$/m);
    expect(r.stderr).toBe(
      "warning: the client secret is shown only now and cannot be shown again: store it safely\n",
    );
    expect(await h.requests.at(-1)!.json()).toMatchObject({
      clientId: "render-farm",
      allowedGrantTypes: ["client_credentials", "token_exchange"],
      roles: ["renderer", "reader"],
      jwks: { keys: [keys.rsa.jwk, keys.ed.jwk] },
    });
    const get = await ok(["client", "get", "--client-id", "render-farm", "--json"]);
    expect(get.json()).toMatchObject({
      oauthClientId: "acme/render-farm",
      status: "ACTIVE",
      roles: ["renderer", "reader"],
      jwks: { keys: [keys.rsa.jwk, keys.ed.jwk] },
    });
    expect(get.json()).not.toHaveProperty("secret");
    const list = await ok(["client", "list"]);
    expect(list.stdout).toMatch(
      /^render-farm\s+SERVICE\s+ACTIVE\s+client_credentials,token_exchange\s+-\s+-\s+renderer,reader\s+-$/m,
    );
  });

  it("refuses a key file holding private key material before sending anything", async () => {
    const sent = h.requests.length;
    const leaky = file(
      "leaky.jwks",
      JSON.stringify({
        keys: [
          keys.rsa.jwk,
          generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
        ],
      }),
    );
    const r = await h.run(["client", "create", "--client-id", "leaky", "--jwks", leaky]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: --jwks: key 1 of ${leaky} holds private key material; register the public key only\n`,
    );
    const notSet = await h.run(["client", "create", "--client-id", "leaky", "--jwks", file("x.json", "[1]")]);
    expect(notSet.code).toBe(1);
    expect(notSet.stderr).toMatch(/must hold a JWK set/);
    expect(h.requests.length).toBe(sent);
  });

  it("the server's verdict on a bad key set is exit 1 with the key's index", async () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    const r = await h.run([
      "client",
      "create",
      "--client-id",
      "weak",
      "--jwks",
      file("weak.jwks", JSON.stringify({ keys: [publicJwk(small, "weak")] })),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \(400\): .* \[INVALID_ARGUMENT\] \(request [0-9a-f-]{36}\)\n {2}jwks\.keys\.0: RSA modulus must be 2048-16384 bits\n$/,
    );
  });
});

describe("token client-credentials", () => {
  it("client_secret_basic: prints the token alone, stores it as accessToken, sends no API key", async () => {
    const c = await worker("reporter-job");
    const r = await ok([
      "token",
      "client-credentials",
      "--oauth-client-id",
      c.oauthClientId,
      "--client-secret-file",
      c.secretFile,
      "--audience",
      "reports-api",
    ]);
    const token = r.stdout.trimEnd();
    expect(r.stdout).toBe(`${token}\n`);
    expect(r.stderr).toBe("");
    const { payload, protectedHeader } = await jwtVerify(token, await jwks(), {
      issuer: TEST_ISSUER,
      audience: "reports-api",
      typ: "at+jwt",
    });
    expect(payload).toMatchObject({
      sub: "acme/reporter-job",
      client_id: "acme/reporter-job",
      tid: TENANT,
      scope: "reports:read",
    });
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(h.config().profiles.default!.accessToken).toBe(token);
    expect((await ok(["token", "show"])).stdout).toBe(`${token}\n`);

    const sent = h.requests.at(-1)!;
    expect(new URL(sent.url).pathname).toBe("/oauth/token");
    expect(sent.headers.get("x-api-key")).toBeNull();
    expect(sent.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const [id, secret] = Buffer.from(sent.headers.get("authorization")!.replace(/^Basic /, ""), "base64")
      .toString()
      .split(":");
    // RFC 6749 §2.3.1: the id is form-urlencoded ("/" → %2F); the trailing newline of the file is not part of the secret.
    expect(id).toBe("acme%2Freporter-job");
    expect(secret).toBe(c.secret);
    expect(Object.fromEntries(new URLSearchParams(await sent.text()))).toEqual({
      grant_type: "client_credentials",
      audience: "reports-api",
    });
  });

  it("--output json prints the server's RFC 6749 answer; codeq-worker tokens are stored as workerToken", async () => {
    const c = await worker("render-job");
    const r = await ok([
      "token",
      "client-credentials",
      "--oauth-client-id",
      c.oauthClientId,
      "--client-secret-file",
      c.secretFile,
      "--aud",
      "codeq-worker",
      "--scope",
      "codeq:claim",
      "--event-types",
      "render_video",
      "--json",
    ]);
    const body = r.json<{ access_token: string }>();
    expect(body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600 });
    expect(Object.fromEntries(new URLSearchParams(await h.requests.at(-1)!.text()))).toMatchObject({
      scope: "codeq:claim",
      event_types: "render_video",
    });
    expect(decodeJwt(body.access_token)).toMatchObject({
      aud: "codeq-worker",
      scope: "codeq:claim",
      eventTypes: ["render_video"],
    });
    expect(h.config().profiles.default!.workerToken).toBe(body.access_token);
    const shown = await ok(["token", "show", "--type", "worker", "--json"]);
    expect(shown.json()).toMatchObject({ type: "worker", token: body.access_token });
  });

  it("private_key_jwt: the assertion is signed with RS256, PS256, ES256 or EdDSA by key type", async () => {
    const jwksFile = file(
      "all.jwks",
      JSON.stringify({ keys: [keys.rsa.jwk, keys.rsaPkcs1.jwk, keys.ec.jwk, keys.ed.jwk] }),
    );
    const c = await worker("keyed-job", ["--jwks", jwksFile]);
    const cases = [
      { key: keys.rsa, alg: "RS256", extra: [] },
      { key: keys.rsa, alg: "PS256", extra: ["--alg", "PS256"] },
      { key: keys.rsaPkcs1, alg: "RS256", extra: [] },
      { key: keys.ec, alg: "ES256", extra: [] },
      { key: keys.ed, alg: "EdDSA", extra: [] },
    ];
    for (const { key, alg, extra } of cases) {
      const r = await ok([
        "token",
        "client-credentials",
        "--oauth-client-id",
        c.oauthClientId,
        "--private-key",
        key.path,
        "--kid",
        key.jwk.kid,
        "--audience",
        "reports-api",
        ...extra,
      ]);
      const sent = h.requests.at(-1)!;
      expect(sent.headers.get("authorization")).toBeNull();
      const form = new URLSearchParams(await sent.text());
      expect(form.get("client_id")).toBe("acme/keyed-job");
      expect(form.get("client_assertion_type")).toBe(
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      );
      const assertion = form.get("client_assertion")!;
      expect(decodeProtectedHeader(assertion)).toEqual({ alg, kid: key.jwk.kid, typ: "JWT" });
      const claims = decodeJwt(assertion);
      // The audience is the issuer from the server's metadata, not the profile's base URL.
      expect(claims).toMatchObject({ iss: "acme/keyed-job", sub: "acme/keyed-job", aud: TEST_ISSUER });
      expect(claims.exp! - claims.iat!).toBe(60);
      const { payload } = await jwtVerify(r.stdout.trim(), await jwks(), { audience: "reports-api" });
      expect(payload.client_id).toBe("acme/keyed-job");
    }
    // The metadata was read for the issuer; nothing went with the API key.
    expect(h.requests.slice(-2)[0]!.url).toBe("http://tikti.test/.well-known/oauth-authorization-server");
  });

  it("a key that does not fit --alg, an unsupported key or an unregistered kid fails", async () => {
    const c = await worker("misfit-job", [
      "--jwks",
      file("ec.jwks", JSON.stringify({ keys: [keys.ec.jwk] })),
    ]);
    const base = ["token", "client-credentials", "--oauth-client-id", c.oauthClientId, "--private-key"];
    const sent = h.requests.length;
    const wrongAlg = await h.run([...base, keys.ec.path, "--kid", "ec-1", "--alg", "RS256"]);
    expect(wrongAlg.code).toBe(1);
    expect(wrongAlg.stderr).toBe("error: --alg RS256 does not fit this key (use ES256)\n");
    const p384 = file(
      "p384.pem",
      generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({
        format: "pem",
        type: "pkcs8",
      }) as string,
    );
    const unsupported = await h.run([...base, p384, "--kid", "x"]);
    expect(unsupported.stderr).toBe(
      "error: --private-key: Tikti accepts RSA, RSA-PSS, EC P-256 and Ed25519 keys only\n",
    );
    const garbage = await h.run([...base, file("garbage.pem", "not a key"), "--kid", "x"]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/holds no readable unencrypted private key/);
    expect(h.requests.length).toBe(sent);
    // A key the client never registered: the server's invalid_client, exit 2.
    const unknown = await h.run([...base, keys.ed.path, "--kid", "ed-1"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error \(401\): .+ \[invalid_client\] \(request [0-9a-f-]{36}\)\n$/);
  });

  it("flag combinations are checked before anything is read or sent", async () => {
    const sent = h.requests.length;
    const cases: Array<[string[], string]> = [
      [["--oauth-client-id", "acme"], 'error: --oauth-client-id must be <tenantId>/<clientId>, got "acme"\n'],
      [["--oauth-client-id", "acme/x"], "error: give exactly one of --client-secret-file or --private-key\n"],
      [
        ["--oauth-client-id", "acme/x", "--client-secret-file", "f", "--private-key", "k", "--kid", "k"],
        "error: give exactly one of --client-secret-file or --private-key\n",
      ],
      [["--oauth-client-id", "acme/x", "--private-key", "k"], "error: --private-key needs --kid\n"],
      [
        ["--oauth-client-id", "acme/x", "--client-secret-file", "f", "--kid", "k"],
        "error: --kid goes with --private-key\n",
      ],
    ];
    for (const [flags, message] of cases) {
      const r = await h.run(["token", "client-credentials", ...flags]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: message });
    }
    const missing = await h.run([
      "token",
      "client-credentials",
      "--oauth-client-id",
      "acme/x",
      "--client-secret-file",
      join(h.dir, "absent.secret"),
      "--json",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.errorJson()).toMatchObject({ status: null, code: "LOCAL" });
    expect(missing.errorJson().error).toMatch(/cannot read .*absent\.secret: ENOENT/);
    expect(h.requests.length).toBe(sent);
  });

  it("RFC 6749 errors keep their code: invalid_client → exit 2, invalid_scope → exit 1", async () => {
    const c = await worker("erring-job");
    const wrong = file("wrong.secret", "A".repeat(43));
    const denied = await h.run([
      "token",
      "client-credentials",
      "--oauth-client-id",
      c.oauthClientId,
      "--client-secret-file",
      wrong,
    ]);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toMatch(/^error \(401\): client authentication failed \[invalid_client\] /);
    expect(denied.stderr).toMatch(REQUEST_ID);
    const scope = await h.run([
      "token",
      "client-credentials",
      "--oauth-client-id",
      c.oauthClientId,
      "--client-secret-file",
      c.secretFile,
      "--audience",
      "reports-api",
      "--scope",
      "admin:everything",
      "--json",
    ]);
    expect(scope.code).toBe(1);
    expect(scope.errorJson()).toMatchObject({
      status: 400,
      code: "invalid_scope",
      error: expect.any(String),
    });
    expect(scope.stdout).toBe("");
  });

  it("an RFC 6749 error text is escaped like every other output", async () => {
    const hostile = cliHarness(async () =>
      Response.json(
        { error: "invalid_client", error_description: "bad\u001b[2J\u009b31m client\u202e" },
        { status: 401 },
      ),
    );
    const hh = await hostile;
    try {
      await initProfile(hh);
      const r = await hh.run([
        "token",
        "client-credentials",
        "--oauth-client-id",
        "acme/x",
        "--client-secret-file",
        file("any.secret", "s"),
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error \(401\): bad\\x1b\[2J\\x9b31m client\\u\{202e\} \[invalid_client\] /);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting raw control characters is the point
      expect(r.stderr).not.toMatch(/[\u001b\u009b\u202e]/);
    } finally {
      await hh.close();
    }
  });
});

describe("client secret rotate, client update, client jwks set", () => {
  const cc = (oauthClientId: string, secretFile: string) =>
    h.run([
      "token",
      "client-credentials",
      "--oauth-client-id",
      oauthClientId,
      "--client-secret-file",
      secretFile,
      "--audience",
      "reports-api",
    ]);

  it("secret rotate prints the new secret once; the old one works for --previous-ttl", async () => {
    const c = await worker("rotating-job");
    const r = await ok(["client", "secret", "rotate", "--client-id", "rotating-job"]);
    expect(r.stdout).toMatch(/^oauthClientId\s+acme\/rotating-job\nsecret\s+[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).toBe(
      "warning: the new client secret is shown only now and cannot be shown again: store it safely\n",
    );
    expect(await h.requests.at(-1)!.json()).toEqual({});
    const second = file("rotating.secret.2", r.stdout.match(/^secret\s+(\S+)$/m)![1]!);
    // Default grace (24h): both work.
    expect((await cc(c.oauthClientId, c.secretFile)).code).toBe(0);
    expect((await cc(c.oauthClientId, second)).code).toBe(0);
    // Rotating with --previous-ttl 0: the replaced secret stops at once, the new one works.
    const again = await ok([
      "client",
      "secret",
      "rotate",
      "--client-id",
      "rotating-job",
      "--previous-ttl",
      "0",
      "--json",
    ]);
    expect(await h.requests.at(-1)!.json()).toEqual({ previousSecretTtlSeconds: 0 });
    const third = file("rotating.secret.3", again.json<{ secret: string }>().secret);
    expect(again.stderr).toBe("");
    expect((await cc(c.oauthClientId, second)).code).toBe(2);
    expect((await cc(c.oauthClientId, c.secretFile)).code).toBe(2);
    expect((await cc(c.oauthClientId, third)).code).toBe(0);
  });

  it("--previous-ttl takes 3600, 90s, 30m, 24h, 7d and nothing beyond 7d", async () => {
    await worker("ttl-job");
    for (const [flag, seconds] of [
      ["3600", 3600],
      ["90s", 90],
      ["30m", 1800],
      ["24h", 86_400],
      ["7d", 604_800],
    ] as const) {
      await ok(["client", "secret", "rotate", "--client-id", "ttl-job", "--previous-ttl", flag, "--json"]);
      expect(await h.requests.at(-1)!.json()).toEqual({ previousSecretTtlSeconds: seconds });
    }
    const sent = h.requests.length;
    const long = await h.run([
      "client",
      "secret",
      "rotate",
      "--client-id",
      "ttl-job",
      "--previous-ttl",
      "8d",
    ]);
    expect(long.stderr).toBe("error: --previous-ttl must be at most 7d (604800 seconds)\n");
    const bad = await h.run(["client", "secret", "rotate", "--client-id", "ttl-job", "--previous-ttl", "1w"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--previous-ttl must be a duration like/);
    expect(h.requests.length).toBe(sent);
    const absent = await h.run(["client", "secret", "rotate", "--client-id", "ghost"]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/^error \(404\): .+ \[CLIENT_NOT_FOUND\]/);
  });

  it("client update changes only the given settings; DISABLED makes the credential fail", async () => {
    const c = await worker("updated-job", [
      "--scopes",
      "reports:read",
      "--max-ttl",
      "600",
      "--event-types",
      "render_video",
    ]);
    const before = (await ok(["client", "get", "--client-id", "updated-job", "--json"])).json();
    const r = await ok(["client", "update", "--client-id", "updated-job", "--status", "DISABLED", "--json"]);
    expect(r.json()).toEqual({ ...before, status: "DISABLED" });
    expect(await h.requests.at(-1)!.json()).toEqual({
      type: "SERVICE",
      status: "DISABLED",
      allowedGrantTypes: ["client_credentials"],
      defaultScopes: ["reports:read"],
      roles: ["renderer", "reader"],
      allowedEventTypes: ["render_video"],
      maxTtlSeconds: 600,
    });
    const refused = await cc(c.oauthClientId, c.secretFile);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\[invalid_client\]/);

    const pretty = await ok([
      "client",
      "update",
      "--client-id",
      "updated-job",
      "--status",
      "active",
      "--roles",
      "reader",
      "--scopes",
      "",
      "--unset",
      "max-ttl,event-types",
    ]);
    expect(pretty.stdout).toMatch(/^status\s+ACTIVE$/m);
    expect(pretty.stdout).toMatch(/^roles\s+reader$/m);
    expect(pretty.stdout).toMatch(/^defaultScopes\s+-$/m);
    expect(pretty.stdout).not.toMatch(/maxTtlSeconds|allowedEventTypes/);
    expect((await cc(c.oauthClientId, c.secretFile)).code).toBe(0);

    const sent = h.requests.length;
    const contradiction = await h.run([
      "client",
      "update",
      "--client-id",
      "updated-job",
      "--max-ttl",
      "60",
      "--unset",
      "max-ttl",
    ]);
    expect(contradiction.stderr).toBe("error: --max-ttl and --unset max-ttl contradict each other\n");
    const unknown = await h.run(["client", "update", "--client-id", "updated-job", "--unset", "scopes"]);
    expect(unknown.stderr).toBe('error: --unset takes event-types, max-ttl; got "scopes"\n');
    expect(h.requests.length).toBe(sent);
    const badStatus = await h.run(["client", "update", "--client-id", "updated-job", "--status", "PAUSED"]);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toMatch(/^error \(400\): .+ \[INVALID_ARGUMENT\]/);
    const missing = await h.run(["client", "update", "--client-id", "ghost", "--status", "ACTIVE"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[CLIENT_NOT_FOUND\]/);
  });

  it("client jwks set replaces the key set; the new key signs, the replaced one no longer does", async () => {
    const c = await worker("rekeyed-job", [
      "--jwks",
      file("ec-only.jwks", JSON.stringify({ keys: [keys.ec.jwk] })),
    ]);
    const signWith = (key: { path: string; jwk: { kid: string } }) =>
      h.run([
        "token",
        "client-credentials",
        "--oauth-client-id",
        c.oauthClientId,
        "--private-key",
        key.path,
        "--kid",
        key.jwk.kid,
        "--audience",
        "reports-api",
      ]);
    expect((await signWith(keys.ec)).code).toBe(0);
    expect((await signWith(keys.ed)).code).toBe(2);
    const r = await ok([
      "client",
      "jwks",
      "set",
      "--client-id",
      "rekeyed-job",
      "--file",
      file("ed-only.jwks", JSON.stringify({ keys: [keys.ed.jwk] })),
    ]);
    expect(r.stdout).toMatch(/^jwks\s+ed-1 Ed25519$/m);
    expect(h.requests.at(-1)!.method).toBe("PUT");
    expect(await h.requests.at(-1)!.json()).toEqual({ keys: [keys.ed.jwk] });
    expect((await signWith(keys.ed)).code).toBe(0);
    expect((await signWith(keys.ec)).code).toBe(2);

    const sent = h.requests.length;
    const leaky = await h.run([
      "client",
      "jwks",
      "set",
      "--client-id",
      "rekeyed-job",
      "--file",
      keys.ed.path, // the private JWK itself
    ]);
    expect(leaky.code).toBe(1);
    expect(leaky.stderr).toMatch(/must hold a JWK set/);
    const privateSet = await h.run([
      "client",
      "jwks",
      "set",
      "--client-id",
      "rekeyed-job",
      "--file",
      file("private-set.jwks", `{"keys": [${readFileSync(keys.ed.path, "utf8")}]}`),
    ]);
    expect(privateSet.stderr).toMatch(/key 0 of .* holds private key material/);
    expect(h.requests.length).toBe(sent);
  });
});

describe("token introspect", () => {
  /** The resource server's own credential: a rotated secret of reports-api (created without one kept). */
  async function reportsApi() {
    const r = await ok([
      "client",
      "secret",
      "rotate",
      "--client-id",
      "reports-api",
      "--previous-ttl",
      "0",
      "--json",
    ]);
    return file("reports-api.secret", r.json<{ secret: string }>().secret);
  }

  it("prints the RFC 7662 answer for a token addressed to the caller; no API key is sent", async () => {
    const c = await worker("introspected-job");
    const token = (
      await ok([
        "token",
        "client-credentials",
        "--oauth-client-id",
        c.oauthClientId,
        "--client-secret-file",
        c.secretFile,
        "--audience",
        "reports-api",
      ])
    ).stdout.trim();
    const secretFile = await reportsApi();
    const base = [
      "token",
      "introspect",
      "--oauth-client-id",
      "acme/reports-api",
      "--client-secret-file",
      secretFile,
    ];
    const json = await ok([...base, "--token", token, "--json"]);
    const claims = decodeJwt(token);
    expect(json.json()).toMatchObject({
      active: true,
      sub: "acme/introspected-job",
      client_id: "acme/introspected-job",
      aud: "reports-api",
      tid: TENANT,
      scope: "reports:read",
      exp: claims.exp,
      jti: claims.jti,
      token_type: "Bearer",
    });
    const sent = h.requests.at(-1)!;
    expect(new URL(sent.url).pathname).toBe("/oauth/introspect");
    expect(sent.headers.get("x-api-key")).toBeNull();
    expect(Object.fromEntries(new URLSearchParams(await sent.text()))).toEqual({
      token,
      token_type_hint: "access_token",
    });
    const pretty = await ok([...base, "--token", token]);
    expect(pretty.stdout).toMatch(/^active\s+true$/m);
    expect(pretty.stdout).toMatch(/^client_id\s+acme\/introspected-job$/m);

    // The issuing client may introspect its own token too, here with private_key_jwt.
    const keyed = await worker("introspecting-keyed", [
      "--jwks",
      file("ec2.jwks", JSON.stringify({ keys: [keys.ec.jwk] })),
    ]);
    const own = (
      await ok([
        "token",
        "client-credentials",
        "--oauth-client-id",
        keyed.oauthClientId,
        "--client-secret-file",
        keyed.secretFile,
        "--audience",
        "reports-api",
      ])
    ).stdout.trim();
    const byKey = await ok([
      "token",
      "introspect",
      "--oauth-client-id",
      keyed.oauthClientId,
      "--private-key",
      keys.ec.path,
      "--kid",
      "ec-1",
      "--token",
      own,
      "--json",
    ]);
    expect(byKey.json()).toMatchObject({ active: true, client_id: "acme/introspecting-keyed" });
  });

  it("an inactive token is a successful answer: active false, exit 0; a bad credential is exit 2", async () => {
    const secretFile = await reportsApi();
    const base = [
      "token",
      "introspect",
      "--oauth-client-id",
      "acme/reports-api",
      "--client-secret-file",
      secretFile,
    ];
    const garbage = await ok([...base, "--token", "not-a-token"]);
    expect(garbage.stdout).toBe("active  false\n");
    const json = await ok([...base, "--token", "not-a-token", "--json"]);
    expect(json.json()).toEqual({ active: false });
    const wrong = await h.run([
      "token",
      "introspect",
      "--oauth-client-id",
      "acme/reports-api",
      "--client-secret-file",
      file("wrong-rs.secret", "B".repeat(43)),
      "--token",
      "not-a-token",
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^error \(401\): client authentication failed \[invalid_client\] /);
    const missing = await h.run([...base]);
    expect(missing.code).toBe(1);
  });
});
