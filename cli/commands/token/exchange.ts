import { command, integer, list, tenantArg } from "../../command.ts";
import { result } from "../../output.ts";

interface ExchangeResponse {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
}

/** The audience whose tokens are kept apart as `workerToken` (docs/spec/cli.md §2, §5.2). */
export const WORKER_AUDIENCE = "codeq-worker";

export default command({
  description: "Trade the stored idToken for an access token (stored as accessToken or workerToken)",
  args: {
    audience: {
      type: "string",
      alias: ["aud"],
      required: true,
      valueHint: "client-id",
      description: "client id of the audience",
    },
    scopes: {
      type: "string",
      alias: ["scope"],
      valueHint: "a,b",
      description: "scopes (comma- or space-separated)",
    },
    "event-types": {
      type: "string",
      valueHint: "a,b",
      description: "event types (required for codeq-worker)",
    },
    ttl: { type: "string", valueHint: "seconds", description: "requested lifetime in seconds" },
    subject: {
      type: "string",
      alias: ["sub"],
      valueHint: "user-id",
      description: "subject override (needs tikti:tokens:delegate)",
    },
    ...tenantArg,
  },
  async run(args, ctx) {
    const idToken = await ctx.storedToken("idToken");
    const tenantId = await ctx.tenant(args.tenant);
    const ttlSeconds = integer(args.ttl, "--ttl");
    const http = await ctx.http();
    const r = await http.send<ExchangeResponse>({
      method: "POST",
      path: "/accounts/token/exchange",
      auth: "key",
      body: {
        idToken,
        audience: args.audience,
        tenantId,
        scopes: list(args.scopes),
        eventTypes: list(args["event-types"]),
        ttlSeconds,
        subject: args.subject,
      },
    });
    const storedAs = args.audience === WORKER_AUDIENCE ? "workerToken" : "accessToken";
    await ctx.updateProfile((p) => {
      p[storedAs] = r.accessToken;
    });
    return result({ audience: args.audience, tenantId, expiresIn: r.expiresIn, storedAs });
  },
});
