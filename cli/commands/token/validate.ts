import { command, mirror } from "../../command.ts";

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
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: "/accounts/validate",
      auth: "admin",
      body: { token: args.token ?? (await ctx.storedToken("accessToken")), audience: args.audience },
    }),
});
