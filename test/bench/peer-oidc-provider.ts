/**
 * The peer of the benchmark (issue 14): oidc-provider, the certified Node OAuth 2.0 / OpenID server,
 * set up as small as it goes for the same job as Tikti's `/oauth/token` client_credentials point —
 * one confidential client (`client_secret_post`), the client credentials grant, RS256 JWT access
 * tokens for one resource indicator (RFC 8707). Started by test/bench/run.ts on Node, pinned like
 * the server under test; prints `ready` when it listens.
 *
 *   node test/bench/peer-oidc-provider.ts --port N --client-id ID --client-secret S --resource URN
 *
 * Why these settings: JWT access tokens (not opaque ones) so that both servers do the same essential
 * work per request — authenticate the client, sign one RS256 JWT; no access log (oidc-provider has
 * none by default, Tikti writes one line per request: a cost Tikti carries and the peer does not).
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import Provider from "oidc-provider";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      "client-id": { type: "string" },
      "client-secret": { type: "string" },
      resource: { type: "string" },
    },
  });
  const port = Number(values.port);
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = values["client-id"] ?? "";
  const clientSecret = values["client-secret"] ?? "";
  const resource = values.resource ?? "";
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: "peer-1", use: "sig", alg: "RS256" };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    jwks: { keys: [jwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: "read",
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
  });
  const server = createServer(provider.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  console.log("ready");
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
