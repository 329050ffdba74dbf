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
    tenant: {
      type: "string",
      alias: ["tid"],
      valueHint: "id",
      description: "require the token's tid to be this tenant (else reason tenant); no profile default",
    },
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: "/accounts/validate",
      auth: "admin",
      body: {
        token: args.token ?? (await ctx.storedToken("accessToken")),
        audience: args.audience,
        // Only when asked: binding to the profile's tenant by default would change the answer
        // of existing scripts.
        ...(args.tenant !== undefined ? { tenantId: args.tenant } : {}),
      },
    }),
});
