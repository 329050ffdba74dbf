import { command } from "../../command.ts";
import { result } from "../../output.ts";

export default command({
  description: "Verify an access token on the server and print its claims",
  args: {
    token: {
      type: "string",
      valueHint: "jwt",
      description: "the access token (default: the stored access token)",
    },
    audience: {
      type: "string",
      alias: ["aud"],
      required: true,
      valueHint: "client-id",
      description: "expected audience",
    },
  },
  async run(args, ctx) {
    const token = args.token ?? (await ctx.storedToken("accessToken"));
    const http = await ctx.http();
    const claims = await http.send({
      method: "POST",
      path: "/accounts/validate",
      auth: "admin",
      body: { token, audience: args.audience },
    });
    return result(claims);
  },
});
