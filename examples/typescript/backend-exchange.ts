/**
 * Shape 2 — a backend exchanging a user's token (RFC 8693): the user signed in to Tikti and sent
 * their idToken to this backend; the backend trades it for an access token to call the next
 * service (AUDIENCE) on the user's behalf. The new token's subject is the user, its scopes are
 * capped by the user's permissions in the backend's tenant, and `client_id` names the backend.
 *
 *   TIKTI_ISSUER=https://id.example.com OAUTH_CLIENT_ID=acme/web-backend \
 *   OAUTH_CLIENT_SECRET_FILE=/run/secrets/web-backend SUBJECT_TOKEN=<the user's idToken> \
 *   AUDIENCE=reports-api SCOPE=reports:read node examples/typescript/backend-exchange.ts
 *
 * SUBJECT_TOKEN_TYPE=access_token trades an access token addressed to this backend instead (it can
 * only narrow the scopes). Prints the token response as JSON.
 */
import * as oidc from "openid-client";
import { discover, env, main, secretFile } from "./shared.ts";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

await main(async () => {
  const config = await discover(oidc.ClientSecretBasic(secretFile("OAUTH_CLIENT_SECRET")));
  const subjectType = process.env.SUBJECT_TOKEN_TYPE === "access_token" ? "access_token" : "id_token";
  const tokens = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: env("SUBJECT_TOKEN"),
    subject_token_type: `urn:ietf:params:oauth:token-type:${subjectType}`,
    audience: env("AUDIENCE"),
    ...(process.env.SCOPE ? { scope: process.env.SCOPE } : {}),
  });
  return {
    access_token: tokens.access_token,
    issued_token_type: tokens.issued_token_type,
    expires_in: tokens.expires_in,
    ...(tokens.scope !== undefined ? { scope: tokens.scope } : {}),
  };
});
