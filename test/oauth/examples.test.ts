// docs/integration.md cannot rot: every example under examples/ runs, as a user would run it, against
// a real Tikti server (child process) seeded through its admin API — the TypeScript ones with
// openid-client + jose on Node, the Python ones with Debian's python3-authlib and python3-jwt under
// /usr/bin/python3. Tokens the examples obtain are verified here with jose through the JWKS, and
// the resource-server examples are shown the cases the guide warns about: a token for another
// audience, a legacy-exchange token (typ JWT), and a revoked token that offline verification still
// accepts until exp while introspection reports it inactive.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, exportPKCS8 } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { repoRoot } from "../support/tikti-process.ts";
import { type OAuthWorld, startOAuthWorld, TENANT, verifyAccessToken } from "./e2e/world.ts";

const TS = join(repoRoot, "examples/typescript");
const PY = join(repoRoot, "examples/python");

let world: OAuthWorld;
const files: Record<string, string> = {};
let docsApi: { id: string; secret: string };

/** What the examples print (each a subset). */
interface ExampleOutput {
  access_token: string;
  issued_token_type?: string;
  expires_in?: number;
  scope?: string;
  offline: { valid: boolean; claims?: Record<string, unknown>; error?: string };
  introspection?: Record<string, unknown>;
}

/** Runs one example like its header says: environment in, one JSON document out. */
function run(kind: "ts" | "py", script: string, vars: Record<string, string>): Promise<ExampleOutput> {
  const [cmd, args, cwd] =
    kind === "ts"
      ? [runtimeBinary("node") as string, [join(TS, script)], TS]
      : ["/usr/bin/python3", [join(PY, script)], PY];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      // No __pycache__ next to the examples: a test leaves the checkout as it found it.
      env: {
        PATH: process.env.PATH ?? "",
        HOME: world.server.dir,
        PYTHONDONTWRITEBYTECODE: "1",
        TIKTI_ISSUER: world.issuer,
        ...vars,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${script} exited ${code}:\n${stderr}`));
      else {
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`${script} printed no JSON:\n${stdout}\n${stderr}`));
        }
      }
    });
  });
}

function secretFile(name: string, secret: string): string {
  const path = join(world.server.dir, `${name}.secret`);
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return path;
}

beforeAll(async () => {
  world = await startOAuthWorld("node");
  files.worker = secretFile("worker", world.worker.secret);
  files.backend = secretFile("backend", world.backend.secret);
  files.jwtWorkerKey = join(world.server.dir, "jwt-worker.pem");
  writeFileSync(files.jwtWorkerKey, await exportPKCS8(world.jwtWorker.privateKey), { mode: 0o600 });
  // The resource server's own credential, for introspection (its secret from create was not kept).
  const rotated = await world.admin(`/tenants/${TENANT}/clients/docs-api/secret`, {
    previousSecretTtlSeconds: 0,
  });
  docsApi = { id: rotated.oauthClientId as string, secret: rotated.secret as string };
  files.docsApi = secretFile("docs-api", docsApi.secret);
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

const basicAuth = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/** A worker token for the resource-server cases, straight from /oauth/token (worker.ts is tested above). */
async function workerToken(): Promise<string> {
  const res = await fetch(`${world.issuer}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: basicAuth(world.worker.id, world.worker.secret),
    },
    body: new URLSearchParams({ grant_type: "client_credentials", audience: "docs-api", scope: "docs:read" }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const workerEnv = () => ({
  OAUTH_CLIENT_ID: world.worker.id,
  OAUTH_CLIENT_SECRET_FILE: files.worker!,
  AUDIENCE: "docs-api",
  SCOPE: "docs:read",
});

describe("shape 1: a worker with client credentials", () => {
  it("worker.ts (openid-client) with client_secret_basic", async () => {
    const out = await run("ts", "worker.ts", workerEnv());
    expect(out).toEqual({ access_token: expect.any(String), expires_in: 3600 });
    const claims = await verifyAccessToken(world, out.access_token, "docs-api", world.worker.id);
    expect(claims).toMatchObject({ sub: world.worker.id, scope: "docs:read" });
  });

  it("worker.ts (openid-client) with private_key_jwt", async () => {
    const out = await run("ts", "worker.ts", {
      OAUTH_CLIENT_ID: world.jwtWorker.id,
      OAUTH_PRIVATE_KEY_FILE: files.jwtWorkerKey!,
      OAUTH_KEY_ID: world.jwtWorker.kid,
      OAUTH_KEY_ALG: "ES256",
      AUDIENCE: "docs-api",
    });
    const claims = await verifyAccessToken(world, out.access_token, "docs-api", world.jwtWorker.id);
    // No scope asked: the audience's default scopes within the client's roles.
    expect(claims.scope).toBe("docs:read docs:list");
  });

  it.each(["client_secret_basic", "client_secret_post"])("worker.py (authlib) with %s", async (method) => {
    const out = await run("py", "worker.py", { ...workerEnv(), OAUTH_AUTH_METHOD: method });
    const claims = await verifyAccessToken(world, out.access_token, "docs-api", world.worker.id);
    expect(claims.scope).toBe("docs:read");
  });

  it("a wrong secret fails the example (RFC 6749 invalid_client), no token printed", async () => {
    const wrong = secretFile("wrong", "A".repeat(43));
    await expect(run("ts", "worker.ts", { ...workerEnv(), OAUTH_CLIENT_SECRET_FILE: wrong })).rejects.toThrow(
      /exited 1:\nerror: invalid_client: client authentication failed\n$/,
    );
    await expect(run("py", "worker.py", { ...workerEnv(), OAUTH_CLIENT_SECRET_FILE: wrong })).rejects.toThrow(
      /exited 1:\nerror: invalid_client: client authentication failed\n$/,
    );
  });
});

describe("shape 2: a backend exchanging a user's token (RFC 8693)", () => {
  it.each([
    ["ts", "backend-exchange.ts"],
    ["py", "backend_exchange.py"],
  ] as const)("%s: %s", async (kind, script) => {
    const out = await run(kind, script, {
      OAUTH_CLIENT_ID: world.backend.id,
      OAUTH_CLIENT_SECRET_FILE: files.backend!,
      SUBJECT_TOKEN: await world.idToken(),
      AUDIENCE: "docs-api",
      SCOPE: "docs:read",
    });
    expect(out.issued_token_type).toBe("urn:ietf:params:oauth:token-type:access_token");
    const claims = await verifyAccessToken(world, out.access_token, "docs-api", world.backend.id);
    // The subject is the user, not the backend.
    expect(claims).toMatchObject({ sub: world.user.localId, email: world.user.email, scope: "docs:read" });
  });
});

describe("shape 3: a resource server, offline and by introspection", () => {
  const rsEnv = (token: string, audience = "docs-api") => ({
    TOKEN: token,
    AUDIENCE: audience,
    TENANT,
    OAUTH_CLIENT_ID: docsApi.id,
    OAUTH_CLIENT_SECRET_FILE: files.docsApi!,
  });
  const examples = [
    ["ts", "resource-server.ts"],
    ["py", "resource_server.py"],
  ] as const;

  it.each(examples)("%s: %s accepts a valid token both ways", async (kind, script) => {
    const token = await workerToken();
    const out = await run(kind, script, rsEnv(token));
    expect(out.offline).toEqual({ valid: true, claims: decodeJwt(token) });
    expect(out.introspection).toMatchObject({
      active: true,
      sub: world.worker.id,
      client_id: world.worker.id,
      aud: "docs-api",
      tid: TENANT,
      scope: "docs:read",
    });
  });

  it.each(examples)(
    "%s: %s refuses another audience and a legacy (typ JWT) token offline",
    async (kind, script) => {
      const token = await workerToken();
      const other = await run(kind, script, { ...rsEnv(token, "billing-api"), OAUTH_CLIENT_ID: "" });
      expect(other).toEqual({ offline: { valid: false, error: expect.any(String) } });
      const legacy = await fetch(`${world.issuer}/accounts/token/exchange`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": world.server.apiKey },
        body: JSON.stringify({ idToken: await world.idToken(), audience: "docs-api", tenantId: TENANT }),
      });
      const legacyToken = ((await legacy.json()) as { accessToken: string }).accessToken;
      const out = await run(kind, script, { ...rsEnv(legacyToken), OAUTH_CLIENT_ID: "" });
      expect(out.offline.valid).toBe(false);
    },
  );

  it.each(examples)(
    "%s: %s — after /oauth/revoke introspection says inactive while offline verification still accepts",
    async (kind, script) => {
      const token = await workerToken();
      // The worker revokes its own token (RFC 7009).
      const revoked = await fetch(`${world.issuer}/oauth/revoke`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: basicAuth(world.worker.id, world.worker.secret),
        },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(revoked.status).toBe(200);
      const out = await run(kind, script, rsEnv(token));
      // The caveat of docs/integration.md, demonstrated: offline sees nothing until exp.
      expect(out.offline.valid).toBe(true);
      expect(out.introspection).toEqual({ active: false });
    },
  );
});
