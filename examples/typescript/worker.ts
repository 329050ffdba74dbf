/**
 * Shape 1 — a worker with client credentials (RFC 6749 §4.4): a job or agent that acts for itself.
 * It authenticates with its own credential (client secret, or private_key_jwt when
 * OAUTH_PRIVATE_KEY_FILE is set) and gets an access token for AUDIENCE, limited to the permissions
 * of the roles the client was given (`client create --roles`).
 *
 *   TIKTI_ISSUER=https://id.example.com OAUTH_CLIENT_ID=acme/report-job \
 *   OAUTH_CLIENT_SECRET_FILE=/run/secrets/report-job AUDIENCE=reports-api SCOPE=reports:read \
 *   node examples/typescript/worker.ts
 *
 * Prints the token response as JSON. A real worker keeps the token until shortly before
 * `expires_in` runs out and then asks again; there is no refresh token for client credentials.
 */
import { readFileSync } from "node:fs";
import { importPKCS8 } from "jose";
import * as oidc from "openid-client";
import { discover, env, main, secretFile } from "./shared.ts";

async function clientAuth(): Promise<oidc.ClientAuth> {
  const keyFile = process.env.OAUTH_PRIVATE_KEY_FILE;
  if (keyFile === undefined) return oidc.ClientSecretBasic(secretFile("OAUTH_CLIENT_SECRET"));
  // private_key_jwt (RFC 7523): the key never leaves this process; Tikti holds the public half
  // (`client jwks set`). openid-client signs a fresh single-use assertion for every request.
  const alg = process.env.OAUTH_KEY_ALG ?? "ES256";
  const key = await importPKCS8(readFileSync(keyFile, "utf8"), alg);
  const kid = env("OAUTH_KEY_ID");
  return oidc.PrivateKeyJwt(key, {
    [oidc.modifyAssertion]: (header) => {
      header.kid = kid;
    },
  });
}

await main(async () => {
  const config = await discover(await clientAuth());
  const tokens = await oidc.clientCredentialsGrant(config, {
    audience: env("AUDIENCE"),
    ...(process.env.SCOPE ? { scope: process.env.SCOPE } : {}),
  });
  return {
    access_token: tokens.access_token,
    expires_in: tokens.expires_in,
    ...(tokens.scope !== undefined ? { scope: tokens.scope } : {}),
  };
});
