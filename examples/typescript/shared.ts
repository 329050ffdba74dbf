/**
 * Configuration shared by the TypeScript examples: everything comes from the environment, secrets
 * from files (a mounted Kubernetes secret, a file only the service user can read), never from argv.
 */
import { readFileSync } from "node:fs";
import * as oidc from "openid-client";

export function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`set ${name}`);
  return value;
}

/** A secret from the file named by `<name>_FILE`, without its trailing newline. */
export function secretFile(name: string): string {
  return readFileSync(env(`${name}_FILE`), "utf8").replace(/\r?\n$/, "");
}

/**
 * The client's view of Tikti, from its RFC 8414 metadata (`/.well-known/oauth-authorization-server`):
 * the token and introspection endpoints are read from there, not hard-coded.
 */
export function discover(clientAuth: oidc.ClientAuth): Promise<oidc.Configuration> {
  const issuer = new URL(env("TIKTI_ISSUER"));
  return oidc.discovery(issuer, env("OAUTH_CLIENT_ID"), undefined, clientAuth, {
    algorithm: "oauth2",
    // Plain http only for a server on this machine (development); production issuers are https.
    ...(issuer.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(issuer.hostname)
      ? { execute: [oidc.allowInsecureRequests] }
      : {}),
  });
}

/**
 * Runs an example's main and turns a failure into one line on stderr and exit 1: the RFC 6749 error
 * code when the server sent one (`invalid_client`, `invalid_scope`, ...), never a stack of library
 * internals, and never the request (it holds credentials).
 */
export async function main(body: () => Promise<unknown>): Promise<void> {
  try {
    console.log(JSON.stringify(await body()));
  } catch (e) {
    console.error(`error: ${await describe(e)}`);
    process.exitCode = 1;
  }
}

async function describe(e: unknown): Promise<string> {
  if (e instanceof oidc.ResponseBodyError) return `${e.error}: ${e.error_description ?? ""}`;
  // A 401 with `WWW-Authenticate: Basic` (failed client_secret_basic) arrives as a challenge
  // error; the RFC 6749 body is still in the response.
  if (e instanceof oidc.WWWAuthenticateChallengeError) {
    const body = (await e.response.json().catch(() => ({}))) as {
      error?: string;
      error_description?: string;
    };
    return `${body.error ?? `HTTP ${e.response.status}`}: ${body.error_description ?? ""}`;
  }
  return e instanceof Error ? e.message : String(e);
}
