import { command } from "../../command.ts";
import { result } from "../../output.ts";
import { checkClientAuthFlags, clientAuthArgs, clientCredentials } from "./client-auth.ts";

/**
 * docs/spec/oauth.md §5, §10: asks `/oauth/introspect` (RFC 7662) as the given client and prints the answer
 * unchanged. An inactive token is a successful answer (`active false`, exit 0), as on the wire.
 */
export default command({
  description: "Ask the server whether a token is active, as an OAuth client (RFC 7662)",
  args: {
    ...clientAuthArgs,
    token: { type: "string", required: true, valueHint: "jwt", description: "the access token" },
  },
  async run(args, ctx) {
    checkClientAuthFlags(args);
    const http = await ctx.http();
    const credentials = await clientCredentials(http, args);
    const body = await http.send<Record<string, unknown>>({
      method: "POST",
      path: "/oauth/introspect",
      auth: "public",
      headers: credentials.headers,
      form: { token: args.token, token_type_hint: "access_token", ...credentials.form },
    });
    return result(body);
  },
});
