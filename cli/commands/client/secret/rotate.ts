import { command, tenantArg } from "../../../command.ts";
import { usage } from "../../../errors.ts";
import { seg } from "../../../http.ts";
import { result } from "../../../output.ts";
import { duration } from "../shared.ts";

/** docs/spec/oauth.md §2: seven days at most, as the server enforces; checked here so a typo costs no rotation. */
const PREVIOUS_TTL_MAX_SECONDS = 604_800;

export default command({
  description: "Issue a new client secret (printed once); the old one keeps working for --previous-ttl",
  args: {
    ...tenantArg,
    "client-id": { type: "string", required: true, valueHint: "id", description: "client id" },
    "previous-ttl": {
      type: "string",
      valueHint: "duration",
      description:
        "how long the old secret keeps working: 3600, 90s, 30m, 24h, 7d; 0 = not at all (default 24h)",
    },
  },
  async run(args, ctx) {
    const tenantId = await ctx.tenant(args.tenant);
    const previousSecretTtlSeconds = duration(args["previous-ttl"], "--previous-ttl");
    if (previousSecretTtlSeconds !== undefined && previousSecretTtlSeconds > PREVIOUS_TTL_MAX_SECONDS) {
      throw usage(`--previous-ttl must be at most 7d (${PREVIOUS_TTL_MAX_SECONDS} seconds)`);
    }
    const http = await ctx.http();
    const body = await http.send<Record<string, unknown>>({
      method: "POST",
      path: `/tenants/${seg(tenantId)}/clients/${seg(args["client-id"])}/secret`,
      auth: "admin",
      body: previousSecretTtlSeconds === undefined ? {} : { previousSecretTtlSeconds },
    });
    // As at `client create`: the one time this secret can be seen (docs/spec/cli.md §3).
    if (ctx.globals.output === "pretty") {
      ctx.warn("the new client secret is shown only now and cannot be shown again: store it safely");
    }
    return result(body);
  },
});
