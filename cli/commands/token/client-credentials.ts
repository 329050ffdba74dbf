import { command, list } from "../../command.ts";
import { result, text } from "../../output.ts";
import {
  checkClientAuthFlags,
  clientAuthArgs,
  clientCredentials,
  parseOAuthClientId,
} from "./client-auth.ts";
import { WORKER_AUDIENCE } from "./exchange.ts";

/** RFC 6749 §5.1 as `/oauth/token` answers it (docs/spec/oauth.md §4.3). */
interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/**
 * docs/spec/oauth.md §10: a client obtains a token for itself (`client_credentials`). `pretty` prints the
 * access token alone, so `TOKEN=$(tikti-cli token client-credentials ...)` works in a script;
 * `json` prints the server's answer unchanged. The token is also stored like `token exchange` does.
 */
export default command({
  description: "Obtain an access token with the client's own credential (client_credentials grant)",
  args: {
    ...clientAuthArgs,
    audience: {
      type: "string",
      alias: ["aud"],
      valueHint: "client-id",
      description: "client id of the audience in the client's tenant (default: the client itself)",
    },
    scope: {
      type: "string",
      alias: ["scopes"],
      valueHint: "a,b",
      description: "scopes (comma- or space-separated; default: the audience's default scopes)",
    },
    "event-types": {
      type: "string",
      valueHint: "a,b",
      description: "event types (required for codeq-worker)",
    },
  },
  async run(args, ctx) {
    checkClientAuthFlags(args);
    const { clientId } = parseOAuthClientId(args["oauth-client-id"]);
    const scope = list(args.scope);
    const eventTypes = list(args["event-types"]);
    const http = await ctx.http();
    const credentials = await clientCredentials(http, args);
    const body = await http.send<TokenResponse>({
      method: "POST",
      path: "/oauth/token",
      auth: "public",
      headers: credentials.headers,
      form: {
        grant_type: "client_credentials",
        audience: args.audience,
        scope: scope?.join(" "),
        event_types: eventTypes?.join(" "),
        ...credentials.form,
      },
    });
    const audience = args.audience ?? clientId;
    const storedAs = audience === WORKER_AUDIENCE ? "workerToken" : "accessToken";
    await ctx.updateProfile((p) => {
      p[storedAs] = body.access_token;
    });
    return result(body, text(body.access_token));
  },
});
