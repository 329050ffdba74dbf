import { command, mirror, tenantArg, userArgs, userRef } from "../../command.ts";
import { seg } from "../../http.ts";

export default command({
  description: "Remove a user from a tenant (the user record is kept)",
  args: {
    ...tenantArg,
    ...userArgs,
  },
  run: async (args, ctx) =>
    mirror(ctx, {
      method: "POST",
      path: `/tenants/${seg(await ctx.tenant(args.tenant))}/users/remove`,
      auth: "admin",
      body: userRef(args),
    }),
});
